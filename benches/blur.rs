//! Blur-score benchmarks on the 2 MP and 12 MP testdata photos' gray buffers.
//!
//! Baselines in the same run: one plain read pass over the buffer (the sum of its bytes, one
//! thread), which bounds how fast any single-pass score can be, and the score on one thread; the
//! peak tile score against the whole 1280 px view's score on one thread.

use std::hint::black_box;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use labelcheck::pipeline::blur::{
    laplacian_variance, laplacian_variance_with, normalized_laplacian_variance, peak_sharpness,
    reference_downscale,
};
use labelcheck::pipeline::decode::{DecodeLimits, decode};

fn gray(prefix: &str) -> image::GrayImage {
    decode(&support::photo(prefix), &DecodeLimits::default())
        .expect("decodes")
        .gray
}

/// One pass that reads every byte once (u64 sum, auto-vectorised).
fn plain_read_pass(buf: &[u8]) -> u64 {
    buf.iter().map(|&b| u64::from(b)).sum()
}

fn bench_blur(c: &mut Criterion) {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut group = c.benchmark_group("blur");
    for (label, prefix) in [("2MP", "001_"), ("12MP", "000_")] {
        let img = gray(prefix);
        group.bench_function(format!("plain_read_pass/{label}"), |b| {
            b.iter(|| plain_read_pass(black_box(img.as_raw())))
        });
        group.bench_function(format!("laplacian_variance/{label}"), |b| {
            b.iter(|| laplacian_variance(black_box(&img)))
        });
        // The whole measurement loop runs inside the one-thread pool, so no iteration pays for a
        // hand-off between pools (on 2 cores that hand-off costs as much as the work).
        group.bench_function(format!("laplacian_variance_1thread/{label}"), |b| {
            one_thread.install(|| b.iter(|| laplacian_variance(black_box(&img))))
        });
        group.bench_function(format!("normalized/{label}"), |b| {
            b.iter(|| normalized_laplacian_variance(black_box(&img)))
        });
        // The sharpest tiles of the 1280 px view, against the whole view's score on one thread.
        let view = reference_downscale(&img).unwrap_or_else(|| img.clone());
        group.bench_function(format!("view_1thread/{label}"), |b| {
            b.iter(|| laplacian_variance_with(black_box(&view), false))
        });
        group.bench_function(format!("peak_tiles/{label}"), |b| {
            b.iter(|| peak_sharpness(black_box(&view)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench_blur
}
criterion_main!(benches);
