//! The models on disk: find them, prove they are intact, and prove the engines can load them.
//!
//! A model folder holds `labeltext.traineddata` ([`LANGUAGE`], Tesseract's model), the learned
//! recogniser ([`RECOGNISER`]), the learned text detector ([`DETECTOR`]) and ONNX Runtime's shared
//! library ([`ONNXRUNTIME`]); the last three are taken out of pinned PyPI packages by `scripts/setup.sh`. Their SHA-256 digests are pinned
//! in `models/SHA256SUMS`, compiled into the binary: a recogniser or library whose digest differs
//! is refused whatever folder it is in. For the Tesseract model, start-up runs three checks,
//! cheapest first, and refuses to start with a message naming the file if any fails:
//! 1. the file exists and its *traineddata* container is well formed: an entry count (Tesseract 4
//!    and 5 use 24), a table of 64-bit offsets that increase and stay inside the file, and an LSTM
//!    network entry (index 17), since labelcheck runs the LSTM engine only;
//! 2. when `SHA256SUMS` lists the file, its digest matches (this catches a flipped byte that the
//!    container check cannot see);
//! 3. Tesseract itself initialises with it.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Language (file stem) of the model labelcheck uses: its own label-text model, trained by
/// `training/train.sh` (see `models/README.md`).
pub const LANGUAGE: &str = "labeltext";
/// The learned recogniser's file: PP-OCRv6's small recogniser from the `rapidocr` 3.10.0 wheel
/// (chosen over PP-OCRv4's by measurement), fine-tuned on label lines by
/// `training/finetune_rec.sh` (see `models/README.md`).
pub const RECOGNISER: &str = "labelrec.onnx";
/// The learned text detector's file: PP-OCRv4's mobile DB detector from the
/// `rapidocr-onnxruntime` 1.4.4 wheel (see `models/README.md`).
pub const DETECTOR: &str = "ch_PP-OCRv4_det_infer.onnx";
/// ONNX Runtime's shared library, from the `onnxruntime` 1.31.1 wheel.
pub const ONNXRUNTIME: &str = "libonnxruntime.so.1.31.1";
/// The pinned digests of the files above (and of the bundled Tesseract model).
const PINNED: &str = include_str!("../../models/SHA256SUMS");
/// Index of the LSTM network in the traineddata offset table (`TESSDATA_LSTM`).
const LSTM_ENTRY: usize = 17;
/// Index of the version string (`TESSDATA_VERSION`).
const VERSION_ENTRY: usize = 23;
/// Largest entry count accepted; Tesseract 5 writes 24.
const MAX_ENTRIES: usize = 64;

/// A validated model folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Folder passed to Tesseract as its data path.
    pub dir: PathBuf,
    /// Full path of the model file.
    pub file: PathBuf,
    /// SHA-256 of the model file, lower-case hex.
    pub sha256: String,
    /// The version string stored in the model, when it has one.
    pub version: Option<String>,
    /// Size of the model file in bytes.
    pub bytes: u64,
    /// The learned recogniser (ONNX graph), its digest checked.
    pub recogniser: PathBuf,
    /// SHA-256 of the recogniser, lower-case hex.
    pub recogniser_sha256: String,
    /// The learned text detector (ONNX graph), its digest checked.
    pub detector: PathBuf,
    /// ONNX Runtime's shared library, its digest checked.
    pub onnxruntime: PathBuf,
}

