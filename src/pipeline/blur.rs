//! Sharpness as the variance of the Laplacian, bit-for-bit what OpenCV computes.
//!
//! [`laplacian_variance`] equals `cv2.Laplacian(gray, cv2.CV_64F).var()`: the 3×3 kernel
//! `[0 1 0; 1 −4 1; 0 1 0]` (OpenCV's `ksize=1`), `BORDER_REFLECT_101` at the edges (the pixel
//! outside index 0 is index 1), and the population variance (divide by N). Unlike OpenCV it makes
//! no float image: one fused pass computes each Laplacian value as a small integer and adds it and
//! its square to exact integer accumulators, so the result carries a single rounding, at the final
//! division, and agrees with NumPy's float64 computation to about 1e-15 relative. Rows are split
//! across the current rayon pool; the row kernel is compiled twice, for baseline x86-64 and for
//! AVX2, and the AVX2 copy is chosen at run time when the CPU has it.
//!
//! [`normalized_laplacian_variance`] makes scores comparable across phone resolutions: the photo is
//! first area-averaged (box filter) down to [`NORMALIZED_LONG_SIDE`] pixels on its long side, then
//! scored. The Laplacian responds to detail per pixel, so the same scene shot at 12 MP scores far
//! lower than at 2 MP (each edge is spread over more pixels); at a fixed reference resolution both
//! give nearly the same score (`tests/blur_normalized.rs` measures it on the same scene rendered
//! at several resolutions). Photos already smaller than the reference are scored as they are.
//!
//! [`peak_sharpness`] scores the sharpest part of that view rather than its mean: a sharp photo
//! of plain housing with a corner of label in it is low on the mean and high there.

use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images};
use image::GrayImage;
use rayon::prelude::*;

/// Long side, in pixels, of the reference resolution used by [`normalized_laplacian_variance`].
pub const NORMALIZED_LONG_SIDE: u32 = 1280;

/// Rows per rayon task: large enough that scheduling is noise, small enough to balance 2–64 cores.
const ROWS_PER_TASK: usize = 32;
/// Pixels per inner block: the block's sum of squares (≤ 1024 × 1020²) fits an `i32`.
const BLOCK: usize = 1024;

/// Exact first and second moments of the Laplacian over an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaplacianMoments {
    /// Σ L over all pixels.
    pub sum: i64,
    /// Σ L² over all pixels.
    pub sum_sq: u64,
    /// Number of pixels.
    pub count: u64,
}

impl LaplacianMoments {
    fn merge(self, other: Self) -> Self {
        Self {
            sum: self.sum + other.sum,
            sum_sq: self.sum_sq + other.sum_sq,
            count: self.count + other.count,
        }
    }

    /// Population variance `(N·ΣL² − (ΣL)²) / N²`, computed exactly in integers and rounded once.
    /// Zero for an empty image.
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let n = i128::from(self.count);
        let numerator = n * i128::from(self.sum_sq) - i128::from(self.sum) * i128::from(self.sum);
        // N ≤ 2^32 so N² is exact in f64 only up to 2^53; divide twice to stay exact-ish beyond.
        (numerator as f64 / self.count as f64) / self.count as f64
    }
}

/// `BORDER_REFLECT_101` index for `i` in `-1..=len` (OpenCV's `borderInterpolate`).
#[inline]
fn reflect101(i: isize, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    if i < 0 {
        (-i) as usize
    } else if i as usize >= len {
        2 * len - 2 - i as usize
    } else {
        i as usize
    }
}

#[inline(always)]
fn lap(up: u8, down: u8, left: u8, right: u8, centre: u8) -> i32 {
    i32::from(up) + i32::from(down) + i32::from(left) + i32::from(right) - 4 * i32::from(centre)
}

