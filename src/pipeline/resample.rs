//! Scaling a gray image with the `image` crate's triangle filter, pixel for pixel the same as
//! `image::imageops::resize(.., FilterType::Triangle)`, written for one 8-bit channel.
//!
//! The detector's thresholds were fitted on views scaled by that filter, and a resize that
//! differs by a few gray levels moves verdicts (`docs/decisions.md`), so this keeps its
//! arithmetic exactly: the same weights, summed in the same order in `f32`, the same rounding. The
//! crate's generic version works on four channels through per-pixel accessors; on the detector's
//! views and the recogniser's inputs it took about 6% of a check's time (`perf`, tuning photos).

use image::GrayImage;

/// Where each output pixel of one pass reads: its first input pixel and the normalised weights
/// of the input pixels from there on, as `image`'s `vertical_sample`/`horizontal_sample` compute
/// them for the triangle filter (support 1, widened by the ratio when shrinking).
fn taps(input: u32, output: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = input as f32 / output as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    (0..output)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, i64::from(input) - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, i64::from(input));
            let centre = centre - 0.5;
            let mut ws: Vec<f32> = (left..right)
                .map(|i| {
                    let x = ((i as f32 - centre) / sratio).abs();
                    if x < 1.0 { 1.0 - x } else { 0.0 }
                })
                .collect();
            let mut sum = 0.0f32;
            for w in &ws {
                sum += w;
            }
            for w in &mut ws {
                *w /= sum;
            }
            (left as usize, ws)
        })
        .collect()
}

/// The part of `gray` at `region` (left, top, width, height; photo px) scaled to `width` ×
/// `height` with the triangle filter: what `image::imageops::resize` gives on
/// `image::imageops::crop_imm(gray, ..).to_image()`. The region is clamped to the photo as
/// `crop_imm` clamps it.
pub fn scale_region(
    gray: &GrayImage,
    region: (u32, u32, u32, u32),
    width: u32,
    height: u32,
) -> GrayImage {
    let (x0, y0) = (region.0.min(gray.width()), region.1.min(gray.height()));
    let (w, h) = (
        region.2.min(gray.width() - x0),
        region.3.min(gray.height() - y0),
    );
    if w == 0 || h == 0 {
        return GrayImage::new(width, height);
    }
    let raw = gray.as_raw();
    let stride = gray.width() as usize;
    let row = |y: usize| {
        let start = (y0 as usize + y) * stride + x0 as usize;
        &raw[start..start + w as usize]
    };
    if (width, height) == (w, h) {
        let mut out = Vec::with_capacity((w * h) as usize);
        (0..h as usize).for_each(|y| out.extend_from_slice(row(y)));
        return GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h));
    }
    // Columns first, into f32, as the crate does.
    let mut columns = vec![0.0f32; w as usize * height as usize];
    for ((left, ws), out) in taps(h, height)
        .into_iter()
        .zip(columns.chunks_exact_mut(w as usize))
    {
        for (i, weight) in ws.iter().enumerate() {
            for (t, &p) in out.iter_mut().zip(row(left + i)) {
                *t += f32::from(p) * weight;
            }
        }
    }
    let across = taps(w, width);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for line in columns.chunks_exact(w as usize) {
        for (left, ws) in &across {
            let mut t = 0.0f32;
            for (&v, weight) in line[*left..].iter().zip(ws) {
                t += v * weight;
            }
            out.push(t.clamp(0.0, 255.0).round() as u8);
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
}

/// `gray` scaled to `width` × `height` with the triangle filter ([`scale_region`]).
pub fn scale(gray: &GrayImage, width: u32, height: u32) -> GrayImage {
    scale_region(gray, (0, 0, gray.width(), gray.height()), width, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{FilterType, crop_imm, resize};

    /// A reproducible image of pseudo-random gray levels with some structure, `w` × `h`.
    fn noise(w: u32, h: u32, seed: u32) -> GrayImage {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        GrayImage::from_fn(w, h, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let ramp = (x * 3 + y * 5) % 256;
            image::Luma([((state % 97) + ramp) as u8])
        })
    }

    #[test]
    fn scaling_is_pixel_for_pixel_the_image_crates_triangle_filter() {
        let sizes = [
            (1, 1),
            (2, 3),
            (7, 5),
            (31, 48),
            (160, 47),
            (333, 99),
            (1000, 47),
            (1231, 917),
        ];
        for (k, &(w, h)) in sizes.iter().enumerate() {
            let gray = noise(w, h, k as u32);
            for (nw, nh) in [
                (w, h),
                (w * 2, h),
                (w.div_ceil(3), h.div_ceil(2)),
                ((w * 6).div_ceil(5), 48),
                (32, 32),
                (w + 1, h.div_ceil(7)),
            ] {
                assert_eq!(
                    scale(&gray, nw, nh),
                    resize(&gray, nw, nh, FilterType::Triangle),
                    "{w}×{h} to {nw}×{nh}"
                );
            }
        }
    }

    #[test]
    fn a_region_scales_as_the_crop_the_image_crate_cuts() {
        let gray = noise(640, 480, 9);
        for region in [
            (0, 0, 640, 480),
            (13, 7, 301, 222),
            (600, 400, 100, 100),
            (700, 0, 10, 10),
        ] {
            let cut = crop_imm(&gray, region.0, region.1, region.2, region.3).to_image();
            for (nw, nh) in [(96, 64), (512, 384), (31, 17)] {
                assert_eq!(
                    scale_region(&gray, region, nw, nh),
                    resize(&cut, nw, nh, FilterType::Triangle),
                    "{region:?} to {nw}×{nh}"
                );
            }
        }
    }
}
