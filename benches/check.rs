//! End-to-end benchmark: photo bytes + reported serial → report, with one pair of engines on the
//! calling thread, on the 2 MP and 12 MP testdata photos. Decoding alone is measured in the same
//! run as a baseline. `barcodes` is the barcode stage alone (its share of end to end is kept
//! under 15%), and `barcodes/noise_12MP` the same stage on 12 MP of pixel noise.
//!
//! labelcheck's readers (`learned`: the learned reader reads every line, Tesseract re-reads the
//! serial value) are measured against reading everything with Tesseract and the bundled
//! labeltext model (`tesseract_only`, how labelcheck read before): `end_to_end` on each photo,
//! `no_ocr` (the same check with readers that read nothing: everything but OCR, so OCR time is
//! `end_to_end` minus `no_ocr`), and `mix`, one photo per iteration cycling through all 86
//! testdata photos (the testdata mix's mean time per photo).
//!
//! Two more figures bound what the pipeline can reach on the same photo: decoding plus finding
//! the text lines (`decode_and_locate`), and one read of the serial value alone by each engine
//! (`one_value_read`, the crop `check` reads first).

use std::hint::black_box;

#[path = "../tests/common/noise.rs"]
mod noise;
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use labelcheck::engines::{EnginePair, TesseractEngine};
use labelcheck::pipeline::barcode::find_codes;
use labelcheck::pipeline::blur::reference_downscale;
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::locate::find_lines;
use labelcheck::pipeline::ocr::{Ask, LineRead, Readers, Recognizer};
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};

/// The readers measured: labelcheck's (the learned reader, Tesseract for the second reading),
/// and a baseline that reads everything with Tesseract and the bundled labeltext model, as
/// labelcheck read before it had a learned reader.
fn engines() -> (Fresh, TesseractOnly) {
    let dir = labelcheck::config::default_model_dir();
    let model = labelcheck::model::Model::inspect(&dir).expect("the bundled models");
    (
        Fresh(EnginePair::new(&model).expect("engines")),
        TesseractOnly(model.engine().expect("engine")),
    )
}

/// labelcheck's engines, the learned reader's kept answers dropped as each photo starts (its
/// first engine call is the detector's), so that every iteration on the same photo reads its
/// lines afresh as a new photo's are read; a crop read twice within one photo is still answered
/// from the first read, as in the service.
struct Fresh(EnginePair);

impl Readers for Fresh {
    fn read(&mut self, line: &image::GrayImage, ask: Ask) -> labelcheck::error::Result<LineRead> {
        self.0.read(line, ask)
    }

    fn detect(
        &mut self,
        view: &image::GrayImage,
    ) -> labelcheck::error::Result<Option<image::GrayImage>> {
        self.0.learned.forget();
        self.0.detect(view)
    }
}

/// Every read by Tesseract: the baseline.
struct TesseractOnly(TesseractEngine);

impl Readers for TesseractOnly {
    fn read(&mut self, line: &image::GrayImage, ask: Ask) -> labelcheck::error::Result<LineRead> {
        self.0.read_line(line, ask.charset)
    }
}

/// Readers that read nothing: `check` with them is everything but OCR.
struct NoOcr;

impl Readers for NoOcr {
    fn read(&mut self, _: &image::GrayImage, _: Ask) -> labelcheck::error::Result<LineRead> {
        Ok(LineRead::default())
    }
}

fn bench_check(c: &mut Criterion) {
    let (mut learned, mut baseline) = engines();
    let config = PipelineConfig::default();
    let mut group = c.benchmark_group("check");
    for (label, prefix) in [("2MP", "001_"), ("12MP", "000_")] {
        let (bytes, serial) = (support::photo(prefix), support::manifest_row(prefix).1);
        let reported = parse_reported(&serial).expect("serial");
        group.bench_function(format!("decode_only/{label}"), |b| {
            b.iter(|| decode(black_box(&bytes), &DecodeLimits::default()).expect("decodes"))
        });
        // The barcode stage alone, on the photo and its reference view as `check` has them (the
        // view is made for the blur score anyway): its share of end to end is the figure.
        let gray = decode(&bytes, &DecodeLimits::default())
            .expect("decodes")
            .gray;
        let reference = reference_downscale(&gray);
        group.bench_function(format!("barcodes/{label}"), |b| {
            b.iter(|| find_codes(black_box(&gray), reference.as_ref().unwrap_or(&gray)))
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
            &mut learned,
            &mut |name, crop| {
                if name == "value0" {
                    value = Some(crop.clone());
                }
            },
        )
        .expect("report");
        let value = value.expect("the photo has a serial value to read");
        for (name, ask) in [("learned", Ask::VALUE), ("tesseract", Ask::SECOND_READING)] {
            group.bench_function(format!("one_value_read/{label}/{name}"), |b| {
                b.iter(|| {
                    learned.0.learned.forget();
                    learned.read(black_box(&value), ask).expect("reads")
                })
            });
        }
        for (name, engine) in [
            ("learned", &mut learned as &mut dyn Readers),
            ("tesseract_only", &mut baseline),
        ] {
            group.bench_function(format!("end_to_end/{label}/{name}"), |b| {
                b.iter(|| {
                    check(
                        black_box(&bytes),
                        &reported,
                        &config,
                        engine,
                        &mut |_, _| {},
                    )
                    .expect("report")
                })
            });
        }
        group.bench_function(format!("no_ocr/{label}"), |b| {
            b.iter(|| {
                check(
                    black_box(&bytes),
                    &reported,
                    &config,
                    &mut NoOcr,
                    &mut |_, _| {},
                )
                .expect("report")
            })
        });
    }
    group.finish();
}

/// The testdata mix on one thread: one photo per iteration, cycling through all 86, with each
/// model.
fn bench_mix(c: &mut Criterion) {
    let photos: Vec<_> = support::all_photos()
        .into_iter()
        .map(|(bytes, serial)| (bytes, parse_reported(&serial).expect("serial")))
        .collect();
    let config = PipelineConfig::default();
    let mut group = c.benchmark_group("mix");
    group.sampling_mode(criterion::SamplingMode::Flat);
    let (mut learned, mut baseline) = engines();
    for (name, engine) in [
        ("learned", &mut learned as &mut dyn Readers),
        ("tesseract_only", &mut baseline),
    ] {
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let (bytes, reported) = &photos[next % photos.len()];
                next += 1;
                check(
                    black_box(bytes),
                    reported,
                    &config,
                    &mut *engine,
                    &mut |_, _| {},
                )
                .expect("report")
            })
        });
    }
    group.finish();
}

/// The locator on 12 MP of pixel noise, the worst input for it: thousands of ink specks, each a
/// chain of its own, that the join of interleaved chains must sweep. Its first version compared
/// every pair again after each join and took 2.25 s on such noise; the sweep takes 80–88 ms.
fn bench_locate_noise(c: &mut Criterion) {
    let noise = noise::pixel_noise(4000, 3000, 0x9E37_79B9_7F4A_7C15);
    c.bench_function("locate/noise_12MP", |b| {
        b.iter(|| find_lines(black_box(&noise)))
    });
    // The barcode stage on the same noise: no code, bounded work.
    let reference = reference_downscale(&noise);
    c.bench_function("barcodes/noise_12MP", |b| {
        b.iter(|| find_codes(black_box(&noise), reference.as_ref().unwrap_or(&noise)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_check, bench_mix, bench_locate_noise
}
criterion_main!(benches);
