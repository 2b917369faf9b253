//! Parity with the data team's OpenCV recipe, on real testdata photos.
//!
//! `testdata/fixtures/opencv_reference.json` is written by `scripts/opencv_reference.py` with
//! opencv-python-headless; these tests need no Python. They prove that labelcheck's decoder yields
//! byte-identical gray buffers (JPEG luma via libjpeg-turbo, PNG/WebP via BGR2GRAY, EXIF applied)
//! and that its blur score equals `cv2.Laplacian(gray, cv2.CV_64F).var()` to 1e-9 relative.

mod common;

use labelcheck::pipeline::blur::laplacian_variance;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    opencv: String,
    photos: Vec<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    photo: String,
    width: u32,
    height: u32,
    gray_sha256: String,
    laplacian_var: f64,
}

fn fixture() -> Fixture {
    let bytes = common::read_testdata("fixtures/opencv_reference.json");
    serde_json::from_slice(&bytes).expect("fixture parses")
}

#[test]
fn gray_buffers_are_byte_identical_to_opencv() {
    let fixture = fixture();
    assert!(fixture.photos.len() >= 10, "fixture lists too few photos");
    for reference in &fixture.photos {
        let photo = decode(
            &common::read_testdata(&reference.photo),
            &DecodeLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", reference.photo));
        assert_eq!(
            photo.gray.dimensions(),
            (reference.width, reference.height),
            "{}: upright size differs from OpenCV {}",
            reference.photo,
            fixture.opencv
        );
        assert_eq!(
            common::sha256_hex(photo.gray.as_raw()),
            reference.gray_sha256,
            "{}: gray buffer differs from OpenCV {}",
            reference.photo,
            fixture.opencv
        );
    }
}

#[test]
fn blur_scores_match_opencv_to_1e9_relative() {
    for reference in &fixture().photos {
        let photo = decode(
            &common::read_testdata(&reference.photo),
            &DecodeLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", reference.photo));
        let ours = laplacian_variance(&photo.gray);
        let relative = ((ours - reference.laplacian_var) / reference.laplacian_var).abs();
        assert!(
            relative <= 1e-9,
            "{}: labelcheck {ours} vs OpenCV {} (relative {relative:e})",
            reference.photo,
            reference.laplacian_var
        );
    }
}
