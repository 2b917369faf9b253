//! The baseline for the load figures: how many photos per second one worker's core pipeline
//! checks, in process, on one thread, over the photos of a manifest.
//!
//! ```text
//! cargo run --release --example core_rate -- testdata/manifest.csv [--rounds N]
//! ```
//! Prints one JSON object: photos checked, seconds, photos per second and mean milliseconds per
//! photo. Uses the same settings as a server worker (one engine, no parallel blur).

use std::time::Instant;

use labelcheck::engines::EnginePair;
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let manifest = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: core_rate MANIFEST [--rounds N]")?,
    );
    let mut rounds = 1usize;
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args.next().ok_or("--rounds takes a number")?.parse()?;
        }
    }
    let base = manifest.parent().unwrap_or(std::path::Path::new("."));
    let mut photos = Vec::new();
    let mut reader = csv::Reader::from_path(&manifest)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(format!("no {name} column"))
    };
    let (p, s) = (col("photo")?, col("reported_serial")?);
    for row in reader.records() {
        let row = row?;
        photos.push((std::fs::read(base.join(&row[p]))?, parse_reported(&row[s])?));
    }
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut engine = EnginePair::open(&model)?;
    let config = PipelineConfig {
        parallel: false,
        ..PipelineConfig::default()
    };
    // One warm-up photo, then the timed rounds.
    check(
        &photos[0].0,
        &photos[0].1,
        &config,
        &mut engine,
        &mut |_, _| {},
    )?;
    let start = Instant::now();
    let mut checked = 0usize;
    for _ in 0..rounds {
        for (bytes, serial) in &photos {
            check(bytes, serial, &config, &mut engine, &mut |_, _| {})?;
            checked += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "photos": checked,
            "seconds": seconds,
            "photos_per_second": checked as f64 / seconds,
            "mean_ms": seconds * 1e3 / checked as f64,
        })
    );
    Ok(())
}
