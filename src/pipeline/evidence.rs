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
    /// Box of the field in photo pixels `(x0, y0, x1, y1)`; in JSON `box`, an object like every
    /// box of the report ([`box_json`]).
    #[serde(rename = "box", alias = "bbox", with = "box_json")]
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
    /// Coarse blur score of the whole photo ([`super::blur::coarse_laplacian_variance`]); `None`
    /// in reports stored before it was measured.
    #[serde(default)]
    pub photo_coarse_blur: Option<f64>,
    /// Blur score of the photo's sharpest part ([`super::blur::peak_sharpness`]);
    /// `None` in reports stored before it was measured.
    #[serde(default)]
    pub photo_peak_blur: Option<f64>,
    /// How evenly sharp the whole photo is in every direction
    /// ([`super::sharpness::directional_smear`]): near 0 when motion smeared it along one direction;
    /// `None` for a flat photo and in reports stored before it was measured.
    #[serde(default)]
    pub photo_smear: Option<f64>,
    /// The QR codes and barcodes found and decoded ([`super::barcode`]), with the serial each
    /// holds; never their other content.
    #[serde(default)]
    pub codes: Vec<CodeRead>,
}

/// A box `(x0, y0, x1, y1)` in JSON as every box of the report is written,
/// `{"x0": .., "y0": .., "x1": .., "y1": ..}` (here in fractional pixels). The older array form
/// `[x0, y0, x1, y1]` is read too, so that reports stored before still re-score.
pub mod box_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Corners {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Object(Corners),
        Array([f32; 4]),
    }

    /// Writes the box as an object.
    pub fn serialize<S: Serializer>(b: &(f32, f32, f32, f32), s: S) -> Result<S::Ok, S::Error> {
        Corners {
            x0: b.0,
            y0: b.1,
            x1: b.2,
            y1: b.3,
        }
        .serialize(s)
    }

    /// Reads the box from an object or the older array.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(f32, f32, f32, f32), D::Error> {
        Ok(match Stored::deserialize(d)? {
            Stored::Object(c) => (c.x0, c.y0, c.x1, c.y1),
            Stored::Array([x0, y0, x1, y1]) => (x0, y0, x1, y1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::barcode::{CodeRead, Symbology};

    #[test]
    fn boxes_are_written_as_objects_and_the_older_arrays_still_read() {
        let code = CodeRead {
            symbology: Symbology::Qr,
            bbox: (1.5, 2.0, 30.0, 40.25),
            serial: None,
        };
        let json = serde_json::to_value(&code).expect("serialise");
        assert_eq!(
            json["box"],
            serde_json::json!({"x0": 1.5, "y0": 2.0, "x1": 30.0, "y1": 40.25})
        );
        assert!(json.get("bbox").is_none());
        let back: CodeRead = serde_json::from_value(json).expect("object form");
        assert_eq!(back, code);
        let older: CodeRead = serde_json::from_value(
            serde_json::json!({"symbology": "qr", "bbox": [1.5, 2.0, 30.0, 40.25], "serial": null}),
        )
        .expect("array form");
        assert_eq!(older, code);
    }
}
