//! Tesseract, the second, independent reader: the labeltext LSTM model re-reads a serial value's
//! crop with the serial character set.
//!
//! [`TesseractEngine`] drives libtesseract 5 through `tesseract-sys`, the C-API bindings that the
//! `tesseract` crate wraps; the high-level crate exposes neither the result iterator nor a
//! reusable handle, and labelcheck needs both: per-character confidences and boxes, and one engine
//! per worker reused for every request. The engine runs the LSTM model only, in single-line mode.
//! A character whitelist is used for serial values ([`Charset::Serial`]); it is fixed, never
//! derived from the reported serial.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;

use image::GrayImage;
use tesseract_sys as sys;

use crate::error::{Error, Result};
use crate::pipeline::ocr::{CharRead, Charset, LineRead, Recognizer, SERIAL_CHARSET};

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
    let [background] = crate::pipeline::gray_levels_at_ranks(line, [n * 9 / 10]);
    let mut out = GrayImage::from_pixel(w + 2 * pad_x, h + 2 * pad_y, image::Luma([background]));
    image::imageops::replace(&mut out, line, i64::from(pad_x), i64::from(pad_y));
    (out, (pad_x as c_int, pad_y as c_int))
}
