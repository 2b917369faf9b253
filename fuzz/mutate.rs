//! Seeded mutation fuzzing of labelcheck's untrusted-input stages, on stable Rust.
//!
//! ```text
//! cargo run --release --example fuzz_photos -- [--inputs N] [--full N] [--seed S]
//!     [--threads T] [--findings DIR] [--replay FILE...] [--write-seeds DIR LONG_SIDE]
//! ```
//! Seeds are testdata photos made small and re-encoded as JPEG (with an EXIF orientation),
//! PNG and WebP, plus two testdata files as they are. Each input is a seed with one to four
//! mutations: bit and byte flips, truncations, inserted, repeated and deleted runs, JPEG marker
//! segment lengths and frame dimensions, EXIF IFD entry counts, offsets, byte order and IFD
//! loops, PNG chunk lengths and header fields, WebP RIFF and chunk sizes and canvas dimensions.
//!
//! `--inputs` of them go through decode, blur, the code finder and the line locator; `--full` of
//! them through the whole `check` with real Tesseract (the bundled model). For each input: no
//! panic (caught and saved), no hang (a watchdog aborts the run past [`TIME_BOUND`] and names
//! the input, saved first), and a peak allocation within [`ALLOCATION_BOUND`] (a counting
//! allocator, per thread). Findings are written to `--findings` (default
//! `target/fuzz-findings/`) and the run exits 1; `--replay` runs given files the same way (the
//! committed regressions in `fuzz/regressions/`). The figures printed are the run's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use labelcheck::engines::EnginePair;
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::{PipelineConfig, check};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

#[path = "harness.rs"]
mod harness;
use harness::*;

// ---- seeds -------------------------------------------------------------------------------
// Seeds come from `harness::seeds`.

// ---- mutations ---------------------------------------------------------------------------

const INTERESTING_8: [u8; 8] = [0, 1, 0x7F, 0x80, 0xFE, 0xFF, 0x10, 0x20];
const INTERESTING_16: [u16; 8] = [0, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x0100];
const INTERESTING_32: [u32; 8] = [
    0,
    1,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x0001_0000,
    0x00FF_FFFF,
    8,
];

/// The mutation kinds, by name (the run counts inputs per kind).
const KINDS: [&str; 10] = [
    "bit_flip",
    "byte_set",
    "truncate",
    "insert_or_repeat",
    "delete",
    "jpeg_segment_length",
    "jpeg_frame_dimensions",
    "exif_ifd",
    "png_chunk",
    "webp_chunk",
];

fn pos<R: Rng>(rng: &mut R, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        rng.random_range(0..len)
    }
}

fn put_u16(data: &mut [u8], at: usize, v: u16, big_endian: bool) {
    if at + 2 <= data.len() {
        let b = if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        data[at..at + 2].copy_from_slice(&b);
    }
}

fn put_u32(data: &mut [u8], at: usize, v: u32, big_endian: bool) {
    if at + 4 <= data.len() {
        let b = if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        data[at..at + 4].copy_from_slice(&b);
    }
}

/// A 16-bit value: interesting, near `around`, or random.
fn value_16<R: Rng>(rng: &mut R, around: u16) -> u16 {
    match rng.random_range(0..3) {
        0 => *INTERESTING_16.choose(rng).unwrap_or(&0),
        1 => around.wrapping_add(rng.random_range(0..16)).wrapping_sub(8),
        _ => rng.random(),
    }
}

/// A 32-bit value: interesting, near `around`, or random.
fn value_32<R: Rng>(rng: &mut R, around: u32) -> u32 {
    match rng.random_range(0..3) {
        0 => *INTERESTING_32.choose(rng).unwrap_or(&0),
        1 => around
            .wrapping_add(rng.random_range(0..64))
            .wrapping_sub(32),
        _ => rng.random(),
    }
}

