//! One photo at a time through a pool of workers, as on an idle server, in process: the median
//! and mean of each stage and of the whole photo (the first photo is a warm-up and not counted).
//! Where `load/one_photo.sh` measures the same over gRPC, this says which stage the time is in.
//!
//! ```text
//! OMP_THREAD_LIMIT=1 cargo run --release --example idle_stages -- MANIFEST [--workers N] [--parallel]
//! ```
//! `--workers` defaults to 2; `--parallel` lets the whole-photo blur use the pool too (the server
//! does not).
use std::sync::Arc;

use labelcheck::batch::manifest::{column, open_manifest, photo_path};
use labelcheck::engines::ModelEngines;
use labelcheck::model::Model;
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};
use labelcheck::workers::Workers;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let manifest = std::path::PathBuf::from(args.next().ok_or("usage: idle_stages MANIFEST")?);
    let mut workers = 2usize;
    let mut parallel = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => workers = args.next().ok_or("--workers N")?.parse()?,
            "--parallel" => parallel = true,
            _ => return Err(format!("unknown {arg}").into()),
        }
    }
    let (mut reader, headers) = open_manifest(&manifest)?;
    let col = |name: &str| column(&headers, name).ok_or(format!("no {name} column"));
    let (p, s) = (col("photo")?, col("reported_serial")?);
    let mut photos = Vec::new();
    for row in reader.records() {
        let row = row?;
        let bytes = std::fs::read(photo_path(&manifest, &row[p]))?;
        photos.push((bytes, parse_reported(&row[s])?));
    }
    let model = Model::inspect(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))?;
    let pool = Workers::new(Arc::new(ModelEngines::new(model, workers)), workers, "idle")?;
    let config = PipelineConfig {
        parallel,
        ..PipelineConfig::default()
    };
    let mut rows: Vec<[f64; 6]> = Vec::new();
    for (i, (bytes, serial)) in photos.into_iter().enumerate() {
        let (tx, rx) = std::sync::mpsc::channel();
        let start = std::time::Instant::now();
        pool.spawn(
            move |engine| check(&bytes, &serial, &config, engine, &mut |_, _| {}),
            move |r| drop(tx.send(r)),
        );
        let report = rx.recv()??;
        let wall = start.elapsed().as_secs_f64() * 1e3;
        let t = &report.timings;
        if i > 0 {
            rows.push([
                wall,
                t.decode_ms,
                t.blur_ms,
                t.barcode_ms,
                t.locate_ms,
                t.ocr_ms,
            ]);
        }
    }
    let names = ["wall", "decode", "blur", "codes", "locate", "ocr"];
    for (k, name) in names.iter().enumerate() {
        let mut v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        println!("{name:>8}: p50 {:7.1} mean {:7.1} ms", v[v.len() / 2], mean);
    }
    Ok(())
}
