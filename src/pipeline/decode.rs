//! Photo bytes → upright 8-bit grayscale, bounded and exactly as OpenCV sees it.
//!
//! * JPEG: libjpeg-turbo (TurboJPEG 3) decodes straight to its luma channel (`JCS_GRAYSCALE`), which
//!   skips the chroma IDCT and upsampling entirely. That is what `cv2.imread(path,
//!   cv2.IMREAD_GRAYSCALE)` does, and the buffers are byte-identical to OpenCV's (pinned by
//!   `tests/opencv_parity.rs`). Any libjpeg warning (a truncated or damaged stream) is an error:
//!   a photo we cannot read completely is no evidence.
//! * PNG and WebP: decoded by the `image` crate, then converted with OpenCV's `COLOR_BGR2GRAY`
//!   fixed-point formula `(9798 R + 19235 G + 3735 B + 2^14) >> 15` (checked against OpenCV 5.0 on
//!   all 2^24 colours). Alpha is ignored, 16-bit samples keep their high byte, as in OpenCV.
//! * EXIF orientation (JPEG APP1, PNG `eXIf`, WebP `EXIF`) is applied after decoding.
//!
//! Limits are checked before any pixel buffer is allocated: the byte size of the input first, then
//! the dimensions the header declares, so a small file that declares huge dimensions costs nothing.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, RgbImage, metadata::Orientation};

use crate::error::{Error, Result};
use crate::photo_format::PhotoFormat;

/// Default limit on the photo's size: 32 MiB, above any phone camera's JPEG.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;
/// Default limit on decoded pixels: 50 megapixels (a 48 MP phone sensor is 8064×6048).
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
/// Progressive-JPEG scan limit, libjpeg-turbo's recommendation against scan-count bombs.
const JPEG_SCAN_LIMIT: u32 = 500;

/// Limits applied to untrusted photo bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted input, in bytes.
    pub max_input_bytes: usize,
    /// Largest accepted image, in pixels (width × height as declared by the header).
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A decoded photo: upright grayscale plus what was done to get there.
#[derive(Debug, Clone)]
pub struct DecodedPhoto {
    /// The upright 8-bit grayscale image (EXIF orientation applied).
    pub gray: GrayImage,
    /// The container format.
    pub format: PhotoFormat,
    /// The EXIF orientation tag that was applied (1 = none; 1–8 as in EXIF).
    pub exif_orientation: u8,
    /// Width × height as stored in the file, before orientation, in pixels.
    pub stored_size: (u32, u32),
}

/// Identifies the container from its magic bytes.
pub fn sniff_format(bytes: &[u8]) -> Result<PhotoFormat> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(PhotoFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PhotoFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(PhotoFormat::Webp);
    }
    let detail = match image::guess_format(bytes) {
        Ok(other) => format!("{other:?} images are not accepted"),
        Err(_) => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            format!("unrecognised data starting with {}", head.join(" "))
        }
    };
    Err(Error::UnsupportedFormat { detail })
}

/// The container format of `bytes`, once they are within `limits.max_input_bytes`.
fn admit(bytes: &[u8], limits: &DecodeLimits) -> Result<PhotoFormat> {
    if bytes.len() > limits.max_input_bytes {
        return Err(Error::InputTooLarge {
            size: bytes.len(),
            limit: limits.max_input_bytes,
        });
    }
    sniff_format(bytes)
}

/// Decodes photo bytes to an upright grayscale image within `limits`.
///
/// Errors: [`Error::EmptyInput`], [`Error::InputTooLarge`], [`Error::UnsupportedFormat`],
/// [`Error::TooManyPixels`], [`Error::CorruptImage`]. Never panics on any input.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedPhoto> {
    let format = admit(bytes, limits)?;
    let gray = match format {
        PhotoFormat::Jpeg => decode_jpeg_luma(bytes, limits)?,
        PhotoFormat::Png => decode_with_image(bytes, ImageFormat::Png, format, limits)?,
        PhotoFormat::Webp => decode_with_image(bytes, ImageFormat::WebP, format, limits)?,
    };
    let stored_size = gray.dimensions();
    let exif_orientation = exif_orientation(bytes);
    let gray = apply_orientation(gray, exif_orientation);
    Ok(DecodedPhoto {
        gray,
        format,
        exif_orientation,
        stored_size,
    })
}