/// Offsets of JPEG markers with a length field (`FF xx`, xx not 00, D0–D9 or FF).
fn jpeg_segments(data: &[u8]) -> Vec<usize> {
    (0..data.len().saturating_sub(3))
        .filter(|&i| data[i] == 0xFF && !matches!(data[i + 1], 0x00 | 0x01 | 0xD0..=0xD9 | 0xFF))
        .collect()
}

/// Offsets of PNG chunks (their length field), walking from the signature.
fn png_chunks(data: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 8 <= data.len() && out.len() < 4096 {
        out.push(at);
        let len = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    out
}

/// Offsets of RIFF chunks (their 4-byte tag) after the `RIFF….WEBP` header.
fn webp_chunks(data: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 12;
    while at + 8 <= data.len() && out.len() < 4096 {
        out.push(at);
        let len = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
        at = at
            .saturating_add(8)
            .saturating_add(len as usize + (len as usize & 1));
    }
    out
}

/// Applies mutation `kind` to `data`.
fn mutate<R: Rng>(rng: &mut R, data: &mut Vec<u8>, kind: &str) {
    let len = data.len();
    match kind {
        "bit_flip" => {
            if len > 0 {
                let at = pos(rng, len);
                data[at] ^= 1 << rng.random_range(0..8);
            }
        }
        "byte_set" => {
            if len > 0 {
                let at = pos(rng, len);
                data[at] = *INTERESTING_8.choose(rng).unwrap_or(&0);
            }
        }
        "truncate" => data.truncate(pos(rng, len)),
        "insert_or_repeat" => {
            let at = pos(rng, len);
            let n = rng.random_range(1..64.min(len.max(2)));
            let chunk: Vec<u8> = if rng.random_bool(0.5) && at + n <= len {
                data[at..at + n].to_vec()
            } else {
                (0..n).map(|_| rng.random()).collect()
            };
            let times = if rng.random_bool(0.1) { 64 } else { 1 };
            for _ in 0..times {
                let at = pos(rng, data.len());
                data.splice(at..at, chunk.iter().copied());
            }
        }
        "delete" => {
            let at = pos(rng, len);
            let n = rng.random_range(1..256).min(len - at.min(len));
            data.drain(at..at + n);
        }
        "jpeg_segment_length" => {
            let segments = jpeg_segments(data);
            if let Some(&at) = segments.choose(rng) {
                let old = u16::from_be_bytes([data[at + 2], data[at + 3]]);
                let v = value_16(rng, old);
                put_u16(data, at + 2, v, true);
            }
        }
        "jpeg_frame_dimensions" => {
            let frames: Vec<usize> = jpeg_segments(data)
                .into_iter()
                .filter(|&i| matches!(data[i + 1], 0xC0..=0xC3 | 0xC9..=0xCB))
                .collect();
            if let Some(&at) = frames.choose(rng) {
                // Height at +5, width at +7, components at +9.
                let field = *[5usize, 7, 9].choose(rng).unwrap_or(&5);
                if field == 9 {
                    if at + 9 < data.len() {
                        data[at + 9] = *INTERESTING_8.choose(rng).unwrap_or(&0);
                    }
                } else if at + field + 2 <= data.len() {
                    let old = u16::from_be_bytes([data[at + field], data[at + field + 1]]);
                    let v = value_16(rng, old);
                    put_u16(data, at + field, v, true);
                }
            }
        }
        "exif_ifd" => {
            let Some(exif) = data.windows(6).position(|w| w == b"Exif\0\0") else {
                return;
            };
            let tiff = exif + 6;
            if tiff + 8 > data.len() {
                return;
            }
            let le = data[tiff] == b'I';
            let ifd = tiff + 8;
            match rng.random_range(0..5) {
                // Byte order flipped.
                0 => {
                    let order = if le { b"MM" } else { b"II" };
                    data[tiff..tiff + 2].copy_from_slice(order);
                }
                // The entry count.
                1 => {
                    let v = value_16(rng, 1);
                    put_u16(data, ifd, v, !le);
                }
                // An entry's type, count or value offset.
                2 => {
                    let field = ifd + 2 + *[2usize, 4, 8].choose(rng).unwrap_or(&4);
                    let v = value_32(rng, 1);
                    if field == ifd + 4 {
                        put_u16(data, field, v as u16, !le);
                    } else {
                        put_u32(data, field, v, !le);
                    }
                }
                // The next-IFD offset pointing back at this IFD: a loop.
                3 => put_u32(data, ifd + 2 + 12, 8, !le),
                // The first IFD's offset.
                _ => {
                    let v = value_32(rng, 8);
                    put_u32(data, tiff + 4, v, !le);
                }
            }
        }
        "png_chunk" => {
            let chunks = png_chunks(data);
            if let Some(&at) = chunks.choose(rng) {
                let is_ihdr = data.get(at + 4..at + 8) == Some(b"IHDR");
                if is_ihdr && rng.random_bool(0.6) {
                    // Width, height, bit depth, colour type, interlace.
                    match rng.random_range(0..4) {
                        0 | 1 => {
                            let field = at + 8 + 4 * rng.random_range(0..2);
                            let v = value_32(rng, 640);
                            put_u32(data, field, v, true);
                        }
                        2 => {
                            if at + 16 < data.len() {
                                data[at + 16] =
                                    *[0u8, 1, 2, 4, 8, 16, 32].choose(rng).unwrap_or(&8);
                            }
                        }
                        _ => {
                            if at + 20 < data.len() {
                                data[at + 17 + rng.random_range(0..4)] = rng.random();
                            }
                        }
                    }
                } else {
                    let old =
                        u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
                    let v = value_32(rng, old);
                    put_u32(data, at, v, true);
                }
            }
        }
        "webp_chunk" => {
            if len < 12 {
                return;
            }
            let chunks = webp_chunks(data);
            match rng.random_range(0..3) {
                0 => {
                    let old = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
                    let v = value_32(rng, old);
                    put_u32(data, 4, v, false);
                }
                1 => {
                    if let Some(&at) = chunks.choose(rng) {
                        let old = u32::from_le_bytes([
                            data[at + 4],
                            data[at + 5],
                            data[at + 6],
                            data[at + 7],
                        ]);
                        let v = value_32(rng, old);
                        put_u32(data, at + 4, v, false);
                    }
                }
                _ => {
                    // Dimensions: VP8X canvas (24-bit at +12 and +15), VP8L (14-bit packed
                    // after the signature byte at +9), VP8 (16-bit at +14 and +16).
                    if let Some(&at) = chunks.choose(rng) {
                        let field = match data.get(at..at + 4) {
                            Some(b"VP8X") => at + 12 + 3 * rng.random_range(0..2),
                            Some(b"VP8L") => at + 9,
                            _ => at + 14 + 2 * rng.random_range(0..2),
                        };
                        let v = value_32(rng, 640);
                        if field + 3 <= data.len() {
                            data[field..field + 3].copy_from_slice(&v.to_le_bytes()[..3]);
                        }
                    }
                }
            }
        }
        _ => unreachable!("unknown mutation {kind}"),
    }
}

// ---- running -----------------------------------------------------------------------------

/// One input's outcome.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Read through every stage.
    Read,
    /// Refused with this error code.
    Refused(&'static str),
    /// Panicked: a finding.
    Panicked(String),
    /// Held more than [`ALLOCATION_BOUND`] at once: a finding.
    OverAllocated(usize),
}

/// Runs one input through the early stages, or the whole check with `engine`: its outcome and
/// the peak bytes it held at once on this thread.
fn run_one(
    bytes: &[u8],
    config: &PipelineConfig,
    engine: Option<&mut EnginePair>,
) -> (Outcome, usize) {
    let reported = parse_reported(SERIAL).expect("serial");
    let (result, peak) = peak_of(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match engine {
            None => early_stages(bytes, config),
            Some(engine) => check(bytes, &reported, config, engine, &mut |_, _| {})
                .map(|_| ())
                .map_err(|e| e.code()),
        }))
    });
    let outcome = match result {
        Err(panic) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
        Ok(_) if peak > ALLOCATION_BOUND => Outcome::OverAllocated(peak),
        Ok(Ok(())) => Outcome::Read,
        Ok(Err(code)) => Outcome::Refused(code),
    };
    (outcome, peak)
}

