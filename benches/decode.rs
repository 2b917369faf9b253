//! Decode benchmarks: photo bytes → upright gray, on the 2 MP and 12 MP testdata photos.
//!
//! Baseline in the same run: the `image` crate's colour JPEG decode followed by a gray conversion,
//! the obvious pure-Rust route.

use std::hint::black_box;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use labelcheck::pipeline::decode::{DecodeLimits, decode};

fn bench_decode(c: &mut Criterion) {
    let limits = DecodeLimits::default();
    let mut group = c.benchmark_group("decode");
    for (label, prefix) in [("2MP", "001_"), ("12MP", "000_")] {
        let bytes = support::photo(prefix);
        group.bench_function(format!("labelcheck_luma/{label}"), |b| {
            b.iter(|| decode(black_box(&bytes), &limits).expect("decodes"))
        });
        group.bench_function(format!("image_crate_rgb_to_luma/{label}"), |b| {
            b.iter(|| {
                image::load_from_memory_with_format(black_box(&bytes), image::ImageFormat::Jpeg)
                    .expect("decodes")
                    .to_luma8()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_decode
}
criterion_main!(benches);
