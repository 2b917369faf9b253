//! A small file that declares huge dimensions must be refused before any large allocation.
//!
//! This test binary installs a counting global allocator and holds a single test, so the peak it
//! measures is this test's alone.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use labelcheck::Error;
use labelcheck::pipeline::decode::{DecodeLimits, decode};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn declared_huge_dimensions_allocate_almost_nothing() {
    let png = common::png_declaring(60_000, 60_000); // 3.6 gigapixels, 10.8 GB as RGB
    // A JPEG SOF0 declaring 65000x65000, with the tables a decoder needs to read the header.
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0xFD, 0xE8, 0xFD, 0xE8, 0x01, 0x01, 0x11, 0x00,
    ]);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let png_err = decode(&png, &DecodeLimits::default()).expect_err("png refused");
    let jpeg_err = decode(&jpeg, &DecodeLimits::default()).expect_err("jpeg refused");
    let peak = PEAK.load(Ordering::SeqCst) - before;
    assert!(matches!(png_err, Error::TooManyPixels { .. }), "{png_err}");
    assert!(
        matches!(
            jpeg_err,
            Error::TooManyPixels { .. } | Error::CorruptImage { .. }
        ),
        "{jpeg_err}"
    );
    assert!(
        peak < 4 << 20,
        "peak allocation {peak} bytes while refusing declared bombs"
    );
}