fn check_pixels(width: u32, height: u32, format: PhotoFormat, limits: &DecodeLimits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::CorruptImage {
            format,
            detail: format!("header declares an empty image ({width}x{height})"),
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Error::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn jpeg_error(err: turbojpeg::Error) -> Error {
    Error::CorruptImage {
        format: PhotoFormat::Jpeg,
        detail: err.to_string(),
    }
}

/// Decodes only the luma channel of a JPEG with libjpeg-turbo (what OpenCV's IMREAD_GRAYSCALE does).
fn decode_jpeg_luma(bytes: &[u8], limits: &DecodeLimits) -> Result<GrayImage> {
    let (width, height, pixels) = decode_jpeg(bytes, limits, turbojpeg::PixelFormat::GRAY)?;
    GrayImage::from_raw(width, height, pixels).ok_or_else(|| Error::Internal {
        component: "decode",
        detail: "pixel buffer size mismatch".into(),
    })
}

/// Decodes a JPEG with libjpeg-turbo to `pixel_format` (GRAY or RGB): width, height, samples.
fn decode_jpeg(
    bytes: &[u8],
    limits: &DecodeLimits,
    pixel_format: turbojpeg::PixelFormat,
) -> Result<(u32, u32, Vec<u8>)> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(|e| Error::Internal {
        component: "libjpeg-turbo",
        detail: e.to_string(),
    })?;
    let header = decompressor.read_header(bytes).map_err(jpeg_error)?;
    let width = u32::try_from(header.width).map_err(|_| Error::CorruptImage {
        format: PhotoFormat::Jpeg,
        detail: "width out of range".into(),
    })?;
    let height = u32::try_from(header.height).map_err(|_| Error::CorruptImage {
        format: PhotoFormat::Jpeg,
        detail: "height out of range".into(),
    })?;
    check_pixels(width, height, PhotoFormat::Jpeg, limits)?;
    if matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    ) {
        return Err(Error::UnsupportedFormat {
            detail: "CMYK JPEG (print files are not phone photos)".into(),
        });
    }
    decompressor
        .set_scan_limit(JPEG_SCAN_LIMIT)
        .map_err(jpeg_error)?;
    let (w, h) = (header.width, header.height);
    let pitch = w * pixel_format.size();
    let mut pixels = vec![0u8; pitch * h];
    let output = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch,
        height: h,
        format: pixel_format,
    };
    decompressor.decompress(bytes, output).map_err(jpeg_error)?;
    Ok((width, height, pixels))
}