/// Σ L and Σ L² over the interior pixels `1..w-1` of one row; written so LLVM vectorises it.
#[inline(always)]
fn interior_moments(up: &[u8], row: &[u8], down: &[u8]) -> (i64, u64) {
    let w = row.len();
    if w < 3 {
        return (0, 0);
    }
    let n = w - 2;
    let (u, d, c) = (&up[1..w - 1], &down[1..w - 1], &row[1..w - 1]);
    let (l, r) = (&row[..n], &row[2..]);
    let mut sum = 0i64;
    let mut sum_sq = 0u64;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let (u, d, c, l, r) = (
            &u[start..end],
            &d[start..end],
            &c[start..end],
            &l[start..end],
            &r[start..end],
        );
        let mut block_sum = 0i32;
        let mut block_sq = 0i32;
        for i in 0..u.len() {
            // Each value is in [-1020, 1020]; i16 arithmetic lets LLVM use pmaddwd for the square.
            let v = i16::from(u[i]) + i16::from(d[i]) + i16::from(l[i]) + i16::from(r[i])
                - 4 * i16::from(c[i]);
            block_sum += i32::from(v);
            block_sq += i32::from(v) * i32::from(v);
        }
        sum += i64::from(block_sum);
        sum_sq += block_sq as u64;
        start = end;
    }
    (sum, sum_sq)
}

#[inline(always)]
fn row_moments_generic(up: &[u8], row: &[u8], down: &[u8]) -> (i64, u64) {
    let w = row.len();
    let (mut sum, mut sum_sq) = interior_moments(up, row, down);
    // The first and last columns reflect (index -1 → 1, index w → w−2).
    let mut edge = |x: usize| {
        let left = row[reflect101(x as isize - 1, w)];
        let right = row[reflect101(x as isize + 1, w)];
        let v = lap(up[x], down[x], left, right, row[x]);
        sum += i64::from(v);
        sum_sq += (v * v) as u64;
    };
    edge(0);
    if w > 1 {
        edge(w - 1);
    }
    (sum, sum_sq)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row_moments_avx2(up: &[u8], row: &[u8], down: &[u8]) -> (i64, u64) {
    row_moments_generic(up, row, down)
}

fn row_moments(up: &[u8], row: &[u8], down: &[u8], avx2: bool) -> (i64, u64) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when `is_x86_feature_detected!("avx2")` said so.
        return unsafe { row_moments_avx2(up, row, down) };
    }
    let _ = avx2;
    row_moments_generic(up, row, down)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Exact Laplacian moments of a row-major 8-bit image of `width × height` pixels, with bands of
/// rows spread over the current rayon pool when `parallel` (the result is the same either way).
///
/// Pass `parallel = false` inside work that is already one photo per rayon worker (the server and
/// batch pools): a worker waiting on a parallel split may steal another photo's job, and that job
/// would need the OCR engine the waiting worker is holding.
pub fn laplacian_moments(
    pixels: &[u8],
    width: usize,
    height: usize,
    parallel: bool,
) -> LaplacianMoments {
    if width == 0 || height == 0 || pixels.len() < width * height {
        return LaplacianMoments::default();
    }
    let avx2 = has_avx2();
    let row = |y: usize| &pixels[y * width..(y + 1) * width];
    let band = |y0: usize| {
        let mut acc = LaplacianMoments::default();
        for y in y0..(y0 + ROWS_PER_TASK).min(height) {
            let up = row(reflect101(y as isize - 1, height));
            let down = row(reflect101(y as isize + 1, height));
            let (sum, sum_sq) = row_moments(up, row(y), down, avx2);
            acc = acc.merge(LaplacianMoments {
                sum,
                sum_sq,
                count: width as u64,
            });
        }
        acc
    };
    if !parallel || height <= ROWS_PER_TASK {
        return (0..height)
            .step_by(ROWS_PER_TASK)
            .map(band)
            .fold(LaplacianMoments::default(), LaplacianMoments::merge);
    }
    (0..height)
        .into_par_iter()
        .step_by(ROWS_PER_TASK)
        .map(band)
        .reduce(LaplacianMoments::default, LaplacianMoments::merge)
}

/// Variance of the Laplacian of `gray`, equal to `cv2.Laplacian(gray, cv2.CV_64F).var()`, using
/// every thread of the current rayon pool.
///
/// Units: squared gray levels. Range 0 (flat) to about 1e6 (a checkerboard of 0 and 255).
pub fn laplacian_variance(gray: &GrayImage) -> f64 {
    laplacian_variance_with(gray, true)
}

