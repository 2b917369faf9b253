//! Compares text readers on the same line crops: for every legible photo of a generated label set
//! (expected MATCH or MISMATCH), the lines the locator finds are cut once, the way `check` cuts
//! them, and each reader reads every one of them with any character. Printed per reader:
//! - serial in a line: photos where some line read holds the printed serial exactly (spaces
//!   dropped), the recall of the serial line;
//! - CPU ms per photo on this one thread, reading every line.
//!
//! Readers: the learned PP-OCRv4 and PP-OCRv6-small recognisers (ONNX Runtime, one thread),
//! Tesseract with labelcheck's labeltext model, and any other recogniser graph named after LIMIT
//! (an int8 copy of one, say).
//!
//! `cargo run --release --example reader_compare -- target/labelsets/tuning [LIMIT [GRAPH.onnx…]]`

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::GrayImage;
use labelcheck::engines::{LearnedReader, TesseractEngine, learned};
use labelcheck::pipeline::ocr::{Ask, Charset, LineRead, Readers, Recognizer};
use labelcheck::pipeline::serial::parse_reported;

/// Collects every line crop `check` reads (its debug hook names them `lineNN`), reading nothing:
/// the crops of the first, upright-most pass.
struct Collect;

impl Readers for Collect {
    fn read(&mut self, _: &GrayImage, _: Ask) -> labelcheck::Result<LineRead> {
        Ok(LineRead::default())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: reader_compare SET_DIR [LIMIT [GRAPH.onnx…]]")?,
    );
    let limit: usize = args.next().map_or(Ok(usize::MAX), |s| s.parse())?;
    let extra: Vec<String> = args.collect();
    let models = labelcheck::config::default_model_dir();
    learned::init_runtime(&models.join(labelcheck::model::ONNXRUNTIME))?;
    let mut readers: Vec<(String, Box<dyn Recognizer>)> = vec![
        (
            "PP-OCRv4 rec".into(),
            Box::new(LearnedReader::new(
                &models.join("ch_PP-OCRv4_rec_infer.onnx"),
            )?),
        ),
        (
            "PP-OCRv6 small rec".into(),
            Box::new(LearnedReader::new(&models.join("PP-OCRv6_rec_small.onnx"))?),
        ),
        (
            "labeltext (Tesseract)".into(),
            Box::new(TesseractEngine::new(&models)?),
        ),
    ];
    for graph in extra {
        let reader = LearnedReader::new(Path::new(&graph))?;
        readers.push((graph, Box::new(reader)));
    }
    let mut found = vec![0usize; readers.len()];
    let mut ms = vec![0f64; readers.len()];
    let mut photos = 0usize;
    let mut reader = csv::Reader::from_path(dir.join("manifest.csv"))?;
    let header = reader.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or(name.to_string())
    };
    let (p, r, printed, expected) = (
        col("photo")?,
        col("reported_serial")?,
        col("printed_serial")?,
        col("expected_verdict")?,
    );
    let config = labelcheck::PipelineConfig {
        parallel: false,
        ..Default::default()
    };
    for row in reader.records() {
        let row = row?;
        if !matches!(&row[expected], "MATCH" | "MISMATCH") {
            continue;
        }
        if photos >= limit {
            break;
        }
        photos += 1;
        let bytes = std::fs::read(Path::new(&dir).join(&row[p]))?;
        let reported = parse_reported(&row[r])?;
        let mut crops: Vec<GrayImage> = Vec::new();
        labelcheck::pipeline::check(&bytes, &reported, &config, &mut Collect, &mut |name, c| {
            if name.starts_with("line") {
                crops.push(c.clone());
            }
        })?;
        let want: String = row[printed].to_string();
        for (i, (_, reader)) in readers.iter_mut().enumerate() {
            let started = Instant::now();
            let mut hit = false;
            for crop in &crops {
                let text: String = reader
                    .read_line(crop, Charset::Any)?
                    .text()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                hit |= text.contains(&want);
            }
            ms[i] += started.elapsed().as_secs_f64() * 1e3;
            found[i] += usize::from(hit);
        }
    }
    println!("{photos} legible photos of {}", dir.display());
    println!("| reader | serial in a line | CPU ms per photo, one thread |");
    println!("|---|---|---|");
    for (i, (name, _)) in readers.iter().enumerate() {
        println!(
            "| {name} | {}/{photos} ({:.1}%) | {:.0} |",
            found[i],
            100.0 * found[i] as f64 / photos.max(1) as f64,
            ms[i] / photos.max(1) as f64
        );
    }
    Ok(())
}
