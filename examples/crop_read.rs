//! Reads one crop PNG with the serial character set and prints each character (for tuning).
//!
//! ```text
//! cargo run --release --example crop_read -- CROP.png [any]
//! ```
use labelcheck::engines::TesseractEngine;
use labelcheck::pipeline::ocr::{Charset, Recognizer};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let crop = image::open(&args[0]).expect("open").to_luma8();
    let charset = if args.get(1).is_some_and(|a| a == "any") {
        Charset::Any
    } else {
        Charset::Serial
    };
    let mut engine = TesseractEngine::new(std::path::Path::new("models")).expect("engine");
    let read = engine.read_line(&crop, charset).expect("read");
    println!("raw     {}", read.text());
    for c in &read.chars {
        print!("{}[{}-{} {:.0}] ", c.ch, c.x0, c.x1, c.confidence);
    }
    println!();
}