/// Decodes photo bytes to an upright RGB image within `limits`, EXIF orientation applied: the
/// picture people look at (annotated photos). The checks themselves read [`decode`]'s gray.
///
/// Errors: as [`decode`]. Never panics on any input.
pub fn decode_rgb(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage> {
    let format = admit(bytes, limits)?;
    let rgb = match format {
        PhotoFormat::Jpeg => {
            let (width, height, pixels) = decode_jpeg(bytes, limits, turbojpeg::PixelFormat::RGB)?;
            RgbImage::from_raw(width, height, pixels).ok_or_else(|| Error::Internal {
                component: "decode",
                detail: "pixel buffer size mismatch".into(),
            })?
        }
        PhotoFormat::Png => decode_dynamic(bytes, ImageFormat::Png, format, limits)?.into_rgb8(),
        PhotoFormat::Webp => decode_dynamic(bytes, ImageFormat::WebP, format, limits)?.into_rgb8(),
    };
    let mut image = DynamicImage::ImageRgb8(rgb);
    if let Some(orientation) = Orientation::from_exif(exif_orientation(bytes)) {
        image.apply_orientation(orientation);
    }
    Ok(image.into_rgb8())
}

/// Decodes PNG or WebP with the `image` crate and converts to gray with OpenCV's weights.
fn decode_with_image(
    bytes: &[u8],
    image_format: ImageFormat,
    format: PhotoFormat,
    limits: &DecodeLimits,
) -> Result<GrayImage> {
    Ok(to_gray_like_opencv(decode_dynamic(
        bytes,
        image_format,
        format,
        limits,
    )?))
}

/// Decodes PNG or WebP with the `image` crate within `limits`, as stored.
fn decode_dynamic(
    bytes: &[u8],
    image_format: ImageFormat,
    format: PhotoFormat,
    limits: &DecodeLimits,
) -> Result<DynamicImage> {
    let corrupt = |e: image::ImageError| Error::CorruptImage {
        format,
        detail: e.to_string(),
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_dimensions()
        .map_err(corrupt)?;
    check_pixels(width, height, format, limits)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    // RGBA with 16 bits per channel is the largest buffer a decoder may produce, plus slack.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    reader.decode().map_err(corrupt)
}

/// OpenCV `COLOR_BGR2GRAY` for 8-bit samples: `(9798 R + 19235 G + 3735 B + 16384) >> 15`.
#[inline]
pub fn opencv_gray(r: u8, g: u8, b: u8) -> u8 {
    ((9798 * u32::from(r) + 19235 * u32::from(g) + 3735 * u32::from(b) + 16384) >> 15) as u8
}

fn gray_from_rgb_chunks<const N: usize>(width: u32, height: u32, samples: &[u8]) -> GrayImage {
    let pixels: Vec<u8> = samples
        .chunks_exact(N)
        .map(|px| opencv_gray(px[0], px[1], px[2]))
        .collect();
    GrayImage::from_raw(width, height, pixels).unwrap_or_else(|| GrayImage::new(width, height))
}

fn high_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().map(|s| (s >> 8) as u8).collect()
}

/// Converts any decoded image to gray the way OpenCV's `imread(..., IMREAD_GRAYSCALE)` would for
/// a non-JPEG file decoded as colour and passed through `cvtColor(BGR2GRAY)`.
fn to_gray_like_opencv(image: DynamicImage) -> GrayImage {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(gray) => gray,
        DynamicImage::ImageLumaA8(la) => {
            let pixels = la.as_raw().chunks_exact(2).map(|px| px[0]).collect();
            GrayImage::from_raw(w, h, pixels).unwrap_or_else(|| GrayImage::new(w, h))
        }
        DynamicImage::ImageRgb8(rgb) => gray_from_rgb_chunks::<3>(w, h, rgb.as_raw()),
        DynamicImage::ImageRgba8(rgba) => gray_from_rgb_chunks::<4>(w, h, rgba.as_raw()),
        DynamicImage::ImageLuma16(l) => GrayImage::from_raw(w, h, high_bytes(l.as_raw()))
            .unwrap_or_else(|| GrayImage::new(w, h)),
        DynamicImage::ImageLumaA16(la) => {
            let pixels = la
                .as_raw()
                .chunks_exact(2)
                .map(|px| (px[0] >> 8) as u8)
                .collect();
            GrayImage::from_raw(w, h, pixels).unwrap_or_else(|| GrayImage::new(w, h))
        }
        DynamicImage::ImageRgb16(rgb) => gray_from_rgb_chunks::<3>(w, h, &high_bytes(rgb.as_raw())),
        DynamicImage::ImageRgba16(rgba) => {
            gray_from_rgb_chunks::<4>(w, h, &high_bytes(rgba.as_raw()))
        }
        other => gray_from_rgb_chunks::<3>(w, h, other.to_rgb8().as_raw()),
    }
}

