//! Reading one text line: the [`Recognizer`] seam and its Tesseract implementation.
//!
//! The pipeline only ever asks "what does this upright line crop say?", through [`Recognizer`],
//! so unit tests can script a fake and integration tests use real Tesseract.
//!
//! [`TesseractEngine`] drives libtesseract 5 through `tesseract-sys`, the C-API bindings that the
//! `tesseract` crate wraps; the high-level crate exposes neither the result iterator nor a
//! reusable handle, and labelcheck needs both: per-character confidences and boxes for the
//! comparison and the crop of the value, and one engine per worker reused for every request. The
//! engine runs the LSTM model only, in single-line mode. A character whitelist is used for serial
//! values ([`Charset::Serial`]); it is fixed, never derived from the reported serial.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;

use image::GrayImage;
use tesseract_sys as sys;

use crate::error::{Error, Result};

/// Characters a serial can contain (whitelist for [`Charset::Serial`]).
pub const SERIAL_CHARSET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/";

/// Which characters the recogniser may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Anything in the model (captions, words).
    Any,
    /// Only [`SERIAL_CHARSET`].
    Serial,
}

/// One recognised character.
#[derive(Debug, Clone, PartialEq)]
pub struct CharRead {
    /// The character.
    pub ch: char,
    /// Tesseract's confidence, 0–100.
    pub confidence: f32,
    /// Left edge in crop pixels.
    pub x0: i32,
    /// Right edge (exclusive) in crop pixels.
    pub x1: i32,
    /// Whether a new word starts at this character.
    pub word_start: bool,
}

/// What a recogniser read on one line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineRead {
    /// The characters, in reading order.
    pub chars: Vec<CharRead>,
}

impl LineRead {
    /// One word of `chars`, each a character with its box's left and right edge in crop pixels,
    /// all read with confidence 90: for tests of the stages that look at a read's boxes (the
    /// glyph-shape rules), as [`ScriptedRecognizer`] is for those that look at its text.
    pub fn of_boxes(chars: &[(char, i32, i32)]) -> LineRead {
        LineRead {
            chars: chars
                .iter()
                .enumerate()
                .map(|(i, &(ch, x0, x1))| CharRead {
                    ch,
                    confidence: 90.0,
                    x0,
                    x1,
                    word_start: i == 0,
                })
                .collect(),
        }
    }

    /// The text, with a space before each word after the first.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.chars.iter().enumerate() {
            if c.word_start && i > 0 {
                out.push(' ');
            }
            out.push(c.ch);
        }
        out
    }

    /// Mean character confidence, 0–100 (0 for an empty read).
    pub fn mean_confidence(&self) -> f32 {
        if self.chars.is_empty() {
            return 0.0;
        }
        self.chars.iter().map(|c| c.confidence).sum::<f32>() / self.chars.len() as f32
    }
}

/// Reads an upright crop holding one line of text.
pub trait Recognizer {
    /// Recognises `line` (8-bit gray, dark text on a light background, capitals about 30 px).
    fn read_line(&mut self, line: &GrayImage, charset: Charset) -> Result<LineRead>;

    /// Recognises every crop of `lines`, answering in the same order. The pipeline hands over
    /// all the lines it can read at one time, so that an implementation may read them in
    /// parallel (the workers' pool does, `crate::workers`); this default reads them one after
    /// another with [`Recognizer::read_line`].
    fn read_lines(&mut self, lines: &[(&GrayImage, Charset)]) -> Result<Vec<LineRead>> {
        lines
            .iter()
            .map(|(line, charset)| self.read_line(line, *charset))
            .collect()
    }
}

/// How Tesseract takes a line crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    /// The crop as one raw line (`PSM_RAW_LINE`, 13): no layout pass, the crop read as cut.
    /// labelcheck's model is trained on crops read this way.
    Raw,
    /// Tesseract finds the line in the crop first (`PSM_SINGLE_LINE`, 7), as the stock models
    /// were measured with.
    Single,
}

/// One Tesseract LSTM engine. Not thread-safe: create one per worker thread and reuse it.
pub struct TesseractEngine {
    api: *mut sys::TessBaseAPI,
    charset: Option<Charset>,
    mode: LineMode,
}

fn engine_error(detail: impl Into<String>) -> Error {
    Error::Internal {
        component: "tesseract",
        detail: detail.into(),
    }
}

impl TesseractEngine {
    /// Starts an engine with labelcheck's model ([`crate::model::LANGUAGE`]) from `model_dir`.
    /// Set `OMP_THREAD_LIMIT=1` in the process first (the binary does) so Tesseract does not
    /// start threads of its own.
    pub fn new(model_dir: &Path) -> Result<TesseractEngine> {
        Self::with_language(model_dir, crate::model::LANGUAGE, LineMode::Raw)
    }

