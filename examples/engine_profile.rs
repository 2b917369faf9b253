//! Where a check's engine time goes: runs `check` over the photos of a manifest on one thread with
//! the real engines behind a wrapper that times every call, and prints, per kind of call
//! (detector, learned line reads, learned value reads, Tesseract's second readings), the calls,
//! input columns and milliseconds per photo, plus the whole check's time.
//!
//! ```text
//! OMP_THREAD_LIMIT=1 cargo run --release --example engine_profile -- MANIFEST [--limit N] [--crops DIR]
//! ```
//! `--crops DIR` writes every line crop the learned reader reads (PNG) to DIR, as inputs for
//! `scripts/onnx_speed_trials.py`; use it on generated photos only.
//! `OMP_THREAD_LIMIT=1` as the service runs Tesseract (the `labelcheck` binary sets it for
//! itself); without it Tesseract's OpenMP threads make each of its reads several times slower.

use std::collections::BTreeMap;
use std::time::Instant;

use image::GrayImage;
use labelcheck::batch::manifest::{column, open_manifest, photo_path};
use labelcheck::engines::EnginePair;
use labelcheck::pipeline::ocr::{Ask, Charset, Engine, LineRead, Readers};
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

/// Calls, summed input pixels (width × height of what was handed over) and seconds, per kind.
#[derive(Default)]
struct Tally {
    calls: usize,
    pixels: u64,
    secs: f64,
    /// Each call's (width, height, milliseconds).
    each: Vec<(u32, u32, f64)>,
}

/// The real engines, each call timed.
struct Timed {
    inner: EnginePair,
    tallies: BTreeMap<&'static str, Tally>,
    /// Where to write the learned reader's line crops, if anywhere.
    crops: Option<std::path::PathBuf>,
}

/// The kind of call `ask` is, as printed.
fn kind(ask: Ask) -> &'static str {
    match (ask.engine, ask.charset) {
        (Engine::Learned, Charset::Any) => "learned line",
        (Engine::Learned, Charset::Serial) => "learned value",
        (Engine::Tesseract, _) => "tesseract",
    }
}

impl Timed {
    fn add(&mut self, name: &'static str, image: &GrayImage, secs: f64) {
        let t = self.tallies.entry(name).or_default();
        t.calls += 1;
        t.pixels += u64::from(image.width()) * u64::from(image.height());
        t.secs += secs;
        t.each.push((image.width(), image.height(), secs * 1e3));
    }
}

impl Readers for Timed {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> labelcheck::Result<LineRead> {
        let start = Instant::now();
        let read = self.inner.read(line, ask);
        self.add(kind(ask), line, start.elapsed().as_secs_f64());
        if let Some(dir) = &self.crops
            && ask == Ask::LINE
        {
            let n = self.tallies.get(kind(ask)).map_or(0, |t| t.calls);
            line.save(dir.join(format!("line_{n:05}.png")))
                .map_err(|e| labelcheck::Error::Internal {
                    component: "engine_profile",
                    detail: e.to_string(),
                })?;
        }
        read
    }

    fn detect(&mut self, view: &GrayImage) -> labelcheck::Result<Option<GrayImage>> {
        let start = Instant::now();
        let map = self.inner.detect(view);
        self.add("detector", view, start.elapsed().as_secs_f64());
        map
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none_or(|v| v != "1") {
        eprintln!("engine_profile: set OMP_THREAD_LIMIT=1, as the service runs Tesseract");
    }
    let mut args = std::env::args().skip(1);
    let manifest = std::path::PathBuf::from(args.next().ok_or("usage: engine_profile MANIFEST")?);
    let (mut limit, mut crops) = (usize::MAX, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--limit" => limit = args.next().ok_or("--limit takes a number")?.parse()?,
            "--crops" => {
                let dir = std::path::PathBuf::from(args.next().ok_or("--crops takes a folder")?);
                std::fs::create_dir_all(&dir)?;
                crops = Some(dir);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (mut reader, headers) = open_manifest(&manifest)?;
    let col = |name: &str| column(&headers, name).ok_or(name.to_string());
    let (p, s) = (col("photo")?, col("reported_serial")?);
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut engine = Timed {
        inner: EnginePair::open(&model)?,
        tallies: BTreeMap::new(),
        crops,
    };
    let config = PipelineConfig {
        parallel: false,
        ..PipelineConfig::default()
    };
    let (mut photos, mut total) = (0usize, 0.0f64);
    let mut stages = [0.0f64; 5];
    let mut totals = Vec::new();
    for row in reader.records().take(limit) {
        let row = row?;
        let bytes = std::fs::read(photo_path(&manifest, &row[p]))?;
        let serial = parse_reported(&row[s])?;
        let start = Instant::now();
        let report = check(&bytes, &serial, &config, &mut engine, &mut |_, _| {})?;
        let t = &report.timings;
        for (sum, ms) in stages.iter_mut().zip([
            t.decode_ms + t.blur_ms,
            t.barcode_ms,
            t.locate_ms,
            t.ocr_ms,
            t.total_ms,
        ]) {
            *sum += ms;
        }
        total += start.elapsed().as_secs_f64();
        totals.push(t.total_ms);
        photos += 1;
    }
    let n = photos.max(1) as f64;
    println!("{photos} photos, {:.0} ms per photo", 1e3 * total / n);
    totals.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        totals
            .get(((totals.len().max(1) - 1) as f64 * q) as usize)
            .copied()
    };
    println!(
        "check's total_ms: p50 {:.0}, p95 {:.0}",
        rank(0.5).unwrap_or(0.0),
        rank(0.95).unwrap_or(0.0)
    );
    for (name, sum) in ["decode+blur", "codes", "locate", "ocr", "total"]
        .iter()
        .zip(stages)
    {
        println!("stage {name:<12} {:>7.1} ms/photo", sum / n);
    }
    for (name, t) in &engine.tallies {
        println!(
            "{name:<18} {:>6.1} calls/photo {:>9.0} px/photo {:>7.1} ms/photo",
            t.calls as f64 / n,
            t.pixels as f64 / n,
            1e3 * t.secs / n
        );
        let mut each = t.each.clone();
        each.sort_by(|a, b| a.2.total_cmp(&b.2));
        let at = |q: f64| each[((each.len() - 1) as f64 * q) as usize];
        for q in [0.1, 0.5, 0.9, 0.99] {
            let (w, h, ms) = at(q);
            println!("    q{q}: {ms:.1} ms ({w}x{h})");
        }
    }
    Ok(())
}