/// [`laplacian_variance`] on one thread when `parallel` is false (see [`laplacian_moments`]).
pub fn laplacian_variance_with(gray: &GrayImage, parallel: bool) -> f64 {
    let (w, h) = gray.dimensions();
    laplacian_moments(gray.as_raw(), w as usize, h as usize, parallel).variance()
}

/// Size of `(width, height)` scaled so the long side is at most `long_side`, keeping the aspect.
pub fn fit_long_side(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_side || long == 0 {
        return (width, height);
    }
    let scale = f64::from(long_side) / f64::from(long);
    let scaled = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (scaled(width), scaled(height))
}

/// Area-averages `gray` down so its long side is at most `long_side` pixels (box filter).
/// Returns `None` when no resize is needed.
pub fn downscale_box(gray: &GrayImage, long_side: u32) -> Option<GrayImage> {
    let (w, h) = gray.dimensions();
    let (dw, dh) = fit_long_side(w, h, long_side);
    if (dw, dh) == (w, h) {
        return None;
    }
    let src = images::ImageRef::new(w, h, gray.as_raw(), PixelType::U8).ok()?;
    let mut dst = images::Image::new(dw, dh, PixelType::U8);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
    Resizer::new().resize(&src, &mut dst, &options).ok()?;
    GrayImage::from_raw(dw, dh, dst.into_vec())
}

/// The photo at the reference resolution: area-averaged to a [`NORMALIZED_LONG_SIDE`] px long
/// side, or `None` when it is already that small (then the photo itself is the reference view).
/// The normalised blur score and the text-line locator both work on this view.
pub fn reference_downscale(gray: &GrayImage) -> Option<GrayImage> {
    downscale_box(gray, NORMALIZED_LONG_SIDE)
}

/// Long side of the coarse view, px: the reference view area-averaged 8×.
pub const COARSE_LONG_SIDE: u32 = 160;

/// Laplacian variance of `reference` (the [`reference_downscale`] view) area-averaged to a
/// [`COARSE_LONG_SIDE`] px long side. Sensor grain averages out there while a sharp label's
/// edges, bars and blocks of print still step from one pixel to the next; a photo blurred beyond
/// reading scores low even when its grain scores it sharp at the reference resolution. Units:
/// squared gray levels.
pub fn coarse_laplacian_variance(reference: &GrayImage) -> f64 {
    let coarse = downscale_box(reference, COARSE_LONG_SIDE);
    // One thread: a few thousand pixels, inside a photo's own pool job.
    laplacian_variance_with(coarse.as_ref().unwrap_or(reference), false)
}

/// Side of the square tiles of [`peak_sharpness`], px of the reference view.
pub const PEAK_TILE: usize = 64;

/// Which tile [`peak_sharpness`] reports, counted from the sharpest (1 is the sharpest): the
/// third, so that a speck of glare or grit in one or two tiles does not make a blurred photo
/// sharp.
pub const PEAK_RANK: usize = 3;

