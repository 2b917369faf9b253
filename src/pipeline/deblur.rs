//! Undoing motion blur along a text line: estimate the length of the streak from the crop itself,
//! then deconvolve each row with Richardson–Lucy.
//!
//! Camera shake along the text smears each letter's strokes into the gaps beside them, which the
//! LSTM then reads as other letters or not at all. A straight streak of `L` pixels is a box filter
//! of width `L`; its derivative is the difference of two copies of the sharp image's derivative `L`
//! apart, so the autocorrelation of the row derivative has a deep negative dip at lag `L`
//! (Yitzhaky & Kopeika, "Identification of blur parameters from motion blurred images", 1997).
//! That dip gives `L`; Richardson–Lucy with that box then restores the rows.
//!
//! Nothing here looks at the reported serial: the streak is measured on the crop's own pixels.

use image::GrayImage;

/// Shortest lag searched for a streak, crop pixels (a streak that short barely joins the strokes
/// of 32 px capitals).
pub const MIN_STREAK_PX: usize = 3;
/// Richardson–Lucy iterations. On testdata (`tests/accuracy.rs`) 10, 20 and 40 all turn the
/// smeared match photo 050 into a MATCH and change nothing else; 20 is the middle.
pub const ITERATIONS: usize = 20;

/// Row-wise autocorrelation of the horizontal derivative, normalised by lag 0, for lags
/// `0..=max_lag`. Empty for a crop narrower than `max_lag + 2` px or with no horizontal detail.
fn derivative_autocorrelation(crop: &GrayImage, max_lag: usize) -> Vec<f64> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    if w < max_lag + 2 {
        return Vec::new();
    }
    let raw = crop.as_raw();
    let mut acc = vec![0.0f64; max_lag + 1];
    let mut d = vec![0.0f64; w - 1];
    for y in 0..h {
        let row = &raw[y * w..(y + 1) * w];
        for x in 0..w - 1 {
            d[x] = f64::from(row[x + 1]) - f64::from(row[x]);
        }
        for (lag, a) in acc.iter_mut().enumerate() {
            *a += d[..d.len() - lag]
                .iter()
                .zip(&d[lag..])
                .map(|(p, q)| p * q)
                .sum::<f64>();
        }
    }
    if acc[0] <= 0.0 {
        return Vec::new();
    }
    let zero = acc[0];
    acc.iter().map(|a| a / zero).collect()
}

/// The length of a horizontal motion streak in `crop` (dark text on light, capitals `cap_px`
/// high), px: the lag of the deepest dip of the row derivative's autocorrelation (normalised by
/// its value at lag 0) between [`MIN_STREAK_PX`] and `cap_px`, refined to a fraction of a pixel.
/// `None` when no dip reaches `-0.15`.
///
/// Sharp print has a dip of its own, at its stroke width (about 4 px at 32 px capitals), so this
/// is only meaningful on text already known to be smeared along its rows
/// ([`super::sharpness::smear`] below its range).
pub fn streak_length(crop: &GrayImage, cap_px: f32) -> Option<f32> {
    let max_lag = cap_px.round().max(MIN_STREAK_PX as f32 + 1.0) as usize;
    let r = derivative_autocorrelation(crop, max_lag);
    let (lag, depth) = r
        .iter()
        .enumerate()
        .skip(MIN_STREAK_PX)
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    if *depth > -0.15 {
        return None;
    }
    // Refine to a fraction of a pixel with a parabola through the dip and its neighbours.
    let refined = match (r.get(lag - 1), r.get(lag + 1)) {
        (Some(&a), Some(&c)) if a + c - 2.0 * depth > 0.0 => {
            lag as f64 + 0.5 * (a - c) / (a + c - 2.0 * depth)
        }
        _ => lag as f64,
    };
    Some(refined as f32)
}

/// A box filter `len` px wide along one row (fractional: the two end taps get the remainder),
/// centred, edges repeated; `prefix` is scratch space. Running sums make it O(width) whatever
/// `len`.
fn box_row(src: &[f64], len: f32, prefix: &mut Vec<f64>, out: &mut [f64]) {
    let n = src.len();
    let half = f64::from(len.max(1.0)) / 2.0;
    let whole = half.floor() as usize;
    let frac = half - whole as f64;
    // prefix[i] = sum of the row padded by whole + 1 edge values on each side, up to i.
    let pad = whole + 1;
    let at = |i: usize| src[i.saturating_sub(pad).min(n - 1)];
    prefix.clear();
    prefix.push(0.0);
    let mut acc = 0.0;
    for i in 0..n + 2 * pad {
        acc += at(i);
        prefix.push(acc);
    }
    let width = (2 * whole + 1) as f64 + 2.0 * frac;
    for (x, o) in out.iter_mut().enumerate() {
        // Padded index of x is x + pad; the whole taps span [x + pad - whole, x + pad + whole].
        let c = x + pad;
        let mut s = prefix[c + whole + 1] - prefix[c - whole];
        if frac > 0.0 {
            s += frac * (at(c - whole - 1) + at(c + whole + 1));
        }
        *o = s / width;
    }
}

