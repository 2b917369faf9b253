//! Turns a [`pb::VerifyRequest`] into the core's inputs, refusing bad fields with
//! [`Error::InvalidField`] (INVALID_ARGUMENT with a field violation). The photo itself is judged
//! by the core's decoder.

use crate::error::{Error, Result};
use crate::pipeline::PipelineConfig;
use crate::pipeline::serial::{FullSerial, MAX_SERIAL_LEN, parse_reported};
use crate::pipeline::verdict::{Threshold, ThresholdOverrides};

use super::proto::pb;

/// Longest accepted case id, characters.
pub const MAX_CASE_ID_LEN: usize = 128;

/// A request's inputs, validated.
#[derive(Debug)]
pub struct Validated {
    /// The reported serial.
    pub reported: FullSerial,
    /// The pipeline settings for this request: the server's, tightened by the request's options.
    pub config: PipelineConfig,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Checks a case id: printable ASCII, at most [`MAX_CASE_ID_LEN`] characters. Returns it as given.
pub fn case_id(text: &str) -> Result<&str> {
    if text.len() > MAX_CASE_ID_LEN {
        return Err(invalid(
            "case_id",
            format!(
                "{} bytes long, over the limit of {MAX_CASE_ID_LEN}",
                text.len()
            ),
        ));
    }
    if let Some(bad) = text.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(invalid(
            "case_id",
            format!("has {bad:?}; only printable ASCII is allowed"),
        ));
    }
    Ok(text)
}

/// Validates the serial, model and options of `request` against the server's `base` settings.
pub fn validate(request: &pb::VerifyRequest, base: &PipelineConfig) -> Result<Validated> {
    let reported = parse_reported(&request.reported_serial)
        .map_err(|e| invalid("reported_serial", e.to_string()))?;
    let model = request.reported_model.trim();
    if !model.is_empty() {
        if model.len() > MAX_SERIAL_LEN || !model.is_ascii() {
            return Err(invalid(
                "reported_model",
                format!("must be ASCII and at most {MAX_SERIAL_LEN} characters"),
            ));
        }
        if !reported.text().starts_with(&model.to_ascii_uppercase()) {
            return Err(invalid(
                "reported_model",
                "the reported serial does not start with the reported model",
            ));
        }
    }
    let mut config = *base;
    if let Some(options) = &request.options {
        let overrides = ThresholdOverrides {
            region_blur_min: (options.region_blur_min != 0.0).then_some(options.region_blur_min),
            photo_blur_min: None,
            min_char_confidence: (options.min_char_confidence != 0.0)
                .then_some(options.min_char_confidence),
        };
        config.thresholds = config
            .thresholds
            .overridden(overrides, true)
            .map_err(|refused| {
                let field = match refused.threshold {
                    Threshold::RegionBlurMin => "options.region_blur_min",
                    Threshold::PhotoBlurMin => "options.photo_blur_min",
                    Threshold::MinCharConfidence => "options.min_char_confidence",
                };
                invalid(field, refused.reason)
            })?;
        let pixels = options.max_pixels;
        if pixels != 0 {
            if pixels > config.limits.max_pixels {
                return Err(invalid(
                    "options.max_pixels",
                    format!(
                        "{pixels} is over the server's limit of {} (a request may only lower it)",
                        config.limits.max_pixels
                    ),
                ));
            }
            config.limits.max_pixels = pixels;
        }
    }
    Ok(Validated { reported, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "DS-2CD2143G2-I20230415AAWRL12345678";

    fn request(serial: &str) -> pb::VerifyRequest {
        pb::VerifyRequest {
            reported_serial: serial.into(),
            ..Default::default()
        }
    }

    fn field_of(r: Result<Validated>) -> &'static str {
        match r {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn bad_serials_name_the_field() {
        let base = PipelineConfig::default();
        for serial in [
            "",
            "   ",
            &"A".repeat(65),
            "DS-2CD2143G2-I20230415AAWRL1234567é",
            "hello",
        ] {
            assert_eq!(
                field_of(validate(&request(serial), &base)),
                "reported_serial"
            );
        }
        assert!(validate(&request(&SERIAL.to_lowercase()), &base).is_ok());
    }

    #[test]
    fn the_model_must_prefix_the_serial() {
        let base = PipelineConfig::default();
        let mut r = request(SERIAL);
        r.reported_model = "DS-2CD2143G2-I".into();
        assert!(validate(&r, &base).is_ok());
        r.reported_model = "DS-2CD2143G2-L".into();
        assert_eq!(field_of(validate(&r, &base)), "reported_model");
    }

    #[test]
    fn options_may_tighten_but_never_loosen() {
        let base = PipelineConfig::default();
        let mut r = request(SERIAL);
        r.options = Some(pb::VerifyOptions {
            region_blur_min: base.thresholds.region_blur_min * 2.0,
            min_char_confidence: 90.0,
            max_pixels: 1_000_000,
        });
        let v = validate(&r, &base).expect("stricter is fine");
        assert_eq!(v.config.thresholds.min_char_confidence, 90.0);
        assert_eq!(v.config.limits.max_pixels, 1_000_000);
        for options in [
            pb::VerifyOptions {
                region_blur_min: 1.0,
                ..Default::default()
            },
            pb::VerifyOptions {
                min_char_confidence: 10.0,
                ..Default::default()
            },
            pb::VerifyOptions {
                min_char_confidence: f32::NAN,
                ..Default::default()
            },
            pb::VerifyOptions {
                max_pixels: u64::MAX,
                ..Default::default()
            },
        ] {
            r.options = Some(options);
            assert!(field_of(validate(&r, &base)).starts_with("options."));
        }
    }

    #[test]
    fn case_ids_are_short_printable_ascii() {
        assert!(case_id("case-42 / retry 1").is_ok());
        assert!(case_id(&"x".repeat(129)).is_err());
        assert!(case_id("line\nbreak").is_err());
        assert!(case_id("caf\u{e9}").is_err());
    }
}
