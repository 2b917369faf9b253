//! Times labelcheck's stages on photos and prints one JSON object per photo, for
//! `scripts/bench_vs_opencv.py`, which times OpenCV on the same files in the same run.
//!
//! ```text
//! cargo run --release --example timing -- [--repeat N] PHOTO...
//! ```
//! Reported per photo (medians over N runs, milliseconds): `decode_ms` (bytes → upright gray),
//! `blur_ms` (variance of the Laplacian, all rayon threads), `blur_1thread_ms`, `read_pass_ms`
//! (one plain pass summing the gray buffer's bytes) and the score itself.

use std::hint::black_box;
use std::time::Instant;

use labelcheck::pipeline::blur::laplacian_variance;
use labelcheck::pipeline::decode::{DecodeLimits, decode};

fn median_ms(repeat: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut times: Vec<f64> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut repeat = 50;
    let mut photos = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--repeat" {
            repeat = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--repeat takes a number");
        } else {
            photos.push(arg);
        }
    }
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let limits = DecodeLimits::default();
    for path in photos {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let gray = decode(&bytes, &limits)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .gray;
        let decode_ms = median_ms(repeat, || {
            black_box(decode(black_box(&bytes), &limits).ok());
        });
        let blur_ms = median_ms(repeat, || {
            black_box(laplacian_variance(black_box(&gray)));
        });
        let blur_1thread_ms = one_thread.install(|| {
            median_ms(repeat, || {
                black_box(laplacian_variance(black_box(&gray)));
            })
        });
        let read_pass_ms = median_ms(repeat, || {
            black_box(
                black_box(gray.as_raw())
                    .iter()
                    .map(|&b| u64::from(b))
                    .sum::<u64>(),
            );
        });
        let line = serde_json::json!({
            "photo": path,
            "width": gray.width(),
            "height": gray.height(),
            "decode_ms": decode_ms,
            "blur_ms": blur_ms,
            "blur_1thread_ms": blur_1thread_ms,
            "read_pass_ms": read_pass_ms,
            "laplacian_var": laplacian_variance(&gray),
            "threads": rayon::current_num_threads(),
        });
        println!("{line}");
    }
}
