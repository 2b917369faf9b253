//! Every kind of bad photo gives its typed error, never a panic: empty, garbage, truncated,
//! unsupported, oversized, and small files that declare huge dimensions.

mod common;

use labelcheck::Error;
use labelcheck::photo_format::PhotoFormat;
use labelcheck::pipeline::decode::{DecodeLimits, decode};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// A real testdata JPEG with its frame header patched to declare `w × h` pixels.
fn jpeg_declaring(w: u16, h: u16) -> Vec<u8> {
    let mut jpeg = common::read_testdata(&common::photo_by_prefix("004_"));
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline SOF0 marker");
    // SOF0: marker(2) length(2) precision(1) height(2) width(2)
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

/// A lossless WebP whose VP8L header declares `w × h` pixels, followed by a few bytes of data.
fn webp_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut vp8l = vec![0x2f];
    vp8l.extend_from_slice(&((w - 1) | ((h - 1) << 14)).to_le_bytes());
    vp8l.extend_from_slice(&[0u8; 16]);
    let mut body = b"WEBPVP8L".to_vec();
    body.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8l);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn empty_input() {
    let err = decode(&[], &limits()).expect_err("empty");
    assert!(matches!(err, Error::EmptyInput));
    assert_eq!(err.code(), "empty_input");
}

#[test]
fn garbage_and_unsupported_formats() {
    let err = decode(b"%PDF-1.7 this is a document", &limits()).expect_err("pdf");
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
    let err = decode(b"BM\x3e\0\0\0\0\0\0\0\x3e\0\0\0\x28\0\0\0", &limits()).expect_err("bmp");
    assert!(err.to_string().contains("Bmp"), "{err}");
    // JPEG magic followed by garbage.
    let err = decode(b"\xFF\xD8\xFF\xE0garbage garbage garbage", &limits()).expect_err("bad jpeg");
    assert!(
        matches!(
            err,
            Error::CorruptImage {
                format: PhotoFormat::Jpeg,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_jpeg_png_and_webp() {
    for prefix in ["001_", "084_", "085_"] {
        let name = common::photo_by_prefix(prefix);
        let bytes = common::read_testdata(&name);
        for keep in [bytes.len() / 2, bytes.len() - 200, 300] {
            let err = decode(&bytes[..keep], &limits())
                .expect_err(&format!("{name} truncated to {keep} bytes must fail"));
            assert!(
                matches!(err, Error::CorruptImage { .. }),
                "{name} at {keep}: {err}"
            );
            assert!(err.to_string().contains("corrupt or truncated"), "{err}");
        }
    }
}

#[test]
fn input_over_the_byte_limit() {
    let bytes = common::read_testdata(&common::photo_by_prefix("000_"));
    let small = DecodeLimits {
        max_input_bytes: 100_000,
        ..limits()
    };
    let err = decode(&bytes, &small).expect_err("too large");
    assert!(
        matches!(err, Error::InputTooLarge { limit: 100_000, .. }),
        "{err}"
    );
}

#[test]
fn photo_over_the_pixel_limit() {
    let bytes = common::read_testdata(&common::photo_by_prefix("001_"));
    let one_mp = DecodeLimits {
        max_pixels: 1_000_000,
        ..limits()
    };
    let err = decode(&bytes, &one_mp).expect_err("2 MP over a 1 MP limit");
    assert!(
        matches!(
            err,
            Error::TooManyPixels {
                width: 1600,
                height: 1200,
                limit: 1_000_000
            }
        ),
        "{err}"
    );
}

#[test]
fn small_files_declaring_huge_dimensions() {
    let jpeg = jpeg_declaring(65_000, 65_000);
    let err = decode(&jpeg, &limits()).expect_err("jpeg bomb");
    assert!(
        matches!(
            err,
            Error::TooManyPixels {
                width: 65_000,
                height: 65_000,
                ..
            }
        ),
        "{err}"
    );

    let png = common::png_declaring(100_000, 100_000);
    assert!(png.len() < 100);
    let err = decode(&png, &limits()).expect_err("png bomb");
    assert!(
        matches!(err, Error::TooManyPixels { width: 100_000, .. }),
        "{err}"
    );

    let webp = webp_declaring(16_000, 16_000);
    let err = decode(&webp, &limits()).expect_err("webp bomb");
    assert!(
        matches!(err, Error::TooManyPixels { width: 16_000, .. }),
        "{err}"
    );

    let zero = common::png_declaring(0, 10);
    let err = decode(&zero, &limits()).expect_err("zero width");
    assert!(matches!(err, Error::CorruptImage { .. }), "{err}");
}

#[test]
fn cmyk_jpeg_is_refused_as_unsupported() {
    let pixels = vec![128u8; 16 * 16 * 4];
    let image = turbojpeg::Image {
        pixels: pixels.as_slice(),
        width: 16,
        pitch: 64,
        height: 16,
        format: turbojpeg::PixelFormat::CMYK,
    };
    let jpeg = turbojpeg::compress(image, 90, turbojpeg::Subsamp::None).expect("cmyk jpeg");
    let err = decode(&jpeg, &limits()).expect_err("cmyk");
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
}

#[test]
fn exif_orientation_is_applied() {
    // 012 is stored 960x1280 with orientation 6; upright it is 1280x960.
    let name = common::photo_by_prefix("012_");
    let photo = decode(&common::read_testdata(&name), &limits()).expect("decodes");
    assert_eq!(photo.exif_orientation, 6);
    assert_eq!(photo.stored_size, (960, 1280));
    assert_eq!(photo.gray.dimensions(), (1280, 960));
}

#[test]
fn every_testdata_photo_decodes() {
    let manifest = common::read_testdata("manifest.csv");
    let text = String::from_utf8(manifest).expect("utf-8 manifest");
    let mut count = 0;
    for line in text.lines().skip(1) {
        let name = line.split(',').next().expect("photo column");
        let photo = decode(&common::read_testdata(name), &limits())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            photo.gray.width() >= 960 && photo.gray.height() >= 960,
            "{name}"
        );
        count += 1;
    }
    assert!(count >= 80, "only {count} photos in the manifest");
}
