//! Reads crop PNGs (as `check --debug-dir` writes them) with both engines and prints what each
//! read, with every character's box and confidence (for tuning).
//!
//! ```text
//! cargo run --release --example crop_read -- [--serial] CROP.png...
//! ```
use labelcheck::engines::EnginePair;
use labelcheck::pipeline::ocr::{Ask, Charset, Engine, Readers};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let charset = if args.first().is_some_and(|a| a == "--serial") {
        args.remove(0);
        Charset::Serial
    } else {
        Charset::Any
    };
    let mut engines =
        EnginePair::open(&labelcheck::config::default_model_dir()).expect("the bundled models");
    for path in &args {
        let crop = image::open(path).expect("open").to_luma8();
        for engine in [Engine::Learned, Engine::Tesseract] {
            let read = engines.read(&crop, Ask { engine, charset }).expect("read");
            println!("{path} {engine:?}: {}", read.text());
            for c in &read.chars {
                print!("{}[{}-{} {:.0}] ", c.ch, c.x0, c.x1, c.confidence);
            }
            println!();
        }
    }
}
