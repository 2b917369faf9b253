//! Sharpness of text crops, independent of their contrast: how sharp (the variance of the
//! Laplacian after a contrast stretch) and how smeared along the text (second derivatives along
//! the rows over those down the columns). The verdict's blur rules read both.

use image::GrayImage;

use super::blur::laplacian_variance_with;
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
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    if w < 3 || h < 3 {
        return None;
    }
    let px = |x: usize, y: usize| f64::from(crop.as_raw()[y * w + x]);
    let (mut sxx, mut syy, mut n) = (0.0f64, 0.0f64, 0.0f64);
    let (mut mxx, mut myy) = (0.0f64, 0.0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = 2.0 * px(x, y);
            let dxx = px(x - 1, y) + px(x + 1, y) - c;
            let dyy = px(x, y - 1) + px(x, y + 1) - c;
            sxx += dxx * dxx;
            syy += dyy * dyy;
            mxx += dxx;
            myy += dyy;
            n += 1.0;
        }
    }
    let vxx = sxx / n - (mxx / n).powi(2);
    let vyy = syy / n - (myy / n).powi(2);
    (vyy > 0.0).then(|| vxx / vyy)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let moved = GrayImage::from_fn(96, 32, |x, y| {
            let sum: u32 = (0..9)
                .map(|k| u32::from(print.get_pixel((x + k).min(95), y)[0]))
                .sum();
            image::Luma([(sum / 9) as u8])
        });
        let smeared = smear(&moved).expect("not flat");
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