/// Sharpness of the sharpest part of `reference` (the [`reference_downscale`] view): each
/// [`PEAK_TILE`] × [`PEAK_TILE`] tile is scored by the least of the variances of its second
/// difference along the rows, the columns and the two diagonals, and the [`PEAK_RANK`]-th best
/// tile's score is returned. Sharp print is sharp every way; defocus leaves no direction sharp,
/// and motion leaves the edges across its path but not along it. The whole photo's Laplacian
/// variance is a mean over every pixel: a sharp photo of mostly flat housing with a corner of
/// label in it scores as low as a blurred one, while its label's tiles score as any sharp print.
/// Units: squared gray levels. Tiles that would run past the view's right or bottom edge are
/// left out (a view smaller than one tile is one tile), and so are the view's outermost rows and
/// columns.
///
/// One pass in integers over the view, not `sharpness`'s float second differences on each tile
/// cut out: 0.68 ms against 8.2 ms for a 1280 × 960 view of testdata's `001`, one thread.
pub fn peak_sharpness(reference: &GrayImage) -> f64 {
    let (w, h) = (reference.width() as usize, reference.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = reference.as_raw();
    let row = |y: usize| &px[y * w..(y + 1) * w];
    let (tw, th) = (PEAK_TILE.min(w), PEAK_TILE.min(h));
    let (cols, rows) = (w / tw, h / th);
    let avx2 = has_avx2();
    let mut tiles = Vec::with_capacity(cols * rows);
    for ty in 0..rows {
        let mut acc = vec![[LaplacianMoments::default(); 4]; cols];
        for y in (ty * th).max(1)..((ty + 1) * th).min(h - 1) {
            let (up, mid, down) = (row(y - 1), row(y), row(y + 1));
            for (tx, tile) in acc.iter_mut().enumerate() {
                // The tile's columns with one neighbour each side, so its interior is the tile.
                let a = (tx * tw).saturating_sub(1);
                let b = ((tx + 1) * tw + 1).min(w);
                let moments = directional_moments(&up[a..b], &mid[a..b], &down[a..b], avx2);
                for (m, (sum, sum_sq)) in tile.iter_mut().zip(moments) {
                    *m = m.merge(LaplacianMoments {
                        sum,
                        sum_sq,
                        count: (b - a - 2) as u64,
                    });
                }
            }
        }
        tiles.extend(acc.iter().map(|tile| {
            tile.iter()
                .map(LaplacianMoments::variance)
                .fold(f64::INFINITY, f64::min)
        }));
    }
    tiles.sort_by(|a, b| b.total_cmp(a));
    tiles
        .get(PEAK_RANK - 1)
        .or(tiles.last())
        .copied()
        .unwrap_or(0.0)
}

/// Σ d and Σ d² of the second difference `d` along the row, the column and the two diagonals
/// over the interior pixels `1..w-1` of one row of at most [`PEAK_TILE`] + 2 pixels (the sums
/// of squares fit an `i32` there), with the AVX2 copy chosen when `avx2`.
fn directional_moments(up: &[u8], row: &[u8], down: &[u8], avx2: bool) -> [(i64, u64); 4] {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when `is_x86_feature_detected!("avx2")` said so.
        return unsafe { directional_moments_avx2(up, row, down) };
    }
    let _ = avx2;
    directional_moments_generic(up, row, down)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn directional_moments_avx2(up: &[u8], row: &[u8], down: &[u8]) -> [(i64, u64); 4] {
    directional_moments_generic(up, row, down)
}

#[inline(always)]
fn directional_moments_generic(up: &[u8], row: &[u8], down: &[u8]) -> [(i64, u64); 4] {
    let w = row.len();
    if w < 3 {
        return [(0, 0); 4];
    }
    let n = w - 2;
    let (ul, u, ur) = (&up[..n], &up[1..=n], &up[2..]);
    let (l, c, r) = (&row[..n], &row[1..=n], &row[2..]);
    let (dl, d, dr) = (&down[..n], &down[1..=n], &down[2..]);
    let mut sums = [0i32; 4];
    let mut squares = [0i32; 4];
    for i in 0..n {
        let twice = 2 * i16::from(c[i]);
        let v = [
            i16::from(l[i]) + i16::from(r[i]) - twice,
            i16::from(u[i]) + i16::from(d[i]) - twice,
            i16::from(ul[i]) + i16::from(dr[i]) - twice,
            i16::from(ur[i]) + i16::from(dl[i]) - twice,
        ];
        for k in 0..4 {
            sums[k] += i32::from(v[k]);
            squares[k] += i32::from(v[k]) * i32::from(v[k]);
        }
    }
    std::array::from_fn(|k| (i64::from(sums[k]), squares[k] as u64))
}

/// Laplacian variance at the reference resolution ([`NORMALIZED_LONG_SIDE`] px long side), so
/// photos of the same scene from different phones score alike. Units: squared gray levels.
pub fn normalized_laplacian_variance(gray: &GrayImage) -> f64 {
    laplacian_variance(reference_downscale(gray).as_ref().unwrap_or(gray))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, px: &[u8]) -> GrayImage {
        GrayImage::from_raw(w, h, px.to_vec()).expect("buffer matches size")
    }

    /// Straightforward reference: build the float Laplacian image, then a two-pass variance.
    fn reference(gray: &GrayImage) -> f64 {
        let (w, h) = (gray.width() as isize, gray.height() as isize);
        let at = |x: isize, y: isize| {
            f64::from(
                gray.get_pixel(
                    reflect101(x, w as usize) as u32,
                    reflect101(y, h as usize) as u32,
                )[0],
            )
        };
        let mut values = Vec::new();
        for y in 0..h {
            for x in 0..w {
                values.push(
                    at(x, y - 1) + at(x, y + 1) + at(x - 1, y) + at(x + 1, y) - 4.0 * at(x, y),
                );
            }
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
    }

    #[test]
    fn flat_image_scores_zero() {
        assert_eq!(laplacian_variance(&img(4, 3, &[7; 12])), 0.0);
    }

    #[test]
    fn single_bright_pixel_by_hand() {
        // 3x3, centre 10, rest 0. Reflect-101 mirrors the centre into the border, so each edge
        // middle sees it twice: L = +20 there, −40 at the centre, 0 at the corners.
        // ΣL = 40, ΣL² = 1600 + 4·400 = 3200; variance = 3200/9 − (40/9)² = 27200/81.
        let gray = img(3, 3, &[0, 0, 0, 0, 10, 0, 0, 0, 0]);
        let var = laplacian_variance(&gray);
        assert!((var - 27200.0 / 81.0).abs() < 1e-12, "{var}");
        assert_eq!(var, reference(&gray));
    }

    #[test]
    fn reflect101_edges_by_hand() {
        // 1 row [0, 10]: reflect-101 makes x=-1 → x=1 and x=2 → x=0; rows y=-1,1 → y=0.
        // L(0) = 0+0 + 10+10 − 0 = 20; L(1) = 10+10 + 0+0 − 40 = −20. Mean 0, variance 400.
        assert_eq!(laplacian_variance(&img(2, 1, &[0, 10])), 400.0);
        // A single pixel: every neighbour is itself, L = 0.
        assert_eq!(laplacian_variance(&img(1, 1, &[200])), 0.0);
        // One column behaves like one row turned.
        assert_eq!(laplacian_variance(&img(1, 2, &[0, 10])), 400.0);
    }

    #[test]
    fn checkerboard_extreme_values() {
        // 0/255 checkerboard: interior L = ±1020, well inside every accumulator.
        let w = 2051usize; // odd, longer than one block
        let h = 5usize;
        let px: Vec<u8> = (0..w * h)
            .map(|i| {
                if (i % w + i / w).is_multiple_of(2) {
                    0
                } else {
                    255
                }
            })
            .collect();
        let gray = img(w as u32, h as u32, &px);
        let ours = laplacian_variance(&gray);
        let theirs = reference(&gray);
        assert!(
            ((ours - theirs) / theirs).abs() < 1e-12,
            "{ours} vs {theirs}"
        );
    }

    #[test]
    fn matches_reference_on_pseudorandom_images() {
        let mut state = 0x2545F4914F6CDD1Du64;
        for (w, h) in [
            (1, 1),
            (1, 7),
            (7, 1),
            (2, 2),
            (3, 5),
            (37, 41),
            (1030, 3),
            (70, 70),
        ] {
            let px: Vec<u8> = (0..w * h)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 56) as u8
                })
                .collect();
            let gray = img(w as u32, h as u32, &px);
            let (ours, theirs) = (laplacian_variance(&gray), reference(&gray));
            let tolerance = 1e-12 * theirs.abs().max(1.0);
            assert!(
                (ours - theirs).abs() <= tolerance,
                "{w}x{h}: {ours} vs {theirs}"
            );
        }
    }

    /// Straightforward peak: every tile's second differences along the four directions (the
    /// view's outermost rows and columns left out), the least of their variances, the
    /// [`PEAK_RANK`]-th largest.
    fn reference_peak(gray: &GrayImage) -> f64 {
        let (w, h) = (gray.width() as usize, gray.height() as usize);
        let at = |x: usize, y: usize| f64::from(gray.get_pixel(x as u32, y as u32)[0]);
        let (tw, th) = (PEAK_TILE.min(w), PEAK_TILE.min(h));
        let variance = |values: &[f64]| {
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
        };
        let mut tiles = Vec::new();
        for ty in 0..h / th {
            for tx in 0..w / tw {
                let mut values = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
                for y in (ty * th).max(1)..((ty + 1) * th).min(h - 1) {
                    for x in (tx * tw).max(1)..((tx + 1) * tw).min(w - 1) {
                        let c = 2.0 * at(x, y);
                        values[0].push(at(x - 1, y) + at(x + 1, y) - c);
                        values[1].push(at(x, y - 1) + at(x, y + 1) - c);
                        values[2].push(at(x - 1, y - 1) + at(x + 1, y + 1) - c);
                        values[3].push(at(x + 1, y - 1) + at(x - 1, y + 1) - c);
                    }
                }
                tiles.push(
                    values
                        .iter()
                        .map(|v| variance(v))
                        .fold(f64::INFINITY, f64::min),
                );
            }
        }
        tiles.sort_by(|a, b| b.total_cmp(a));
        tiles[(PEAK_RANK - 1).min(tiles.len() - 1)]
    }

    #[test]
    fn peak_matches_reference_on_pseudorandom_images() {
        let mut state = 0x9E3779B97F4A7C15u64;
        for (w, h) in [(50, 40), (64, 64), (200, 130), (301, 257)] {
            let px: Vec<u8> = (0..w * h)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Tiles of different contrast, so that the ranking matters.
                    let x = i % w;
                    ((state >> 56) as u8) / (1 + (x / 64) as u8)
                })
                .collect();
            let gray = img(w as u32, h as u32, &px);
            let (ours, theirs) = (peak_sharpness(&gray), reference_peak(&gray));
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.max(1.0),
                "{w}x{h}: {ours} vs {theirs}"
            );
        }
        assert_eq!(peak_sharpness(&img(2, 2, &[0, 9, 9, 0])), 0.0);
    }

    /// Print-like blocks in a 256 px square at the top left of a 1280 × 960 flat gray photo.
    fn corner_of_print(moved: usize) -> GrayImage {
        let (w, h) = (1280u32, 960u32);
        GrayImage::from_fn(w, h, |x, y| {
            let (x, y) = (x as usize, y as usize);
            if x >= 256 || y >= 256 {
                return image::Luma([128]);
            }
            // Moved `moved` px along the rows: the mean of the blocks under that streak.
            let ink = |x: usize| x % 10 < 6 && y % 10 < 6;
            let dark = (x..x + moved.max(1)).filter(|&x| ink(x)).count();
            let level = (220 * moved.max(1) - 190 * dark) / moved.max(1);
            image::Luma([level as u8])
        })
    }

    #[test]
    fn a_sharp_corner_of_a_flat_photo_scores_as_sharp_as_print() {
        // The mean is low; a tile of the corner is as sharp as the print.
        let sharp = corner_of_print(1);
        let (mean, peak) = (laplacian_variance(&sharp), peak_sharpness(&sharp));
        assert!(peak > 3.0 * mean, "peak {peak} mean {mean}");
        // Moved 12 px along the rows, its edges across the motion stay but the tile is no
        // longer sharp every way.
        let moved = peak_sharpness(&corner_of_print(12));
        assert!(moved < peak / 20.0, "moved {moved} sharp {peak}");
        // A flat photo has no sharp tile.
        assert_eq!(peak_sharpness(&img(64, 64, &[128; 64 * 64])), 0.0);
    }

    #[test]
    fn fit_long_side_keeps_aspect() {
        assert_eq!(fit_long_side(4032, 3024, 1280), (1280, 960));
        assert_eq!(fit_long_side(3024, 4032, 1280), (960, 1280));
        assert_eq!(fit_long_side(1000, 700, 1280), (1000, 700));
    }
}