    /// Starts an engine with `{language}.traineddata` from `model_dir`, reading lines in `mode`
    /// (benchmarks compare models with it).
    pub fn with_language(
        model_dir: &Path,
        language: &str,
        mode: LineMode,
    ) -> Result<TesseractEngine> {
        let dir = CString::new(model_dir.to_string_lossy().as_bytes())
            .map_err(|_| engine_error("model path contains a NUL byte"))?;
        let lang =
            CString::new(language).map_err(|_| engine_error("language contains a NUL byte"))?;
        // SAFETY: plain C-API calls on a handle we own; strings outlive the calls.
        unsafe {
            let api = sys::TessBaseAPICreate();
            if api.is_null() {
                return Err(engine_error("TessBaseAPICreate returned null"));
            }
            let mut engine = TesseractEngine {
                api,
                charset: None,
                mode,
            };
            if sys::TessBaseAPIInit2(
                api,
                dir.as_ptr(),
                lang.as_ptr(),
                sys::TessOcrEngineMode_OEM_LSTM_ONLY,
            ) != 0
            {
                return Err(engine_error(format!(
                    "cannot initialise with {}",
                    model_dir.display()
                )));
            }
            sys::TessBaseAPISetPageSegMode(
                api,
                match mode {
                    LineMode::Raw => sys::TessPageSegMode_PSM_RAW_LINE,
                    LineMode::Single => sys::TessPageSegMode_PSM_SINGLE_LINE,
                },
            );
            // Crops are dark-on-light already; trying the inverted image too only costs time.
            engine.set("tessedit_do_invert", "0")?;
            Ok(engine)
        }
    }

    fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let (n, v) = (
            CString::new(name).map_err(|_| engine_error("NUL in variable"))?,
            CString::new(value).map_err(|_| engine_error("NUL in value"))?,
        );
        // SAFETY: valid handle and NUL-terminated strings.
        if unsafe { sys::TessBaseAPISetVariable(self.api, n.as_ptr(), v.as_ptr()) } == 0 {
            return Err(engine_error(format!("cannot set {name}")));
        }
        Ok(())
    }

    fn use_charset(&mut self, charset: Charset) -> Result<()> {
        if self.charset != Some(charset) {
            let list = match charset {
                Charset::Any => "",
                Charset::Serial => SERIAL_CHARSET,
            };
            self.set("tessedit_char_whitelist", list)?;
            self.charset = Some(charset);
        }
        Ok(())
    }
}

impl Drop for TesseractEngine {
    fn drop(&mut self) {
        // SAFETY: the handle was created by TessBaseAPICreate and is dropped once.
        unsafe {
            sys::TessBaseAPIEnd(self.api);
            sys::TessBaseAPIDelete(self.api);
        }
    }
}

// SAFETY: a TessBaseAPI may move between threads; it is only ever used by one at a time (&mut).
unsafe impl Send for TesseractEngine {}

impl Recognizer for TesseractEngine {
    fn read_line(&mut self, line: &GrayImage, charset: Charset) -> Result<LineRead> {
        let (w, h) = line.dimensions();
        if w < 4 || h < 4 {
            return Ok(LineRead::default());
        }
        let (w, h) = (
            c_int::try_from(w).map_err(|_| engine_error("crop too wide"))?,
            c_int::try_from(h).map_err(|_| engine_error("crop too tall"))?,
        );
        self.use_charset(charset)?;
        let (padded, (pad, pad_y)) = pad_for_reading(line, self.mode);
        let (w, h) = (w + 2 * pad, h + 2 * pad_y);
        let mut chars = Vec::new();
        // SAFETY: the image buffer outlives Recognize (Tesseract copies it in SetImage); every
        // string from the iterator is freed with TessDeleteText; the iterator is deleted once.
        unsafe {
            sys::TessBaseAPISetImage(self.api, padded.as_raw().as_ptr(), w, h, 1, w);
            sys::TessBaseAPISetSourceResolution(self.api, 300);
            if sys::TessBaseAPIRecognize(self.api, std::ptr::null_mut()) != 0 {
                sys::TessBaseAPIClear(self.api);
                return Err(engine_error("recognition failed"));
            }
            let it = sys::TessBaseAPIGetIterator(self.api);
            if !it.is_null() {
                let level = sys::TessPageIteratorLevel_RIL_SYMBOL;
                loop {
                    let text = sys::TessResultIteratorGetUTF8Text(it, level);
                    if !text.is_null() {
                        let s = CStr::from_ptr(text).to_string_lossy().into_owned();
                        sys::TessDeleteText(text);
                        let page = sys::TessResultIteratorGetPageIteratorConst(it);
                        let word_start = sys::TessPageIteratorIsAtBeginningOf(
                            page,
                            sys::TessPageIteratorLevel_RIL_WORD,
                        ) != 0;
                        let (mut l, mut t, mut r, mut b) = (0, 0, 0, 0);
                        sys::TessPageIteratorBoundingBox(
                            page, level, &mut l, &mut t, &mut r, &mut b,
                        );
                        let confidence = sys::TessResultIteratorConfidence(it, level);
                        for ch in s.chars() {
                            chars.push(CharRead {
                                ch,
                                confidence,
                                x0: l - pad,
                                x1: r - pad,
                                word_start,
                            });
                        }
                    }
                    if sys::TessResultIteratorNext(it, level) == 0 {
                        break;
                    }
                }
                sys::TessResultIteratorDelete(it);
            }
            sys::TessBaseAPIClear(self.api);
        }
        Ok(LineRead { chars })
    }
}

