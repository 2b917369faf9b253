//! End-to-end benchmark: photo bytes + reported serial → report, with one Tesseract engine on the
//! calling thread, on the 2 MP and 12 MP testdata photos. Decoding alone is measured in the same
//! run as the baseline the target is expressed in (end to end within 3× of decode).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::ocr::TesseractEngine;
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

fn photo(prefix: &str) -> (Vec<u8>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).expect("manifest");
    let line = manifest
        .lines()
        .find(|l| l.starts_with(prefix))
        .expect("row");
    let fields: Vec<&str> = line.split(',').collect();
    (
        std::fs::read(dir.join(fields[0])).expect("photo"),
        fields[1].to_string(),
    )
}

fn bench_check(c: &mut Criterion) {
    let model = labelcheck::config::default_model_dir();
    let mut engine = TesseractEngine::new(&model).expect("engine");
    let config = PipelineConfig::default();
    let mut group = c.benchmark_group("check");
    for (label, prefix) in [("2MP", "001_"), ("12MP", "000_")] {
        let (bytes, serial) = photo(prefix);
        let reported = parse_reported(&serial).expect("serial");
        group.bench_function(format!("decode_only/{label}"), |b| {
            b.iter(|| decode(black_box(&bytes), &DecodeLimits::default()).expect("decodes"))
        });
        group.bench_function(format!("end_to_end/{label}"), |b| {
            b.iter(|| {
                check(
                    black_box(&bytes),
                    &reported,
                    &config,
                    &mut engine,
                    &mut |_, _| {},
                )
                .expect("report")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_check
}
criterion_main!(benches);
