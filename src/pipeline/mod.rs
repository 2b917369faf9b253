//! The pure core: photo bytes in, a report (facts, evidence and a verdict) out.
//!
//! Nothing here knows about tokio, tonic, clap, files or environment variables; the gRPC server,
//! the `check` command and the batch runner are thin doors into [`analyze_photo`].
//!
//! Stages: [`decode`] (bytes → upright gray), [`blur`] (variance of the Laplacian), [`barcode`]
//! (QR codes and Code 128), [`locate`] (where the text is, without OCR), [`detect`] (the lines,
//! from a learned detector), [`lines`] (every line read), `fields` (serial fields and their
//! reads), [`evidence`] (what the decision sees), [`serial`] (grammar and comparison) and
//! [`verdict`] (the decision), through the
//! reader seam [`ocr`]. [`check()`] runs them all.

pub mod barcode;
pub mod blur;
pub mod check;
pub mod deblur;
pub mod decode;
pub mod detect;
pub mod evidence;
mod fields;
pub mod lines;
pub mod locate;
pub mod ocr;
pub mod report;
pub mod resample;
pub mod serial;
pub mod sharpness;
pub mod verdict;
pub mod vocabulary;

pub use check::check;
pub use report::{BoxPx, CheckTimings, CodeFound, Report};

use std::time::Instant;

use serde::Serialize;

use crate::error::Result;
use crate::photo_format::PhotoFormat;
use decode::DecodeLimits;

/// A sharpness score: variance of the Laplacian, in squared gray levels (higher is sharper).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct BlurScore(pub f64);

/// Settings of the core pipeline, validated once at start-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineConfig {
    /// Limits on untrusted photo bytes.
    pub limits: DecodeLimits,
    /// Decision thresholds.
    pub thresholds: verdict::Thresholds,
    /// Whether one photo's whole-photo blur may use every thread of the current rayon pool. True
    /// for a single check; false where photos already run one per worker (server, batch), see
    /// [`blur::laplacian_moments`].
    pub parallel: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            limits: DecodeLimits::default(),
            thresholds: verdict::Thresholds::default(),
            parallel: true,
        }
    }
}

/// Wall time spent in each stage, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimings {
    /// Decoding to upright gray.
    pub decode_ms: f64,
    /// Both blur scores.
    pub blur_ms: f64,
}

/// What the pipeline knows about a photo before reading its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoFacts {
    /// Container format.
    pub format: PhotoFormat,
    /// Upright width in pixels (after EXIF orientation).
    pub width: u32,
    /// Upright height in pixels (after EXIF orientation).
    pub height: u32,
    /// EXIF orientation tag that was applied (1 = none).
    pub exif_orientation: u8,
    /// Whether applying the orientation changed the pixels.
    pub orientation_applied: bool,
    /// Variance of the Laplacian of the whole upright gray photo, as OpenCV computes it.
    pub blur_score: BlurScore,
    /// The same at the reference resolution (long side [`blur::NORMALIZED_LONG_SIDE`] px).
    pub blur_score_normalized: BlurScore,
    /// Stage timings.
    pub timings: StageTimings,
}

/// The gray levels at `ranks` in `img`'s pixels sorted darkest first (rank 0 is the darkest
/// pixel), found with a histogram; 255 for a rank past the end.
pub(crate) fn gray_levels_at_ranks<const N: usize>(
    img: &image::GrayImage,
    ranks: [usize; N],
) -> [u8; N] {
    let mut hist = [0usize; 256];
    for &p in img.as_raw() {
        hist[p as usize] += 1;
    }
    ranks.map(|rank| {
        let mut below = 0;
        for (level, &count) in hist.iter().enumerate() {
            below += count;
            if below > rank {
                return level as u8;
            }
        }
        255
    })
}

pub(crate) fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// A decoded photo, its reference view and its whole-photo blur scores.
pub(crate) struct Scored {
    pub photo: decode::DecodedPhoto,
    /// The reference view when it differs from the photo ([`blur::reference_downscale`]).
    pub downscaled: Option<image::GrayImage>,
    pub blur_score: BlurScore,
    pub blur_score_normalized: BlurScore,
    /// [`blur::coarse_laplacian_variance`] of the reference view.
    pub blur_score_coarse: f64,
    /// [`blur::peak_sharpness`] of the reference view.
    pub blur_score_peak: f64,
    /// [`sharpness::directional_smear`] of the reference view.
    pub smear: Option<f64>,
    pub timings: StageTimings,
}

impl Scored {
    /// The photo at the reference resolution.
    pub fn reference(&self) -> &image::GrayImage {
        self.downscaled.as_ref().unwrap_or(&self.photo.gray)
    }
}

/// Decodes a photo and scores its sharpness; the first stages of both [`analyze_photo`] and
/// [`check`].
pub(crate) fn decode_and_score(bytes: &[u8], config: &PipelineConfig) -> Result<Scored> {
    let start = Instant::now();
    let photo = decode::decode(bytes, &config.limits)?;
    let decode_ms = elapsed_ms(start);

    let start = Instant::now();
    let blur_score = BlurScore(blur::laplacian_variance_with(&photo.gray, config.parallel));
    let downscaled = blur::reference_downscale(&photo.gray);
    let blur_score_normalized = BlurScore(blur::laplacian_variance_with(
        downscaled.as_ref().unwrap_or(&photo.gray),
        config.parallel,
    ));
    let reference = downscaled.as_ref().unwrap_or(&photo.gray);
    let blur_score_coarse = blur::coarse_laplacian_variance(reference);
    let blur_score_peak = blur::peak_sharpness(reference);
    let smear = sharpness::directional_smear(reference);
    let blur_ms = elapsed_ms(start);
    Ok(Scored {
        photo,
        downscaled,
        blur_score,
        blur_score_normalized,
        blur_score_coarse,
        blur_score_peak,
        smear,
        timings: StageTimings { decode_ms, blur_ms },
    })
}

/// Decodes a photo and scores its sharpness.
pub fn analyze_photo(bytes: &[u8], config: &PipelineConfig) -> Result<PhotoFacts> {
    let Scored {
        photo,
        blur_score,
        blur_score_normalized,
        timings,
        ..
    } = decode_and_score(bytes, config)?;
    Ok(PhotoFacts {
        format: photo.format,
        width: photo.gray.width(),
        height: photo.gray.height(),
        exif_orientation: photo.exif_orientation,
        orientation_applied: photo.exif_orientation != 1,
        blur_score,
        blur_score_normalized,
        timings,
    })
}
