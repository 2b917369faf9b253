//! The learned text detector: a PP-OCR DB detector (ONNX) run by ONNX Runtime.
//!
//! The view handed in (8-bit gray, sides multiples of 32 px) is replicated to three channels and
//! normalised to `[-1, 1]` (pixels / 127.5 − 1, rapidocr's mean 0.5 and standard deviation 0.5);
//! the graph answers, for every pixel, the probability that it lies in the shrunk core of a text
//! line. That map is returned as 8-bit gray (probability × 255); turning it into lines is the
//! pipeline's work (`crate::pipeline::detect`).
//!
//! One [`LearnedDetector`] per worker thread, each with its own session. The detector is the one
//! step of a photo that the pool cannot spread over its threads (the lines read after it are
//! spread), so its session has as many intra-op threads as the pool has workers: one photo on an
//! idle server then runs the detector on every core. Its map is the same bit for bit whatever
//! the thread count (every testdata report identical with 1 and 2 threads), and a busy pool loses
//! nothing: `labelcheck batch testdata/manifest.csv --jobs 2` took 20.2 / 19.6 s with one thread
//! a session and 20.5 / 19.6 s with two, peak RSS 521–541 MiB either way (`docs/performance.md`).

use std::path::Path;

use image::GrayImage;
use ort::session::Session;

use super::learned::{engine_error, run_one, session};
use crate::error::Result;

/// The detector graphs' input sides must be multiples of this, px.
pub const INPUT_MULTIPLE: u32 = 32;

/// One PP-OCR detector session. Not shared: one per worker thread.
pub struct LearnedDetector {
    session: Session,
}

impl LearnedDetector {
    /// Opens the detector graph `model` (ONNX Runtime must be loaded:
    /// [`super::learned::init_runtime`]) with `threads` intra-op threads (at least 1): the
    /// number of workers in the pool it serves.
    pub fn new(model: &Path, threads: usize) -> Result<LearnedDetector> {
        Ok(LearnedDetector {
            session: session(model, true, threads)?,
        })
    }

    /// The text probability map of `view` (same size, probability × 255). `view`'s sides must be
    /// multiples of [`INPUT_MULTIPLE`].
    pub fn probabilities(&mut self, view: &GrayImage) -> Result<GrayImage> {
        let (w, h) = view.dimensions();
        if w == 0 || h == 0 || w % INPUT_MULTIPLE != 0 || h % INPUT_MULTIPLE != 0 {
            return Err(engine_error(format!(
                "detector input {w}×{h} is not a multiple of {INPUT_MULTIPLE} px"
            )));
        }
        let plane = (w * h) as usize;
        let mut data = Vec::with_capacity(plane * 3);
        data.extend(view.as_raw().iter().map(|&p| f32::from(p) / 127.5 - 1.0));
        data.extend_from_within(..plane);
        data.extend_from_within(..plane);
        let shape = [1usize, 3, h as usize, w as usize];
        let map = run_one(&mut self.session, shape, &data, |out_shape, probs| {
            if probs.len() != plane {
                return Err(engine_error(format!(
                    "the detector answered {out_shape:?} for a {w}×{h} input"
                )));
            }
            Ok(probs
                .iter()
                .map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect())
        })?;
        GrayImage::from_raw(w, h, map).ok_or_else(|| engine_error("detector map size"))
    }
}
