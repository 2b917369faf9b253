//! Sharpness of text crops, independent of their contrast: how sharp (the variance of the
//! Laplacian after a contrast stretch) and how smeared along the text (second derivatives along
//! the rows over those down the columns); and how evenly sharp a whole photo is in every
//! direction at coarse scale (motion smears it along one). The verdict's blur rules read them.

use image::GrayImage;

use super::blur::{downscale_box, laplacian_variance_with};
use super::gray_levels_at_ranks;

/// Sharpness of a crop independent of its contrast: stretch the 2nd–98th percentile to 0–255,
/// then the variance of the Laplacian (squared gray levels).
pub fn crop_sharpness(crop: &GrayImage) -> f64 {
    let n = crop.as_raw().len() as f64;
    let [lo, hi] =
        gray_levels_at_ranks(crop, [(n * 0.02) as usize, (n * 0.98) as usize]).map(f64::from);
    if hi - lo < 8.0 {
        return 0.0;
    }
    let stretched = GrayImage::from_fn(crop.width(), crop.height(), |x, y| {
        let v = (f64::from(crop.get_pixel(x, y)[0]) - lo) * 255.0 / (hi - lo);
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    });
    laplacian_variance_with(&stretched, false)
}

/// The middle value of `values` (the upper one of the two middle values for an even count), if
/// any.
pub(super) fn upper_median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// How much sharper a text crop is across the text than along it: the variance of the second
/// derivative along the rows (across the strokes of letters) over that down the columns. Sharp
/// print gives about 0.5–2; motion blur along the text smears the letters' strokes together
/// and drives it toward 0. `None` for a flat crop.
pub fn smear(crop: &GrayImage) -> Option<f64> {
    let [vxx, vyy] = second_difference_variances(crop, [(1, 0), (0, 1)])?;
    (vyy > 0.0).then(|| vxx / vyy)
}

/// Long side of the view [`directional_smear`] measures, px: the 1280 px reference view
/// area-averaged 4×.
pub const DIRECTIONAL_LONG_SIDE: u32 = 320;

/// How evenly sharp `reference` (the 1280 px reference view), area-averaged to a
/// [`DIRECTIONAL_LONG_SIDE`] px long side, is in every direction: the least over the most
/// variance of the second difference along the rows, the columns and the two diagonals. Sensor
/// grain averages out at that size; a photo smeared by motion keeps its edges across the motion
/// and loses them along it: near 0. On tuning, sharp photos of a label score about 0.35–0.7.
/// `None` for a flat or tiny view.
pub fn directional_smear(reference: &GrayImage) -> Option<f64> {
    let view = downscale_box(reference, DIRECTIONAL_LONG_SIDE);
    let variances = second_difference_variances(
        view.as_ref().unwrap_or(reference),
        [(1, 0), (0, 1), (1, 1), (1, -1)],
    )?;
    let most = variances.iter().copied().fold(0.0, f64::max);
    let least = variances.iter().copied().fold(f64::INFINITY, f64::min);
    (most > 0.0).then(|| least / most)
}

/// Variance of the second difference of `img` along each step `(dx, dy)` (the pixel ahead plus
/// the one behind minus twice the pixel), over the pixels not on the border, in squared gray
/// levels; `None` when the image is under 3 px either way.
fn second_difference_variances<const N: usize>(
    img: &GrayImage,
    steps: [(isize, isize); N],
) -> Option<[f64; N]> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return None;
    }
    let px = |x: usize, y: usize| f64::from(img.as_raw()[y * w + x]);
    // Sum and sum of squares along each step.
    let mut sums = [(0.0f64, 0.0f64); N];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = 2.0 * px(x, y);
            for (sum, &(dx, dy)) in sums.iter_mut().zip(&steps) {
                let behind = px(x.wrapping_add_signed(-dx), y.wrapping_add_signed(-dy));
                let ahead = px(x.wrapping_add_signed(dx), y.wrapping_add_signed(dy));
                let d = behind + ahead - c;
                sum.0 += d;
                sum.1 += d * d;
            }
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    Some(sums.map(|(s, s2)| s2 / n - (s / n).powi(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `img` moved `len` px along its rows: each pixel the mean of itself and the `len - 1`
    /// after it (the last column repeated past the edge).
    fn moved_along_rows(img: &GrayImage, len: u32) -> GrayImage {
        let last = img.width() - 1;
        GrayImage::from_fn(img.width(), img.height(), |x, y| {
            let sum: u32 = (0..len)
                .map(|k| u32::from(img.get_pixel((x + k).min(last), y)[0]))
                .sum();
            image::Luma([(sum / len) as u8])
        })
    }

    #[test]
    fn directional_smear_sees_motion_along_one_direction() {
        // Print-like blocks: 6 px squares every 10 px, sharp in every direction.
        let blocks = GrayImage::from_fn(320, 240, |x, y| {
            let ink = x % 10 < 6 && y % 10 < 6;
            image::Luma([if ink { 30 } else { 220 }])
        });
        let sharp = directional_smear(&blocks).expect("not flat");
        assert!(sharp > 0.3, "{sharp}");
        // The same moved 12 px along the rows (a moving average): edges across the motion stay.
        let smeared = directional_smear(&moved_along_rows(&blocks, 12)).expect("not flat");
        assert!(smeared < 0.1, "{smeared}");
        assert_eq!(
            directional_smear(&GrayImage::from_pixel(50, 50, image::Luma([9]))),
            None
        );
    }

    #[test]
    fn smear_sees_motion_along_the_text() {
        // Strokes: vertical bars with horizontal bars over them, like letters.
        let print = GrayImage::from_fn(96, 32, |x, y| {
            let ink = (x / 3) % 3 == 0 || (y / 3) % 4 == 0;
            image::Luma([if ink { 30 } else { 220 }])
        });
        let sharp = smear(&print).expect("not flat");
        assert!((0.3..=3.0).contains(&sharp), "{sharp}");
        // The same smeared along the rows (a 9 px moving average).
        let smeared = smear(&moved_along_rows(&print, 9)).expect("not flat");
        assert!(smeared < 0.2, "{smeared}");
        assert_eq!(
            smear(&GrayImage::from_pixel(20, 20, image::Luma([128]))),
            None
        );
    }

    #[test]
    fn crop_sharpness_ignores_contrast_and_sees_blur() {
        let sharp = GrayImage::from_fn(64, 32, |x, _| {
            image::Luma([if (x / 4) % 2 == 0 { 40 } else { 220 }])
        });
        let faint = GrayImage::from_fn(64, 32, |x, _| {
            image::Luma([if (x / 4) % 2 == 0 { 110 } else { 150 }])
        });
        let flat = GrayImage::from_pixel(64, 32, image::Luma([128]));
        let (s, f) = (crop_sharpness(&sharp), crop_sharpness(&faint));
        assert!((s - f).abs() / s < 0.05, "{s} vs {f}");
        assert_eq!(crop_sharpness(&flat), 0.0);
    }
}