/// Margin added on the left and right of every line crop before OCR, as a fraction of the
/// crop's height. Measured on testdata with the stock model (`tests/accuracy.rs`): legible match
/// photos 30/42 without a margin, 32/42 with 0.15, 0.25, 0.4 or 0.6; the other photos 35/38
/// throughout; no wrong MATCH either way.
const PAD_FRACTION: f32 = 0.25;
/// Margin above and below in [`LineMode::Raw`], as a fraction of the crop's height (at least
/// 2 px). Tesseract scales a line to the model's input height (24 px for labelcheck's model),
/// so margin there only shrinks the text: with 0.25 a capital came to 11 px and narrow glyphs
/// next to each other (`-LI`, `-I4`) fell between the network's columns and were dropped.
const RAW_PAD_FRACTION_Y: f32 = 0.05;

/// The crop with a margin of its own background (its 90th-percentile gray level), as the engine
/// reads it in `mode` (the model's training lines are padded with it too), and the margins'
/// widths in pixels (left, top). Tesseract's LSTM misreads characters that touch the image edge,
/// tight condensed digits especially (`20210105` read `26216185`).
pub fn pad_for_reading(line: &GrayImage, mode: LineMode) -> (GrayImage, (c_int, c_int)) {
    let (w, h) = line.dimensions();
    let pad_x = ((h as f32 * PAD_FRACTION).round() as u32).max(1);
    let pad_y = match mode {
        LineMode::Raw => ((h as f32 * RAW_PAD_FRACTION_Y).round() as u32).max(2),
        LineMode::Single => pad_x,
    };
    let n = line.as_raw().len();
    let [background] = super::gray_levels_at_ranks(line, [n * 9 / 10]);
    let mut out = GrayImage::from_pixel(w + 2 * pad_x, h + 2 * pad_y, image::Luma([background]));
    image::imageops::replace(&mut out, line, i64::from(pad_x), i64::from(pad_y));
    (out, (pad_x as c_int, pad_y as c_int))
}

/// A recogniser that answers from a script, for unit tests of the stages above OCR.
#[derive(Debug, Default)]
pub struct ScriptedRecognizer {
    /// Answers returned in order, then empty reads.
    pub answers: std::collections::VecDeque<(String, f32)>,
    /// How many lines were asked for.
    pub calls: usize,
}

impl ScriptedRecognizer {
    /// A recogniser that will answer `texts` in order, each with `confidence`.
    pub fn new(texts: &[&str], confidence: f32) -> Self {
        Self {
            answers: texts.iter().map(|t| (t.to_string(), confidence)).collect(),
            calls: 0,
        }
    }
}

impl Recognizer for ScriptedRecognizer {
    fn read_line(&mut self, line: &GrayImage, _charset: Charset) -> Result<LineRead> {
        self.calls += 1;
        let Some((text, confidence)) = self.answers.pop_front() else {
            return Ok(LineRead::default());
        };
        let n = text.chars().count().max(1) as i32;
        let step = line.width() as i32 / n;
        let mut word_start = true;
        let mut chars = Vec::new();
        for (i, ch) in text.chars().enumerate() {
            if ch == ' ' {
                word_start = true;
                continue;
            }
            let i = i as i32;
            chars.push(CharRead {
                ch,
                confidence,
                x0: i * step,
                x1: (i + 1) * step,
                word_start,
            });
            word_start = false;
        }
        Ok(LineRead { chars })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_read_text_and_confidence() {
        let mut fake = ScriptedRecognizer::new(&["S/N: L12345678"], 91.0);
        let read = fake
            .read_line(&GrayImage::new(140, 30), Charset::Any)
            .expect("read");
        assert_eq!(read.text(), "S/N: L12345678");
        assert_eq!(read.mean_confidence(), 91.0);
        let empty = fake
            .read_line(&GrayImage::new(140, 30), Charset::Any)
            .expect("read");
        assert_eq!(empty.text(), "");
        assert_eq!(fake.calls, 2);
    }
}
