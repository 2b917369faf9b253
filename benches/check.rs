//! End-to-end benchmark: photo bytes + reported serial → report, with one Tesseract engine on the
//! calling thread, on the 2 MP and 12 MP testdata photos. Decoding alone is measured in the same
//! run as the baseline the target is expressed in (end to end within 3× of decode).
//!
//! Two more figures bound what any Tesseract pipeline can reach on the same photo: decoding plus
//! finding the text lines (`decode_and_locate`), and one Tesseract LSTM call on the serial value
//! alone (`one_value_read`, the crop `check` reads first). Their sum is the least work that can
//! find and read a serial once, with no other line read and no re-read.

use std::hint::black_box;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::locate::find_lines;
use labelcheck::pipeline::ocr::{Charset, Recognizer, TesseractEngine};
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

fn bench_check(c: &mut Criterion) {
    let model = labelcheck::config::default_model_dir();
    let mut engine = TesseractEngine::new(&model).expect("engine");
    let config = PipelineConfig::default();
    let mut group = c.benchmark_group("check");
    for (label, prefix) in [("2MP", "001_"), ("12MP", "000_")] {
        let (bytes, serial) = (support::photo(prefix), support::manifest_row(prefix).1);
        let reported = parse_reported(&serial).expect("serial");
        group.bench_function(format!("decode_only/{label}"), |b| {
            b.iter(|| decode(black_box(&bytes), &DecodeLimits::default()).expect("decodes"))
        });
        group.bench_function(format!("decode_and_locate/{label}"), |b| {
            b.iter(|| {
                let photo = decode(black_box(&bytes), &DecodeLimits::default()).expect("decodes");
                find_lines(&photo.gray)
            })
        });
        let mut value = None;
        check(
            &bytes,
            &reported,
            &config,
            &mut engine,
            &mut |name, crop| {
                if name == "value0" {
                    value = Some(crop.clone());
                }
            },
        )
        .expect("report");
        let value = value.expect("the photo has a serial value to read");
        group.bench_function(format!("one_value_read/{label}"), |b| {
            b.iter(|| {
                engine
                    .read_line(black_box(&value), Charset::Serial)
                    .expect("reads")
            })
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
