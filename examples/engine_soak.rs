//! The OCR engines' memory over many calls: each of `--engines` engine sets (the learned reader,
//! Tesseract with the bundled model and the learned detector, as one server worker holds them),
//! on a thread of its own, reads `--calls` real line crops, with one detector run on a real view
//! every [`READS_PER_DETECTION`] reads, and the process's resident memory is sampled as they go.
//!
//! ```text
//! cargo run --release --example engine_soak -- [--engines 2] [--calls 50000] [--photos 24]
//! ```
//! The crops and views are the ones `check` hands to the engines on the first `--photos`
//! testdata photos (all their lines, serial fields and second readings; each photo's detector
//! view), read in turn with the character set and engine the pipeline asked for. Prints RSS once
//! the engines are loaded, after the first 1,000 calls each (warm), every 5,000 calls, and at the
//! end, with the growth after warm-up per 10,000 calls per engine set. Linux only (reads
//! `/proc/self/status`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use image::GrayImage;
use labelcheck::engines::EnginePair;
use labelcheck::pipeline::ocr::{Ask, LineRead, Readers};
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

/// Line reads per detector run: a check reads 20 to 40 lines per photo, and runs the detector
/// once.
const READS_PER_DETECTION: u64 = 25;

/// Engines that keep every view handed to the detector.
struct KeepViews {
    engines: EnginePair,
    views: Vec<GrayImage>,
}

impl Readers for KeepViews {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> labelcheck::Result<LineRead> {
        self.engines.read(line, ask)
    }

    fn detect(&mut self, view: &GrayImage) -> labelcheck::Result<Option<GrayImage>> {
        self.views.push(view.clone());
        self.engines.detect(view)
    }
}

/// Resident set size of this process, MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let mut engines = 2usize;
    let mut calls = 50_000u64;
    let mut photos = 24usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v: u64 = args
            .next()
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{a} takes a number"));
        match a.as_str() {
            "--engines" => engines = v as usize,
            "--calls" => calls = v,
            "--photos" => photos = v as usize,
            other => panic!("unknown argument {other}; see examples/engine_soak.rs"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let models = root.join("models");
    let rss_start = rss_mib();

    // The crops check reads, collected through its debug hook: text lines (`lineNN`, read with
    // any character) and serial values at three scales (`valueN…`, the serial character set).
    let mut names: Vec<_> = std::fs::read_dir(root.join("testdata"))
        .expect("testdata")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png") || n.ends_with(".webp"))
        .collect();
    names.sort();
    let config = PipelineConfig {
        parallel: false,
        ..PipelineConfig::default()
    };
    let reported = parse_reported("DS-7204HQHI-K10420231115AAWRS39003340").expect("serial");
    let model = labelcheck::model::Model::inspect(&models).expect("the bundled models");
    let mut collector = KeepViews {
        engines: EnginePair::new(&model).expect("the bundled models"),
        views: Vec::new(),
    };
    let mut crops: Vec<(GrayImage, Ask)> = Vec::new();
    for name in names.iter().take(photos) {
        let bytes = std::fs::read(root.join("testdata").join(name)).expect("read photo");
        let mut keep = |what: &str, crop: &GrayImage| {
            if what.starts_with("value") {
                crops.push((crop.clone(), Ask::VALUE));
                crops.push((crop.clone(), Ask::SECOND_READING));
            } else {
                crops.push((crop.clone(), Ask::LINE));
            }
        };
        let _ = check(&bytes, &reported, &config, &mut collector, &mut keep);
    }
    let views = Arc::new(collector.views);
    drop(collector.engines);
    assert!(!crops.is_empty(), "no crops collected");
    assert!(!views.is_empty(), "no detector views collected");
    let crops = Arc::new(crops);
    let rss_crops = rss_mib();

    let done = Arc::new(AtomicU64::new(0));
    let loaded = Arc::new(std::sync::Barrier::new(engines + 1));
    // Held until the last sample is taken: an engine set dropped earlier would take its memory
    // out of that sample.
    let sampled = Arc::new(std::sync::Barrier::new(engines + 1));
    let started = Instant::now();
    let workers: Vec<_> = (0..engines)
        .map(|i| {
            let (crops, views, done, loaded, sampled, model) = (
                crops.clone(),
                views.clone(),
                done.clone(),
                loaded.clone(),
                sampled.clone(),
                model.clone(),
            );
            std::thread::spawn(move || {
                let mut engine = EnginePair::new(&model).expect("the bundled models");
                loaded.wait();
                let mut chars = 0usize;
                for n in 0..calls {
                    let (crop, ask) = &crops[(n as usize * 7 + i * 13) % crops.len()];
                    chars += engine.read(crop, *ask).map_or(0, |r| r.chars.len());
                    if n % READS_PER_DETECTION == 0 {
                        let view = &views[(n / READS_PER_DETECTION) as usize % views.len()];
                        engine.detect(view).expect("the detector runs");
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                sampled.wait();
                chars
            })
        })
        .collect();
    loaded.wait();
    let rss_loaded = rss_mib();
    println!(
        "{} crops and {} detector views from {} photos; RSS {rss_start:.1} MiB at start, {rss_crops:.1} with the crops, {rss_loaded:.1} with {engines} engines loaded",
        crops.len(),
        views.len(),
        photos.min(names.len())
    );
    let total = calls * engines as u64;
    let mut samples: Vec<(u64, f64)> = Vec::new();
    let mut next = 1_000 * engines as u64;
    loop {
        let n = done.load(Ordering::Relaxed);
        if n >= next || n >= total {
            let rss = rss_mib();
            samples.push((n, rss));
            println!(
                "{:>7} calls per engine  RSS {rss:7.1} MiB  {:6.0} s",
                n / engines as u64,
                started.elapsed().as_secs_f64()
            );
            if n >= total {
                break;
            }
            next = if next == 1_000 * engines as u64 {
                5_000 * engines as u64
            } else {
                next + 5_000 * engines as u64
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sampled.wait();
    let chars: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    let (warm_n, warm_rss) = samples[0];
    let (end_n, end_rss) = *samples.last().expect("a sample");
    let per_engine_calls = (end_n - warm_n) as f64 / engines as f64;
    let peak = samples.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    println!(
        "{calls} calls per engine in {:.0} s ({chars} characters read); RSS {warm_rss:.1} MiB warm \
         (after 1,000 calls each), {end_rss:.1} MiB at the end, peak {peak:.1}; growth after warm-up \
         {:+.3} MiB per 10,000 calls per engine",
        started.elapsed().as_secs_f64(),
        (end_rss - warm_rss) / engines as f64 / per_engine_calls.max(1.0) * 10_000.0
    );
}
