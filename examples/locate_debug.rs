//! Shows what the locator finds and what OCR reads on each line, for tuning.
//!
//! ```text
//! cargo run --release --example locate_debug -- PHOTO [OUT_DIR]
//! ```
//! Prints one row per line (angle, size, OCR text both ways up, confidences, timings) and, with
//! OUT_DIR, writes each line crop as PNG. Run it through cargo (which sets OMP_THREAD_LIMIT=1,
//! see .cargo/config.toml) or with that variable set, or OCR timings are 5-10x too slow.

use std::time::Instant;

use labelcheck::engines::TesseractEngine;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::locate::{cut_line, find_lines};
use labelcheck::pipeline::ocr::{Charset, Recognizer};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let photo = args.first().expect("PHOTO");
    let out = args.get(1);
    let bytes = std::fs::read(photo).expect("read");
    let gray = decode(&bytes, &DecodeLimits::default())
        .expect("decode")
        .gray;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).expect("mkdir");
        let small = labelcheck::pipeline::blur::reference_downscale(&gray);
        labelcheck::pipeline::locate::ink_mask(small.as_ref().unwrap_or(&gray))
            .save(format!("{dir}/ink.png"))
            .expect("save");
    }
    let mut engine =
        TesseractEngine::new(&labelcheck::config::default_model_dir()).expect("engine");
    let t = Instant::now();
    let lines = find_lines(&gray);
    println!(
        "{} lines in {:.1} ms",
        lines.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for (i, line) in lines.iter().enumerate() {
        for flip in [false, true] {
            let t = Instant::now();
            let (crop, _) = cut_line(&gray, line, flip, 1.0);
            let cut_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let read = engine.read_line(&crop, Charset::Any).expect("ocr");
            let ocr_ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "{i:2} {} angle {:6.1} h {:5.1} n {:3} {}x{} cut {cut_ms:4.1} ms ocr {ocr_ms:5.1} ms conf {:4.0} {:?}",
                if flip { "F" } else { " " },
                line.angle.to_degrees(),
                line.text_height,
                line.chars,
                crop.width(),
                crop.height(),
                read.mean_confidence(),
                read.text()
            );
            if let Some(dir) = out {
                std::fs::create_dir_all(dir).expect("mkdir");
                crop.save(format!(
                    "{dir}/line{i:02}{}.png",
                    if flip { "f" } else { "" }
                ))
                .expect("save");
            }
        }
    }
}
