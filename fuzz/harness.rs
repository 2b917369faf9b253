//! What the fuzzers share: the pipeline's bounds under fuzzing, a per-thread counting
//! allocator, the seeds made from testdata, and the stages that run before OCR.
//!
//! Included by path from the stable mutation fuzzer (`fuzz/mutate.rs`) and the coverage-guided
//! AFL++ targets (`fuzz/afl/`), so both hold inputs to the same bounds.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use labelcheck::pipeline::PipelineConfig;
use labelcheck::pipeline::barcode::find_codes;
use labelcheck::pipeline::decode::DecodeLimits;
use labelcheck::pipeline::locate::find_lines_in;

/// Longest one input may take through decode, blur, codes and lines (full check: 6×).
pub const TIME_BOUND: Duration = Duration::from_secs(10);
/// Largest decoded photo the fuzzed pipeline accepts, pixels: mutated dimension fields that
/// declare more must be refused before the pixels are allocated.
pub const MAX_PIXELS: u64 = 4_000_000;
/// Most bytes one input may hold allocated at once on its thread (24 bytes per allowed pixel:
/// the RGB decode, the gray photo, the blur's and locator's working images).
pub const ALLOCATION_BOUND: usize = 24 * MAX_PIXELS as usize;
/// Long side of the re-encoded seeds, pixels.
pub const SEED_LONG_SIDE: u32 = 640;
/// The reported serial every fuzzed check is made against.
pub const SERIAL: &str = "DS-7204HQHI-K10420231115AAWRS39003340";

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting each thread's bytes held and their peak.
pub struct Counting;

// SAFETY: forwards to the system allocator; the bookkeeping is thread-local `Cell`s with const
// initialisers, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = CURRENT.try_with(|c| {
            let now = c.get() + layout.size();
            c.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(layout.size())));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
pub static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak bytes it held at once on this thread.
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get).saturating_sub(base))
}

/// A minimal EXIF APP1 segment (little-endian TIFF, one IFD: Orientation = `orientation`).
pub fn exif_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut body = b"Exif\0\0".to_vec();
    body.extend(tiff);
    let mut out = vec![0xFF, 0xE1];
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend(body);
    out
}

/// The seeds: small re-encodings of testdata photos and two testdata files as they are.
pub fn seeds(root: &Path, long_side: u32) -> Vec<(String, Vec<u8>)> {
    let testdata = root.join("testdata");
    let pick = ["000_", "001_", "009_", "012_", "030_", "084_"];
    let mut names: Vec<String> = std::fs::read_dir(&testdata)
        .expect("testdata")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png") || n.ends_with(".webp"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for prefix in pick {
        let Some(name) = names.iter().find(|n| n.starts_with(prefix)) else {
            continue;
        };
        let bytes = std::fs::read(testdata.join(name)).expect("read seed");
        let img = image::load_from_memory(&bytes)
            .expect("seed decodes")
            .to_rgb8();
        let small = image::imageops::thumbnail(
            &img,
            long_side.min(img.width()),
            (long_side * img.height() / img.width().max(1)).min(img.height()),
        );
        for format in [
            image::ImageFormat::Jpeg,
            image::ImageFormat::Png,
            image::ImageFormat::WebP,
        ] {
            let mut encoded = std::io::Cursor::new(Vec::new());
            small.write_to(&mut encoded, format).expect("encode seed");
            let mut encoded = encoded.into_inner();
            if format == image::ImageFormat::Jpeg {
                // An EXIF orientation right after the start of image.
                let exif = exif_segment(6);
                encoded.splice(2..2, exif);
            }
            out.push((format!("{name}.{format:?}"), encoded));
        }
    }
    // The two smallest testdata files, as they are (one with a real EXIF orientation).
    let mut sized: Vec<(u64, &String)> = names
        .iter()
        .map(|n| {
            (
                std::fs::metadata(testdata.join(n)).map_or(0, |m| m.len()),
                n,
            )
        })
        .collect();
    sized.sort();
    for (_, name) in sized.iter().take(2) {
        out.push((
            (*name).clone(),
            std::fs::read(testdata.join(name)).expect("read"),
        ));
    }
    out
}

/// Decode, blur, codes and lines, as `check` runs them before OCR.
pub fn early_stages(bytes: &[u8], config: &PipelineConfig) -> Result<(), &'static str> {
    use labelcheck::pipeline::blur::{
        laplacian_variance_with, normalized_laplacian_variance, reference_downscale,
    };
    let photo =
        labelcheck::pipeline::decode::decode(bytes, &config.limits).map_err(|e| e.code())?;
    let gray = &photo.gray;
    let _ = laplacian_variance_with(gray, false);
    let _ = normalized_laplacian_variance(gray);
    let reference = reference_downscale(gray);
    let reference = reference.as_ref().unwrap_or(gray);
    let _ = find_codes(gray, reference);
    let _ = find_lines_in(gray, reference);
    Ok(())
}

/// The pipeline configuration every fuzzer runs: the default one, single-threaded, with the
/// decode limit at [`MAX_PIXELS`].
pub fn fuzz_config() -> PipelineConfig {
    PipelineConfig {
        limits: DecodeLimits {
            max_pixels: MAX_PIXELS,
            ..DecodeLimits::default()
        },
        parallel: false,
        ..PipelineConfig::default()
    }
}