/// `crop` with a horizontal streak of `len` px undone by [`ITERATIONS`] rounds of
/// Richardson–Lucy, row by row.
pub fn deblur_rows(crop: &GrayImage, len: f32) -> GrayImage {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let mut out = GrayImage::new(crop.width(), crop.height());
    let mut est = vec![0.0f64; w];
    let mut blurred = vec![0.0f64; w];
    let mut ratio = vec![0.0f64; w];
    let mut back = vec![0.0f64; w];
    let mut g = vec![0.0f64; w];
    let mut prefix = Vec::with_capacity(w + 64);
    for y in 0..h {
        // Work on intensity + 1 so that black stays positive.
        for (g, &v) in g.iter_mut().zip(&crop.as_raw()[y * w..(y + 1) * w]) {
            *g = f64::from(v) + 1.0;
        }
        est.copy_from_slice(&g);
        for _ in 0..ITERATIONS {
            box_row(&est, len, &mut prefix, &mut blurred);
            for ((r, g), b) in ratio.iter_mut().zip(&g).zip(&blurred) {
                *r = g / b.max(1e-6);
            }
            box_row(&ratio, len, &mut prefix, &mut back);
            for (e, b) in est.iter_mut().zip(&back) {
                *e *= b;
            }
        }
        for (o, e) in out.as_mut()[y * w..(y + 1) * w].iter_mut().zip(&est) {
            *o = (e - 1.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Letter-like print: vertical strokes 4 px wide at irregular spacing, with a bar on some,
    /// 32 px tall, on a light margin.
    fn print() -> GrayImage {
        let strokes = [
            6u32, 14, 27, 33, 48, 61, 67, 80, 92, 101, 115, 122, 137, 149, 156, 170,
        ];
        GrayImage::from_fn(190, 44, |x, y| {
            let in_text = (6..38).contains(&y);
            let stroke = strokes.iter().any(|&s| (s..s + 4).contains(&x));
            let bar = (6..10).contains(&y) && strokes.iter().any(|&s| (s..s + 11).contains(&x));
            image::Luma([if in_text && (stroke || bar) { 30 } else { 225 }])
        })
    }

    /// `img` smeared along its rows by a streak of `len` px (an exact box, edges repeated).
    fn smeared(img: &GrayImage, len: usize) -> GrayImage {
        let w = img.width() as i64;
        GrayImage::from_fn(img.width(), img.height(), |x, y| {
            let x = x as i64;
            let lo = x - (len as i64 - 1) / 2;
            let sum: u32 = (lo..lo + len as i64)
                .map(|k| u32::from(img.get_pixel(k.clamp(0, w - 1) as u32, y)[0]))
                .sum();
            image::Luma([(sum as f32 / len as f32).round() as u8])
        })
    }

    /// Mean absolute difference, gray levels.
    fn difference(a: &GrayImage, b: &GrayImage) -> f64 {
        let sum: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&p, &q)| u64::from(p.abs_diff(q)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn the_streak_length_is_measured_from_the_crop() {
        for len in [7usize, 9, 11] {
            let est = streak_length(&smeared(&print(), len), 32.0).expect("a streak");
            assert!((est - len as f32).abs() <= 1.5, "{len} px measured {est}");
        }
        assert_eq!(
            streak_length(&GrayImage::from_pixel(80, 40, image::Luma([200])), 32.0),
            None
        );
    }

    #[test]
    fn deblurring_brings_the_print_back() {
        let sharp = print();
        let blurred = smeared(&sharp, 9);
        let len = streak_length(&blurred, 32.0).expect("a streak");
        let restored = deblur_rows(&blurred, len);
        let (before, after) = (difference(&blurred, &sharp), difference(&restored, &sharp));
        assert!(after < 0.75 * before, "{before:.1} -> {after:.1}");
        let smear = |img: &GrayImage| super::super::sharpness::smear(img).expect("not flat");
        let (was, is) = (smear(&blurred), smear(&restored));
        assert!(
            was < *super::super::verdict::SMEAR_RANGE.start() && is > 2.0 * was,
            "smear {was:.3} -> {is:.3}"
        );
        // Flat rows stay flat: no ringing from the edges.
        let flat = GrayImage::from_pixel(60, 10, image::Luma([180]));
        assert_eq!(deblur_rows(&flat, 8.5), flat);
    }
}
