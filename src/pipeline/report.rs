//! The core's answer for one photo: the verdict, its reasons and the evidence behind it, and how
//! it is decided again from that evidence alone ([`Report::redecide`], for batch re-scoring).

use serde::Serialize;

use super::BlurScore;
use super::barcode::Symbology;
use super::evidence::Evidence;
use super::serial::{FullSerial, LabelSerial, MatchKind};
use super::verdict::{Reason, Thresholds, Verdict, decide};
use crate::photo_format::PhotoFormat;

/// A box in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct BoxPx {
    /// Left, px.
    pub x0: u32,
    /// Top, px.
    pub y0: u32,
    /// Right (exclusive), px.
    pub x1: u32,
    /// Bottom (exclusive), px.
    pub y1: u32,
}

/// A QR code or barcode found on the photo and decoded. Never its content: only the serial it
/// holds.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CodeFound {
    /// `qr` or `code128`.
    pub symbology: Symbology,
    /// Its box in the upright photo, px.
    #[serde(rename = "box")]
    pub bbox: BoxPx,
    /// The full serial it holds (exact), if any.
    pub serial: Option<String>,
}

/// Wall time per stage, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckTimings {
    /// Decoding to upright gray.
    pub decode_ms: f64,
    /// Whole-photo blur scores.
    pub blur_ms: f64,
    /// Finding text lines.
    pub locate_ms: f64,
    /// Cutting lines and OCR.
    pub ocr_ms: f64,
    /// Finding and decoding QR codes and barcodes.
    #[serde(default)]
    pub barcode_ms: f64,
    /// Everything.
    pub total_ms: f64,
}

/// The core's answer for one photo: the verdict and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Report {
    /// MATCH, MISMATCH, BLURRY, NOT_FOUND or INCONCLUSIVE.
    pub verdict: Verdict,
    /// Machine-readable reasons.
    pub reasons: Vec<Reason>,
    /// The serial the device reported.
    pub reported_serial: String,
    /// The serial read on the label, normalised by the grammar.
    pub serial_read: Option<String>,
    /// The raw OCR text of the serial value.
    pub serial_read_raw: Option<String>,
    /// The raw text of the second, independent reading of the value: Tesseract on the value crop
    /// and on the line cut again at 1.25×.
    pub serial_rereads_raw: Vec<String>,
    /// For MATCH: whether the full or the short serial matched.
    pub match_kind: Option<MatchKind>,
    /// Lowest character confidence of the serial read, 0–100.
    pub confidence: Option<f32>,
    /// The serial field's box in original-photo pixels (upright).
    pub serial_region: Option<BoxPx>,
    /// Variance of the Laplacian of the whole photo (OpenCV-exact).
    pub blur_score: BlurScore,
    /// The same at the reference resolution (1280 px long side).
    pub blur_score_normalized: BlurScore,
    /// Sharpness of the serial value crop, if a field was found.
    pub region_blur_score: Option<f64>,
    /// Median sharpness of the text lines read, if any (same measure as the region's).
    pub text_blur_score: Option<f64>,
    /// Thresholds the decision used.
    pub thresholds: Thresholds,
    /// Container format.
    pub format: PhotoFormat,
    /// Upright width, px.
    pub width: u32,
    /// Upright height, px.
    pub height: u32,
    /// EXIF orientation applied (1 = none).
    pub exif_orientation: u8,
    /// Text lines found.
    pub lines_found: usize,
    /// The boxes of the text lines read (axis-aligned around each line, upright photo px), in the
    /// locator's order. Boxes only: the text of lines other than serial fields is never kept.
    #[serde(default)]
    pub text_lines: Vec<BoxPx>,
    /// Distinct serials read anywhere on the photo.
    pub serials_found: Vec<String>,
    /// Lines handed to OCR (including the second reads).
    pub ocr_calls: usize,
    /// Stage timings.
    pub timings: CheckTimings,
    /// The QR codes and barcodes found and decoded, with the serial each holds.
    #[serde(default)]
    pub codes: Vec<CodeFound>,
    /// Everything the decision looked at (every serial field's reads, confidences, sharpness and
    /// box; label counts; photo and text sharpness), so the report can be decided again under
    /// other thresholds ([`Report::redecide`]). Holds only serial-field text, never other lines.
    pub evidence: Evidence,
}

/// `(x0, y0, x1, y1)` in photo pixels as a box clamped to a `width` × `height` photo.
pub(crate) fn clamped_box(b: (f32, f32, f32, f32), width: u32, height: u32) -> BoxPx {
    BoxPx {
        x0: (b.0.max(0.0) as u32).min(width),
        y0: (b.1.max(0.0) as u32).min(height),
        x1: (b.2.max(0.0) as u32).min(width),
        y1: (b.3.max(0.0) as u32).min(height),
    }
}

impl Report {
    /// Decides again from the stored evidence under `thresholds`, without the photo: sets the
    /// verdict, reasons, match kind, thresholds and the chosen field's reads, confidence, box and
    /// sharpness. `check` itself ends with this, so a re-decided report equals the report a fresh
    /// check with those thresholds would give (for batch re-scoring).
    pub fn redecide(&mut self, reported: &FullSerial, thresholds: Thresholds) {
        let decision = decide(&self.evidence, reported, &thresholds);
        let field = decision.field.and_then(|i| self.evidence.fields.get(i));
        let (width, height) = (self.width, self.height);
        self.verdict = decision.verdict;
        self.reasons = decision.reasons;
        self.match_kind = decision.match_kind;
        self.thresholds = thresholds;
        self.reported_serial = reported.text();
        self.serial_read = field.and_then(|f| f.serial.as_ref()).map(LabelSerial::text);
        self.serial_read_raw = field.map(|f| f.raw.clone());
        self.serial_rereads_raw = field.map(|f| f.others_raw.clone()).unwrap_or_default();
        self.confidence = field.map(|f| f.min_confidence);
        self.serial_region = field.map(|f| clamped_box(f.bbox, width, height));
        self.region_blur_score = field.map(|f| f.region_blur);
        self.codes = self
            .evidence
            .codes
            .iter()
            .map(|c| CodeFound {
                symbology: c.symbology,
                bbox: clamped_box(c.bbox, width, height),
                serial: c.serial.clone(),
            })
            .collect();
    }
}
