//! The locator and real Tesseract on rendered label lines whose content is known exactly:
//! lines are found at the right angle (skewed, turned 90° and 180°) and the serial is read back.

use std::path::Path;

use ab_glyph::{FontArc, PxScale};
use image::{GrayImage, Luma};
use imageproc::drawing::draw_text_mut;
use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center};
use labelcheck::engines::TesseractEngine;
use labelcheck::pipeline::locate::{cut_line, find_lines};
use labelcheck::pipeline::ocr::{Charset, Recognizer};
use labelcheck::pipeline::serial::{LabelSerial, find_in_text, parse_reported};

const SERIAL: &str = "DS-2CD2143G2-I20230415AAWRL12345678";

fn font() -> FontArc {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/generator/fonts/DejaVuSans.ttf");
    FontArc::try_from_vec(std::fs::read(path).expect("font")).expect("parses")
}

/// A white 1400x900 canvas with three lines of text, rotated by `degrees`.
fn label(degrees: f32) -> GrayImage {
    let font = font();
    let mut img = GrayImage::from_pixel(1400, 900, Luma([235]));
    let scale = PxScale::from(34.0);
    draw_text_mut(
        &mut img,
        Luma([20]),
        200,
        300,
        scale,
        &font,
        "Model: DS-2CD2143G2-I",
    );
    draw_text_mut(
        &mut img,
        Luma([20]),
        200,
        380,
        scale,
        &font,
        &format!("S/N: {SERIAL}"),
    );
    draw_text_mut(
        &mut img,
        Luma([20]),
        200,
        460,
        scale,
        &font,
        "Verification Code: QWERTY",
    );
    rotate_about_center(
        &img,
        degrees.to_radians(),
        Interpolation::Bilinear,
        Border::Constant(Luma([235])),
    )
}

fn read_serial(img: &GrayImage, engine: &mut TesseractEngine) -> Option<LabelSerial> {
    let lines = find_lines(img);
    for line in &lines {
        for flip in [false, true] {
            let (crop, _) = cut_line(img, line, flip, 1.0);
            let read = engine.read_line(&crop, Charset::Serial).expect("ocr");
            if let Some(found) = find_in_text(&read.text()).into_iter().next() {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn finds_skewed_lines_and_reads_the_serial() {
    let mut engine =
        TesseractEngine::new(&labelcheck::config::default_model_dir()).expect("engine");
    let expected = LabelSerial::Full(parse_reported(SERIAL).expect("serial"));
    for degrees in [0.0f32, 7.0, -12.0, 90.0, 180.0] {
        let img = label(degrees);
        let lines = find_lines(&img);
        assert!(lines.len() >= 3, "{degrees}°: {} lines", lines.len());
        // The text direction agrees with the rotation, modulo 180° (imageproc turns the picture
        // clockwise on screen for a positive angle, which is a positive angle with y pointing down).
        let long = lines.iter().max_by_key(|l| l.chars).expect("a line");
        let diff = (long.angle.to_degrees() - degrees).rem_euclid(180.0);
        assert!(
            diff.min(180.0 - diff) < 2.5,
            "{degrees}°: text direction {}°",
            long.angle.to_degrees()
        );
        assert_eq!(
            read_serial(&img, &mut engine).as_ref(),
            Some(&expected),
            "{degrees}°"
        );
    }
}

#[test]
fn a_blank_or_noisy_image_has_no_lines_and_reads_nothing() {
    let blank = GrayImage::from_pixel(800, 600, Luma([200]));
    assert!(find_lines(&blank).is_empty());
    let mut state = 12345u32;
    let noise = GrayImage::from_fn(800, 600, |_, _| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        Luma([(state >> 24) as u8])
    });
    let mut engine =
        TesseractEngine::new(&labelcheck::config::default_model_dir()).expect("engine");
    assert_eq!(read_serial(&noise, &mut engine), None);
}

/// The learned reader keeps its latest answers: a crop read again with another character set is
/// decoded from the kept answer, and reads exactly as a fresh reader reads it.
#[test]
fn a_crop_read_again_reads_as_a_fresh_reader_reads_it() {
    let model = labelcheck::model::Model::inspect(&labelcheck::config::default_model_dir())
        .expect("model folder");
    let img = label(0.0);
    let line = find_lines(&img)
        .into_iter()
        .max_by(|a, b| a.length.total_cmp(&b.length))
        .expect("a line");
    let (crop, _) = cut_line(&img, &line, false, 1.0);
    let mut reader = model.learned_reader().expect("reader");
    let any = reader.read_line(&crop, Charset::Any).expect("read");
    assert!(any.text().contains(SERIAL), "{}", any.text());
    let again = reader.read_line(&crop, Charset::Serial).expect("read");
    let fresh = model
        .learned_reader()
        .expect("reader")
        .read_line(&crop, Charset::Serial)
        .expect("read");
    assert_eq!(again, fresh);
    assert!(!again.text().contains(':'), "{}", again.text());
    // Another crop is read afresh, not taken for the kept one.
    let mut other = crop.clone();
    image::imageops::flip_horizontal_in_place(&mut other);
    assert_ne!(
        reader.read_line(&other, Charset::Serial).expect("read"),
        again
    );
}

#[test]
fn the_detector_maps_a_view_the_same_on_one_thread_or_two() {
    let model = labelcheck::model::Model::inspect(&labelcheck::config::default_model_dir())
        .expect("model folder");
    let img = label(8.0);
    let view = image::imageops::crop_imm(&img, 0, 0, img.width() / 32 * 32, img.height() / 32 * 32)
        .to_image();
    let one = model
        .learned_detector(1)
        .expect("detector")
        .probabilities(&view)
        .expect("map");
    let two = model
        .learned_detector(2)
        .expect("detector")
        .probabilities(&view)
        .expect("map");
    assert!(
        one.pixels().filter(|p| p.0[0] > 200).count() > 1000,
        "no text found"
    );
    assert!(one == two, "the two maps differ");
}
