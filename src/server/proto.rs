//! The wire types (generated from `proto/labelcheck/v1/labelcheck.proto` into `OUT_DIR` by
//! `build.rs`) and the translation of the core's [`Report`] into a [`pb::VerifyResponse`].

use crate::photo_format::PhotoFormat;
use crate::pipeline::Report;
use crate::pipeline::barcode::Symbology;
use crate::pipeline::serial::MatchKind;
use crate::pipeline::verdict::{Reason, Thresholds, Verdict};
use crate::pipeline::{BoxPx, CheckTimings};

/// Generated messages, client and server for `labelcheck.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("labelcheck.v1");

    /// The encoded file descriptor set of the proto, for the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("labelcheck_descriptor");
}

impl std::fmt::Debug for pb::VerifyRequest {
    /// Shows the photo's size only: photo bytes never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("photo_bytes", &self.photo.len())
            .field("reported_serial", &self.reported_serial)
            .field("reported_model", &self.reported_model)
            .field("case_id", &self.case_id)
            .field("options", &self.options)
            .finish()
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Match => pb::Verdict::Match,
            Verdict::Mismatch => pb::Verdict::Mismatch,
            Verdict::Blurry => pb::Verdict::Blurry,
            Verdict::NotFound => pb::Verdict::NotFound,
            Verdict::Inconclusive => pb::Verdict::Inconclusive,
        }
    }
}

impl From<Reason> for pb::Reason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::FullSerialEqual => pb::Reason::FullSerialEqual,
            Reason::ShortSerialEqual => pb::Reason::ShortSerialEqual,
            Reason::SerialDiffers => pb::Reason::SerialDiffers,
            Reason::ConfusableCharacters => pb::Reason::ConfusableCharacters,
            Reason::LowConfidence => pb::Reason::LowConfidence,
            Reason::UnstableRead => pb::Reason::UnstableRead,
            Reason::MultipleSerials => pb::Reason::MultipleSerials,
            Reason::SerialUnreadable => pb::Reason::SerialUnreadable,
            Reason::RegionBlurry => pb::Reason::RegionBlurry,
            Reason::PhotoBlurry => pb::Reason::PhotoBlurry,
            Reason::NoSerialField => pb::Reason::NoSerialField,
            Reason::NoText => pb::Reason::NoText,
            Reason::UnreadSerialField => pb::Reason::UnreadSerialField,
            Reason::MotionBlur => pb::Reason::MotionBlur,
            Reason::TooMuchText => pb::Reason::TooMuchText,
            Reason::BarcodeAgrees => pb::Reason::BarcodeAgrees,
            Reason::BarcodeSettlesLookalikes => pb::Reason::BarcodeSettlesLookalikes,
            Reason::BarcodeDisagrees => pb::Reason::BarcodeDisagrees,
            Reason::BarcodeDiffers => pb::Reason::BarcodeDiffers,
            Reason::BarcodeOnly => pb::Reason::BarcodeOnly,
        }
    }
}

impl From<MatchKind> for pb::MatchKind {
    fn from(k: MatchKind) -> Self {
        match k {
            MatchKind::FullSerial => pb::MatchKind::FullSerial,
            MatchKind::ShortSerial => pb::MatchKind::ShortSerial,
        }
    }
}

impl From<PhotoFormat> for pb::ImageFormat {
    fn from(f: PhotoFormat) -> Self {
        match f {
            PhotoFormat::Jpeg => pb::ImageFormat::Jpeg,
            PhotoFormat::Png => pb::ImageFormat::Png,
            PhotoFormat::Webp => pb::ImageFormat::Webp,
        }
    }
}

impl From<Thresholds> for pb::Thresholds {
    fn from(t: Thresholds) -> Self {
        pb::Thresholds {
            region_blur_min: t.region_blur_min,
            photo_blur_min: t.photo_blur_min,
            min_char_confidence: t.min_char_confidence,
        }
    }
}

impl From<BoxPx> for pb::Box {
    fn from(b: BoxPx) -> Self {
        pb::Box {
            x0: b.x0,
            y0: b.y0,
            x1: b.x1,
            y1: b.y1,
        }
    }
}

fn timings(t: &CheckTimings, queue_ms: f64) -> pb::Timings {
    pb::Timings {
        queue_ms,
        decode_ms: t.decode_ms,
        blur_ms: t.blur_ms,
        locate_ms: t.locate_ms,
        ocr_ms: t.ocr_ms,
        total_ms: t.total_ms,
        barcode_ms: t.barcode_ms,
    }
}

impl From<Symbology> for pb::Symbology {
    fn from(s: Symbology) -> Self {
        match s {
            Symbology::Code128 => pb::Symbology::Code128,
            Symbology::Qr => pb::Symbology::Qr,
        }
    }
}

/// The reply for `report`, with the caller's case id and the time the request waited for a
/// worker (milliseconds).
pub fn response(report: Report, case_id: String, queue_ms: f64) -> pb::VerifyResponse {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let codes = report
        .codes
        .iter()
        .map(|c| pb::Code {
            symbology: pb::Symbology::from(c.symbology).into(),
            r#box: Some(c.bbox.into()),
            serial: c.serial.clone().unwrap_or_default(),
        })
        .collect();
    pb::VerifyResponse {
        case_id,
        verdict: pb::Verdict::from(report.verdict).into(),
        reasons: report
            .reasons
            .iter()
            .map(|&r| pb::Reason::from(r).into())
            .collect(),
        reported_serial: report.reported_serial,
        serial_read: report.serial_read.unwrap_or_default(),
        serial_read_raw: report.serial_read_raw.unwrap_or_default(),
        serial_rereads_raw: report.serial_rereads_raw,
        match_kind: report
            .match_kind
            .map_or(pb::MatchKind::Unspecified, pb::MatchKind::from)
            .into(),
        confidence: report.confidence,
        serial_region: report.serial_region.map(pb::Box::from),
        blur_score: report.blur_score.0,
        blur_score_normalized: report.blur_score_normalized.0,
        region_blur_score: report.region_blur_score,
        text_blur_score: report.text_blur_score,
        thresholds: Some(report.thresholds.into()),
        format: pb::ImageFormat::from(report.format).into(),
        width: report.width,
        height: report.height,
        exif_orientation: u32::from(report.exif_orientation),
        lines_found: count(report.lines_found),
        serials_found: report.serials_found,
        ocr_calls: count(report.ocr_calls),
        timings: Some(timings(&report.timings, queue_ms)),
        codes,
    }
}