/// One input in progress: when it started, its bytes and its time bound.
struct InProgress {
    started: Instant,
    bytes: Vec<u8>,
    bound: Duration,
}

/// What each worker thread is running (for the watchdog).
struct Running {
    slots: Vec<Mutex<Option<InProgress>>>,
}

struct Args {
    inputs: u64,
    full: u64,
    seed: u64,
    threads: usize,
    findings: PathBuf,
    replay: Vec<PathBuf>,
    /// Write the seeds, re-encoded at this long side, to this folder and stop (the AFL++ corpus).
    write_seeds: Option<(PathBuf, u32)>,
}

fn parse_args(root: &Path) -> Args {
    let mut args = Args {
        inputs: 10_000,
        full: 100,
        seed: 1,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        findings: root.join("target/fuzz-findings"),
        replay: Vec::new(),
        write_seeds: None,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> u64 {
        v.and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{what} takes a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--inputs" => args.inputs = number(it.next(), "--inputs"),
            "--full" => args.full = number(it.next(), "--full"),
            "--seed" => args.seed = number(it.next(), "--seed"),
            "--threads" => args.threads = number(it.next(), "--threads") as usize,
            "--findings" => args.findings = PathBuf::from(it.next().expect("--findings DIR")),
            "--replay" => args.replay.extend(it.by_ref().map(PathBuf::from)),
            "--write-seeds" => {
                let dir = PathBuf::from(it.next().expect("--write-seeds DIR LONG_SIDE"));
                let side = number(it.next(), "--write-seeds DIR LONG_SIDE") as u32;
                args.write_seeds = Some((dir, side));
            }
            other => panic!("unknown argument {other}; see fuzz/mutate.rs"),
        }
    }
    args
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = parse_args(root);
    let config = fuzz_config();
    let model_dir = root.join("models");

    if !args.replay.is_empty() {
        let mut engine = EnginePair::open(&model_dir).expect("bundled models load");
        let mut bad = 0;
        for path in &args.replay {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let started = Instant::now();
            let (early, _) = run_one(&bytes, &config, None);
            let (full, _) = run_one(&bytes, &config, Some(&mut engine));
            let took = started.elapsed();
            let ok = |o: &Outcome| matches!(o, Outcome::Read | Outcome::Refused(_));
            let fine = ok(&early) && ok(&full) && took < 2 * TIME_BOUND;
            bad += usize::from(!fine);
            println!(
                "{}: early stages {early:?}, check {full:?}, {:.0} ms{}",
                path.display(),
                took.as_secs_f64() * 1e3,
                if fine { "" } else { "  <- FINDING" }
            );
        }
        std::process::exit(i32::from(bad > 0));
    }

    if let Some((dir, side)) = &args.write_seeds {
        std::fs::create_dir_all(dir).expect("seed folder");
        for (i, (name, bytes)) in seeds(root, *side).iter().enumerate() {
            std::fs::write(dir.join(format!("{i:02}-{name}")), bytes).expect("write seed");
        }
        return;
    }
    let seeds = seeds(root, SEED_LONG_SIDE);
    assert!(!seeds.is_empty(), "no seeds");
    let running = std::sync::Arc::new(Running {
        slots: (0..args.threads).map(|_| Mutex::new(None)).collect(),
    });
    // The watchdog: an input past its bound is saved, named, and the run aborts (a thread
    // cannot be stopped from outside).
    {
        let running = running.clone();
        let findings = args.findings.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                for slot in &running.slots {
                    let slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(InProgress {
                        started,
                        bytes,
                        bound,
                    }) = slot.as_ref()
                        && started.elapsed() > *bound
                    {
                        let _ = std::fs::create_dir_all(&findings);
                        let path = findings.join(format!("hang-{:016x}.bin", fxhash(bytes)));
                        let _ = std::fs::write(&path, bytes);
                        eprintln!(
                            "FINDING: an input ran past {bound:?}; saved to {}",
                            path.display()
                        );
                        std::process::exit(2);
                    }
                }
            }
        });
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .expect("pool");
    let total = args.inputs + args.full;
    let outcomes: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let per_kind: Vec<AtomicU64> = KINDS.iter().map(|_| AtomicU64::new(0)).collect();
    let findings = AtomicUsize::new(0);
    let slowest_us = AtomicU64::new(0);
    let largest_peak = AtomicUsize::new(0);
    let started = Instant::now();
    pool.install(|| {
        (0..total).into_par_iter().for_each_init(
            || None::<EnginePair>,
            |engine, i| {
                let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ i.wrapping_mul(0x9E37_79B9));
                let (_, seed) = seeds.choose(&mut rng).expect("seed");
                let mut data = seed.clone();
                for _ in 0..rng.random_range(1..=4) {
                    let k = rng.random_range(0..KINDS.len());
                    per_kind[k].fetch_add(1, Ordering::Relaxed);
                    mutate(&mut rng, &mut data, KINDS[k]);
                }
                let full = i >= args.inputs;
                let thread = rayon::current_thread_index().unwrap_or(0);
                let bound = if full { 6 * TIME_BOUND } else { TIME_BOUND };
                *running.slots[thread]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(InProgress {
                    started: Instant::now(),
                    bytes: data.clone(),
                    bound,
                });
                let t = Instant::now();
                let (outcome, peak) = if full {
                    let engine = engine.get_or_insert_with(|| {
                        EnginePair::open(&model_dir).expect("bundled models load")
                    });
                    run_one(&data, &config, Some(engine))
                } else {
                    run_one(&data, &config, None)
                };
                slowest_us.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                largest_peak.fetch_max(peak, Ordering::Relaxed);
                *running.slots[thread]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
                let key = match &outcome {
                    Outcome::Read => "read".to_string(),
                    Outcome::Refused(code) => format!("refused: {code}"),
                    Outcome::Panicked(_) => "PANIC".to_string(),
                    Outcome::OverAllocated(_) => "OVER ALLOCATION".to_string(),
                };
                if matches!(outcome, Outcome::Panicked(_) | Outcome::OverAllocated(_)) {
                    findings.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::create_dir_all(&args.findings);
                    let path = args.findings.join(format!(
                        "{}-{:016x}.bin",
                        key.replace(' ', "_"),
                        fxhash(&data)
                    ));
                    let _ = std::fs::write(&path, &data);
                    eprintln!("FINDING: {outcome:?}; saved to {}", path.display());
                }
                *outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(format!("{} {key}", if full { "check" } else { "early" }))
                    .or_default() += 1;
            },
        );
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz_photos: seed {}, {} seeds, {} inputs through decode+blur+codes+lines and {} through the full check, {} threads, {:.1} s ({:.0} inputs/s)",
        args.seed,
        seeds.len(),
        args.inputs,
        args.full,
        args.threads,
        secs,
        total as f64 / secs
    );
    for (kind, n) in KINDS.iter().zip(&per_kind) {
        println!("  mutation {kind}: {}", n.load(Ordering::Relaxed));
    }
    for (outcome, n) in outcomes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  {outcome}: {n}");
    }
    println!(
        "  slowest input {:.0} ms (bound {:?}); largest peak allocation {:.1} MiB (bound {:.0} MiB)",
        slowest_us.load(Ordering::Relaxed) as f64 / 1e3,
        TIME_BOUND,
        largest_peak.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
        ALLOCATION_BOUND as f64 / (1 << 20) as f64
    );
    let found = findings.load(Ordering::Relaxed);
    println!("  findings: {found}");
    std::process::exit(i32::from(found > 0));
}

/// A 64-bit FNV-1a hash, to name saved inputs.
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