/// Reads the EXIF orientation tag (1–8); 1 when absent, unreadable or out of range.
pub fn exif_orientation(bytes: &[u8]) -> u8 {
    let mut cursor = Cursor::new(bytes);
    let Ok(exif) = exif::Reader::new().read_from_container(&mut cursor) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

/// Applies an EXIF orientation (1–8) so the image is upright as the photographer saw it.
pub fn apply_orientation(gray: GrayImage, exif_orientation: u8) -> GrayImage {
    match Orientation::from_exif(exif_orientation) {
        None | Some(Orientation::NoTransforms) => gray,
        Some(orientation) => {
            let mut image = DynamicImage::ImageLuma8(gray);
            image.apply_orientation(orientation);
            image.into_luma8()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(image: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image
            .write_to(&mut out, ImageFormat::Png)
            .expect("encode png");
        out.into_inner()
    }

    #[test]
    fn opencv_gray_corner_values() {
        assert_eq!(opencv_gray(0, 0, 0), 0);
        assert_eq!(opencv_gray(255, 255, 255), 255);
        // Hand-computed: (9798*255 + 16384) >> 15 = 76.
        assert_eq!(opencv_gray(255, 0, 0), 76);
        assert_eq!(opencv_gray(0, 255, 0), 150);
        assert_eq!(opencv_gray(0, 0, 255), 29);
    }

    #[test]
    fn rgb_png_uses_opencv_weights_and_ignores_alpha() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([255, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([10, 200, 30, 128]));
        let bytes = png_bytes(&DynamicImage::ImageRgba8(rgba));
        let photo = decode(&bytes, &DecodeLimits::default()).expect("decodes");
        assert_eq!(photo.format, PhotoFormat::Png);
        assert_eq!(photo.gray.as_raw(), &vec![76, opencv_gray(10, 200, 30)]);
    }

    #[test]
    fn sixteen_bit_png_keeps_high_byte() {
        let mut l16 = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::new(2, 1);
        l16.put_pixel(0, 0, image::Luma([0x12ff]));
        l16.put_pixel(1, 0, image::Luma([0xff00]));
        let bytes = png_bytes(&DynamicImage::ImageLuma16(l16));
        let photo = decode(&bytes, &DecodeLimits::default()).expect("decodes");
        assert_eq!(photo.gray.as_raw(), &vec![0x12, 0xff]);
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        // 2x1 image [a b] rotated 90° clockwise becomes 1x2 [a; b].
        let gray = GrayImage::from_raw(2, 1, vec![1, 2]).expect("raw");
        let upright = apply_orientation(gray, 6);
        assert_eq!(upright.dimensions(), (1, 2));
        assert_eq!(upright.as_raw(), &vec![1, 2]);
        let gray = GrayImage::from_raw(2, 1, vec![1, 2]).expect("raw");
        let upright = apply_orientation(gray, 8);
        assert_eq!(upright.as_raw(), &vec![2, 1]);
        let gray = GrayImage::from_raw(2, 1, vec![1, 2]).expect("raw");
        assert_eq!(apply_orientation(gray, 3).as_raw(), &vec![2, 1]);
    }

    #[test]
    fn empty_and_unknown_bytes_are_typed_errors() {
        let limits = DecodeLimits::default();
        assert!(matches!(decode(&[], &limits), Err(Error::EmptyInput)));
        let err = decode(b"hello, this is not an image", &limits).expect_err("not an image");
        assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
        assert!(err.to_string().contains("68 65 6c 6c"), "{err}");
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        let err = decode(gif, &limits).expect_err("gif refused");
        assert!(err.to_string().contains("Gif"), "{err}");
    }

    #[test]
    fn byte_limit_is_checked_first() {
        let limits = DecodeLimits {
            max_input_bytes: 10,
            max_pixels: 100,
        };
        let err = decode(&[0u8; 11], &limits).expect_err("too large");
        assert!(matches!(
            err,
            Error::InputTooLarge {
                size: 11,
                limit: 10
            }
        ));
    }
}
