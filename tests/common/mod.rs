//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod noise;
pub mod server;

/// Regression floor on testdata's legible match photos, percent: measured 38/42 (90.5%) with
/// values cut at their own size, all four INCONCLUSIVE or BLURRY (a smeared value judged BLURRY,
/// a value lost to motion blur, two whose Tesseract reads repeat another serial); 39/42 before,
/// 41/42 on the locator's lines. The floor leaves one photo of room (37/42), since the learned
/// engines' confidences can move by a hair on another CPU's kernels.
pub const TESTDATA_MATCH_FLOOR: usize = 88;

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Reads a testdata file, naming it if it is missing.
pub fn read_testdata(name: &str) -> Vec<u8> {
    let path = testdata().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first testdata photo whose name starts with `prefix` (e.g. "000_").
pub fn photo_by_prefix(prefix: &str) -> String {
    let mut names: Vec<String> = std::fs::read_dir(testdata())
        .expect("testdata folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no testdata photo starts with {prefix}"))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// CRC-32 (IEEE) for hand-built PNG chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A 57-byte PNG whose header declares `w × h` RGB pixels.
pub fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// Runs the `labelcheck` binary from the repository root with the bundled model.
pub fn labelcheck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_labelcheck"))
        .args(args)
        .env_remove("LABELCHECK_MODEL_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run labelcheck")
}

/// A command's standard error as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The rows of `testdata/manifest.csv`, each as column name → value.
pub fn manifest() -> Vec<std::collections::BTreeMap<String, String>> {
    manifest_at(&testdata().join("manifest.csv"))
}

/// The rows of a generator manifest (testdata's or a generated label set's), each as column
/// name → value.
pub fn manifest_at(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().expect("manifest header").clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

thread_local! {
    /// One pair of engines (the learned reader and Tesseract) per test thread, made on first use.
    static ENGINE: std::cell::RefCell<Option<labelcheck::engines::EnginePair>> =
        const { std::cell::RefCell::new(None) };
}

/// Checks photo `bytes` (named `name` in failures) against the manifest serial `reported` with
/// the bundled model and default settings, on this thread's engine.
pub fn check_photo(bytes: &[u8], reported: &str, name: &str) -> labelcheck::pipeline::Report {
    let reported =
        labelcheck::pipeline::serial::parse_reported(reported).expect("manifest serial parses");
    // The engine is out of its slot while the check runs: `check` waits inside its own parallel
    // steps (the blur's rows, the codes beside the locating), and rayon may meanwhile start
    // another photo's `check_photo` on this same thread (work stealing). Holding the slot's
    // borrow across the check made that second call panic on the borrow, now and then, with
    // its message lost in another test's captured output; it now makes an engine of its own.
    let taken = ENGINE.with(|cell| cell.borrow_mut().take());
    let mut engine = taken.unwrap_or_else(|| {
        // LABELCHECK_MODEL_DIR measures another model over the same photos.
        let dir = std::env::var_os("LABELCHECK_MODEL_DIR")
            .map_or_else(labelcheck::config::default_model_dir, PathBuf::from);
        labelcheck::engines::EnginePair::open(&dir).expect("engines")
    });
    let report = labelcheck::pipeline::check(
        bytes,
        &reported,
        &labelcheck::pipeline::PipelineConfig::default(),
        &mut engine,
        &mut |_, _| {},
    );
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(engine);
        }
    });
    report.unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// GET `path` from `addr` (`host:port`) with a plain HTTP/1.1 request; the whole answer, status
/// line and headers included. Bounded by 10 s.
pub async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut body = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut body),
    )
    .await
    .expect("an answer in time")
    .expect("read");
    body
}

/// `target/labelsets/<set>`, or `$LABELCHECK_LABELSETS/<set>` when set. None (with a message)
/// when the set has not been generated, unless `LABELCHECK_REQUIRE_LABELSETS=1` (as
/// `scripts/test.sh` sets), where a missing set fails.
pub fn labelset(set: &str) -> Option<PathBuf> {
    let root = std::env::var_os("LABELCHECK_LABELSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/labelsets"));
    let dir = root.join(set);
    if dir.join("manifest.csv").is_file() {
        return Some(dir);
    }
    let required = std::env::var("LABELCHECK_REQUIRE_LABELSETS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{}: the {set} set is missing; make it with scripts/labelsets.sh",
        dir.display()
    );
    eprintln!(
        "skipping the {set} set: {} is missing (make it with scripts/labelsets.sh)",
        dir.display()
    );
    None
}

/// The path of example `name` that `cargo test` builds next to the test binaries, rebuilt first
/// if stale (a no-op when `cargo test` just built it).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let mut args = vec!["build", "--quiet", "--example", name];
    if profile_dir.ends_with("release") {
        args.push("--release");
    }
    let status = std::process::Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build");
    assert!(status.success(), "cargo build --example {name}");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
