//! What the reading gathered about a photo, as the decision sees it: the serial fields and
//! their readings, the label counts, the text's and the photo's sharpness, and the codes. A
//! stored report carries it (the report's `evidence`, schema in `docs/evidence.schema.json`),
//! so that it can be decided again under other thresholds without the photo.

use serde::{Deserialize, Serialize};

use super::barcode::CodeRead;
use super::serial::LabelSerial;
#[cfg(doc)]
use super::verdict::Thresholds;

/// One serial field found on the photo and what was read there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldRead {
    /// The serial from the field's reading (the learned reader's), normalised, if it parsed.
    pub serial: Option<LabelSerial>,
    /// The serials from the second, independent readings (Tesseract's); `None` where one did not
    /// parse.
    pub others: Vec<Option<LabelSerial>>,
    /// The raw text of the field's reading.
    pub raw: String,
    /// The raw text of the other reads, in the order of `others`.
    pub others_raw: Vec<String>,
    /// Lowest character confidence of each other read, 0–100, in the order of `others`.
    #[serde(default)]
    pub others_min_confidence: Vec<f32>,
    /// Lowest character confidence of the field's reading, 0–100.
    pub min_confidence: f32,
    /// Sharpness of the value crop (see [`Thresholds::region_blur_min`]).
    pub region_blur: f64,
    /// [`super::sharpness::smear`] of the value crop, if it is not flat.
    #[serde(default)]
    pub region_smear: Option<f64>,
    /// Box of the field in photo pixels `(x0, y0, x1, y1)`.
    pub bbox: (f32, f32, f32, f32),
}

/// Evidence about the whole photo: everything [`decide`] looks at, so that a stored report can be
/// decided again under other thresholds without reading the photo again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Serial fields found.
    pub fields: Vec<FieldRead>,
    /// Whether a serial caption was read anywhere.
    pub caption_seen: bool,
    /// How many labels the photo seems to show: the most of serial captions, `Model:` lines and
    /// `Verification Code` lines read.
    pub labels_seen: usize,
    /// Text lines read (found by the locator, at most [`super::lines::MAX_LINES_READ`]).
    pub lines: usize,
    /// Text lines found but not read, beyond [`super::lines::MAX_LINES_READ`] or
    /// [`super::lines::MAX_TEXT_READ`]. Any of them may hold a serial, so the verdict can only be
    /// BLURRY or INCONCLUSIVE.
    #[serde(default)]
    pub lines_unread: usize,
    /// Median sharpness of the text lines read (see [`Thresholds::region_blur_min`]), if any.
    pub text_blur: Option<f64>,
    /// Median [`super::sharpness::smear`] of the text lines read, if any: how much sharper the text is
    /// across than along (near 0 for text smeared by motion along it). Measured on the crops that
    /// were read, so after the streak was undone when `streak_px` is set.
    #[serde(default)]
    pub text_smear: Option<f64>,
    /// Length of the motion streak along the text that was undone before reading
    /// ([`super::deblur`]), crop pixels at 32 px capitals; `None` when the text was not smeared
    /// along its lines.
    #[serde(default)]
    pub streak_px: Option<f32>,
    /// Normalised blur score of the whole photo.
    pub photo_blur: f64,
    /// The QR codes and barcodes found and decoded ([`super::barcode`]), with the serial each
    /// holds; never their other content.
    #[serde(default)]
    pub codes: Vec<CodeRead>,
}
