//! Safety of undoing motion blur (`pipeline::deblur`): testdata photos smeared along their text
//! by camera shake, as the generator's mild motion blur does (a streak of 0.3 × the serial's
//! capital height), go through the full check with real Tesseract.
//!
//! Hard rule: no photo whose ground truth is not MATCH (neighbouring serials, transposed digits,
//! other devices) becomes a MATCH, however deblurring turns out. The test also asserts that the
//! deblurring path was taken on at least half of the photos, so the rule is exercised, and prints
//! how many match photos were read back to MATCH
//! (`cargo test --release --test motion -- --nocapture`).

mod common;

use std::io::Cursor;

use image::GrayImage;
use labelcheck::pipeline::Report;
use rayon::prelude::*;

/// Photos up to this many pixels are used (the blur below is a plain loop).
const MAX_PIXELS: u32 = 3_500_000;

/// `gray` smeared by a straight streak of `len` px at `angle` radians: the mean of `len + 1`
/// nearest-pixel samples along it (as `testdata/generator/photo.rs` does).
fn motion(gray: &GrayImage, len: f32, angle: f32) -> GrayImage {
    let (w, h) = (gray.width() as i64, gray.height() as i64);
    let steps = len.ceil() as i64;
    let (dx, dy) = (angle.cos(), angle.sin());
    let taps: Vec<(i64, i64)> = (0..=steps)
        .map(|s| {
            let t = (s as f32 / steps as f32 - 0.5) * len;
            ((t * dx).round() as i64, (t * dy).round() as i64)
        })
        .collect();
    GrayImage::from_fn(gray.width(), gray.height(), |x, y| {
        let sum: u32 = taps
            .iter()
            .map(|&(ox, oy)| {
                let sx = (x as i64 + ox).clamp(0, w - 1) as u32;
                let sy = (y as i64 + oy).clamp(0, h - 1) as u32;
                u32::from(gray.get_pixel(sx, sy)[0])
            })
            .sum();
        image::Luma([(sum as f32 / taps.len() as f32).round() as u8])
    })
}

struct Case {
    photo: String,
    expected: String,
    reported: String,
    streak: f32,
    angle: f32,
}

fn run(c: &Case) -> Report {
    let gray = image::load_from_memory(&common::read_testdata(&c.photo))
        .unwrap_or_else(|e| panic!("{}: {e}", c.photo))
        .to_luma8();
    let mut png = Vec::new();
    motion(&gray, c.streak, c.angle)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    common::check_photo(&png, &c.reported, &c.photo)
}

#[test]
fn smeared_photos_never_match_a_serial_they_do_not_show() {
    let cases: Vec<Case> = common::manifest()
        .into_iter()
        .filter(|f| {
            let px = |k: &str| f[k].parse::<u32>().expect("number");
            matches!(
                f["case"].as_str(),
                "neighbour" | "transposed" | "other_device" | "full_match" | "short_match"
            ) && f["exif_orientation"] == "1"
                && px("width") * px("height") <= MAX_PIXELS
        })
        .map(|f| {
            let number = |k: &str| f[k].parse::<f32>().expect("number");
            Case {
                streak: 0.3 * number("serial_cap_px"),
                // Along the text: the label's rotation in the photo.
                angle: number("rotation_deg").to_radians(),
                photo: f["photo"].clone(),
                expected: f["expected_verdict"].clone(),
                reported: f["reported_serial"].clone(),
            }
        })
        .collect();
    let reports: Vec<Report> = cases.par_iter().map(run).collect();

    println!(
        "{:<26} {:<13} {:<13} {:>7}  read",
        "photo", "expected", "got", "streak"
    );
    let (mut deblurred, mut wrong_match, mut matches, mut match_photos) = (0, 0, 0, 0);
    for (c, r) in cases.iter().zip(&reports) {
        let got = r.verdict.as_str();
        let streak = r.evidence.streak_px;
        deblurred += usize::from(streak.is_some());
        if c.expected == "MATCH" {
            match_photos += 1;
            matches += usize::from(got == "MATCH");
        } else if got == "MATCH" {
            wrong_match += 1;
        }
        println!(
            "{:<26} {:<13} {:<13} {:>7} {} {:?}{}",
            c.photo,
            c.expected,
            got,
            streak.map_or("-".into(), |s| format!("{s:.1}")),
            r.serial_read.as_deref().unwrap_or("-"),
            r.reasons,
            if c.expected != "MATCH" && got == "MATCH" {
                "  <-- WRONG MATCH"
            } else {
                ""
            },
        );
    }
    println!(
        "{} photos, {deblurred} deblurred; match photos read back to MATCH: {matches}/{match_photos}",
        cases.len()
    );
    assert_eq!(
        wrong_match, 0,
        "a smeared photo matched a serial it does not show"
    );
    assert!(
        deblurred * 2 >= cases.len(),
        "only {deblurred} of {} smeared photos took the deblurring path",
        cases.len()
    );
}