fn model_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Model {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Parses the traineddata container, returning the version string if present.
fn check_container(path: &Path, data: &[u8]) -> Result<Option<String>> {
    let corrupt = |why: String| model_error(path, format!("not a valid traineddata file: {why}"));
    let count_bytes: [u8; 4] = data
        .get(0..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| corrupt(format!("only {} bytes long", data.len())))?;
    let count = i32::from_le_bytes(count_bytes);
    let count = usize::try_from(count)
        .ok()
        .filter(|n| (1..=MAX_ENTRIES).contains(n))
        .ok_or_else(|| corrupt(format!("entry count {count} is out of range")))?;
    let header_len = 4 + 8 * count;
    let table = data
        .get(4..header_len)
        .ok_or_else(|| corrupt("offset table is cut short".into()))?;
    let offsets: Vec<i64> = table
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0xff; 8])))
        .collect();
    let len = data.len() as i64;
    let mut previous = header_len as i64 - 1;
    let mut present = Vec::new();
    for (index, &offset) in offsets.iter().enumerate() {
        if offset == -1 {
            continue;
        }
        if offset <= previous || offset >= len {
            return Err(corrupt(format!(
                "entry {index} starts at byte {offset}, outside {}..{len} (truncated?)",
                previous + 1
            )));
        }
        previous = offset;
        present.push(index);
    }
    if offsets.get(LSTM_ENTRY).is_none_or(|&o| o == -1) {
        return Err(corrupt(
            "it has no LSTM network (legacy-only models are not supported)".into(),
        ));
    }
    let version = offsets
        .get(VERSION_ENTRY)
        .filter(|&&o| o >= 0)
        .map(|&start| {
            let end = offsets[VERSION_ENTRY + 1..]
                .iter()
                .copied()
                .find(|&o| o >= 0)
                .unwrap_or(len);
            String::from_utf8_lossy(&data[start as usize..end as usize])
                .trim_end_matches('\0')
                .to_string()
        });
    Ok(version)
}

/// Looks up `file_name` in a `SHA256SUMS` file (the format `sha256sum` writes).
fn expected_digest(sums: &str, file_name: &str) -> Option<String> {
    sums.lines().find_map(|line| {
        let (digest, name) = line.split_once(char::is_whitespace)?;
        let name = name.trim_start().trim_start_matches('*');
        (name == file_name).then(|| digest.to_ascii_lowercase())
    })
}

/// Checks that `path` exists and that its SHA-256 is the one pinned for `name`; returns it.
/// Where to get the file is said in the error, since only `scripts/setup.sh` puts it there.
fn check_pinned(path: &Path, name: &str) -> Result<String> {
    let Some(expected) = expected_digest(PINNED, name) else {
        return Err(model_error(path, "no digest is pinned for it"));
    };
    let data = fs::read(path).map_err(|e| {
        model_error(
            path,
            format!("cannot read it: {e} (scripts/setup.sh fetches it from its pinned package)"),
        )
    })?;
    let sha256 = format!("{:x}", Sha256::digest(&data));
    if sha256 != expected {
        return Err(model_error(
            path,
            format!("its SHA-256 is {sha256}, but the pinned digest is {expected}"),
        ));
    }
    Ok(sha256)
}

impl Model {
    /// Validates the model in `dir` without starting Tesseract (checks 1 and 2 above).
    pub fn inspect(dir: &Path) -> Result<Model> {
        if !dir.is_dir() {
            return Err(model_error(
                dir,
                format!(
                    "folder not found (set --model-dir or LABELCHECK_MODEL_DIR to the folder \
                     holding {LANGUAGE}.traineddata)"
                ),
            ));
        }
        let file_name = format!("{LANGUAGE}.traineddata");
        let file = dir.join(&file_name);
        let data =
            fs::read(&file).map_err(|e| model_error(&file, format!("cannot read it: {e}")))?;
        let version = check_container(&file, &data)?;
        let sha256 = format!("{:x}", Sha256::digest(&data));
        let sums_path = dir.join("SHA256SUMS");
        let expected = fs::read_to_string(&sums_path)
            .ok()
            .and_then(|sums| expected_digest(&sums, &file_name));
        if let Some(expected) = expected.filter(|e| *e != sha256) {
            return Err(model_error(
                &file,
                format!(
                    "corrupt: its SHA-256 is {sha256}, but {} says {expected}",
                    sums_path.display()
                ),
            ));
        }
        let recogniser = dir.join(RECOGNISER);
        let recogniser_sha256 = check_pinned(&recogniser, RECOGNISER)?;
        let detector = dir.join(DETECTOR);
        check_pinned(&detector, DETECTOR)?;
        let onnxruntime = dir.join(ONNXRUNTIME);
        check_pinned(&onnxruntime, ONNXRUNTIME)?;
        Ok(Model {
            dir: dir.to_path_buf(),
            file,
            sha256,
            version,
            bytes: data.len() as u64,
            recogniser,
            recogniser_sha256,
            detector,
            onnxruntime,
        })
    }

    /// A learned reader with this folder's recogniser, ONNX Runtime loaded from its library first
    /// (once per process).
    pub fn learned_reader(&self) -> Result<super::LearnedReader> {
        super::learned::init_runtime(&self.onnxruntime)
            .map_err(|e| model_error(&self.onnxruntime, format!("cannot load it: {e}")))?;
        super::LearnedReader::new(&self.recogniser)
            .map_err(|e| model_error(&self.recogniser, format!("cannot load it: {e}")))
    }

    /// A learned text detector with this folder's graph and `threads` intra-op threads, ONNX
    /// Runtime loaded first (once per process).
    pub fn learned_detector(&self, threads: usize) -> Result<super::LearnedDetector> {
        super::learned::init_runtime(&self.onnxruntime)
            .map_err(|e| model_error(&self.onnxruntime, format!("cannot load it: {e}")))?;
        super::LearnedDetector::new(&self.detector, threads)
            .map_err(|e| model_error(&self.detector, format!("cannot load it: {e}")))
    }

    /// Full start-up validation: [`Model::inspect`], then a real Tesseract initialisation and a
    /// learned reader made once.
    pub fn load(dir: &Path) -> Result<Model> {
        let model = Self::inspect(dir)?;
        model.try_init_tesseract()?;
        model.learned_reader()?;
        model.learned_detector(1)?;
        Ok(model)
    }

    /// A Tesseract engine with this model, ready to read; a model Tesseract cannot load is a
    /// model error naming the file.
    pub fn engine(&self) -> Result<super::TesseractEngine> {
        super::TesseractEngine::new(&self.dir)
            .map_err(|e| model_error(&self.file, format!("Tesseract cannot load it: {e}")))
    }

    /// Initialises one Tesseract LSTM engine with this model and drops it.
    pub fn try_init_tesseract(&self) -> Result<()> {
        let dir = self
            .dir
            .to_str()
            .ok_or_else(|| model_error(&self.dir, "path is not valid UTF-8"))?;
        tesseract::Tesseract::new_with_oem(
            Some(dir),
            Some(LANGUAGE),
            tesseract::OcrEngineMode::LstmOnly,
        )
        .map(drop)
        .map_err(|e| model_error(&self.file, format!("Tesseract cannot load it: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(offsets: &[i64], payload_len: usize) -> Vec<u8> {
        let mut data = (offsets.len() as i32).to_le_bytes().to_vec();
        for o in offsets {
            data.extend_from_slice(&o.to_le_bytes());
        }
        data.resize(data.len() + payload_len, b'x');
        data
    }

    #[test]
    fn accepts_lstm_container_and_reads_version() {
        let header = 4 + 8 * 24;
        let mut offsets = vec![-1i64; 24];
        offsets[17] = header;
        offsets[23] = header + 10;
        let mut data = container(&offsets, 10);
        data.extend_from_slice(b"4.00.00alpha:eng\0");
        let version = check_container(Path::new("m"), &data).expect("valid");
        assert_eq!(version.as_deref(), Some("4.00.00alpha:eng"));
    }

    #[test]
    fn refuses_truncated_garbage_and_legacy_only() {
        let header = 4 + 8 * 24;
        let mut offsets = vec![-1i64; 24];
        offsets[17] = header;
        offsets[21] = header + 1000;
        let data = container(&offsets, 500);
        let err = check_container(Path::new("m"), &data).expect_err("truncated");
        assert!(err.to_string().contains("truncated"), "{err}");

        let err =
            check_container(Path::new("m"), b"<html>not a model</html>").expect_err("garbage");
        assert!(err.to_string().contains("entry count"), "{err}");
        assert!(check_container(Path::new("m"), b"ab").is_err());

        let mut legacy = vec![-1i64; 24];
        legacy[0] = header;
        let err = check_container(Path::new("m"), &container(&legacy, 10)).expect_err("no lstm");
        assert!(err.to_string().contains("LSTM"), "{err}");
    }

    #[test]
    fn sha256sums_lookup() {
        let sums = "abc123  eng.traineddata\nfff *other.bin\n";
        assert_eq!(
            expected_digest(sums, "eng.traineddata").as_deref(),
            Some("abc123")
        );
        assert_eq!(expected_digest(sums, "other.bin").as_deref(), Some("fff"));
        assert_eq!(expected_digest(sums, "missing"), None);
    }
}
