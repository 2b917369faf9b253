//! Photographs labels: a device-housing background, the label warped into the frame with rotation
//! and perspective, uneven light, glare, defocus or motion blur, sensor noise, JPEG encoding with
//! an optional EXIF orientation tag.
//!
//! Every random draw comes from the photo's own seeded RNG or from a hash of (seed, x, y), so the
//! output is the same whatever the thread count.

use image::RgbImage;
use rand::Rng;
use rayon::prelude::*;

/// A float RGB image, values in 0–255 (may go out of range until quantised).
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub px: Vec<[f32; 3]>,
}

impl Plane {
    /// Applies `f(x, y, pixel)` to every pixel, rows in parallel.
    fn for_each_pixel(&mut self, f: impl Fn(usize, usize, &mut [f32; 3]) + Sync) {
        self.px
            .par_chunks_mut(self.w)
            .enumerate()
            .for_each(|(y, row)| {
                for (x, p) in row.iter_mut().enumerate() {
                    f(x, y, p);
                }
            });
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from a hash of the inputs.
fn hash01(seed: u64, x: usize, y: usize, k: u64) -> f32 {
    let h = splitmix(seed ^ splitmix((x as u64) << 32 | y as u64) ^ k.wrapping_mul(0x51AF));
    (h >> 40) as f32 / (1u64 << 24) as f32
}

/// Standard normal from a hash (Box–Muller).
fn hash_normal(seed: u64, x: usize, y: usize, k: u64) -> f32 {
    let u1 = hash01(seed, x, y, 2 * k).max(1e-7);
    let u2 = hash01(seed, x, y, 2 * k + 1);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Smooth value noise in [0, 1) with cells of `cell` pixels.
fn value_noise(seed: u64, x: f32, y: f32, cell: f32) -> f32 {
    let (gx, gy) = (x / cell, y / cell);
    let (x0, y0) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - x0, gy - y0);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let at = |i: f32, j: f32| {
        hash01(
            seed,
            (i as i64 + 1_000_000) as usize,
            (j as i64 + 1_000_000) as usize,
            7,
        )
    };
    let top = at(x0, y0) * (1.0 - sx) + at(x0 + 1.0, y0) * sx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - sx) + at(x0 + 1.0, y0 + 1.0) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// The device housing (and a strip of desk or wall around it) that the label is stuck on.
pub fn background<R: Rng>(w: usize, h: usize, rng: &mut R) -> Plane {
    let seed: u64 = rng.random();
    let housing: [f32; 3] = match rng.random_range(0..4) {
        0 => [226.0, 226.0, 222.0], // white plastic
        1 => [182.0, 184.0, 188.0], // light grey
        2 => [62.0, 63.0, 66.0],    // dark grey
        _ => [34.0, 34.0, 36.0],    // black
    };
    let surround: [f32; 3] = match rng.random_range(0..3) {
        0 => [150.0, 112.0, 78.0],  // wooden desk
        1 => [205.0, 200.0, 190.0], // wall
        _ => [96.0, 98.0, 104.0],   // grey table
    };
    // The housing is a rounded rectangle that may leave some surround visible at one or two sides.
    let inset = |rng: &mut R, n: usize| {
        if rng.random_bool(0.5) {
            rng.random_range(0.0..0.12) * n as f32
        } else {
            -10.0
        }
    };
    let (left, right) = (inset(rng, w), w as f32 - inset(rng, w));
    let (top, bottom) = (inset(rng, h), h as f32 - inset(rng, h));
    let corner = 0.08 * w.min(h) as f32;
    let texture = rng.random_range(2.0..6.0f32);
    // Vent slots: a row of dark rounded slots somewhere on the housing.
    let vents = rng.random_bool(0.6);
    let vent_y = rng.random_range(0.05..0.95f32) * h as f32;
    let vent_h = rng.random_range(0.015..0.03f32) * h as f32;
    let vent_pitch = rng.random_range(0.03..0.05f32) * w as f32;
    let mut px = vec![[0.0f32; 3]; w * h];
    px.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        let yf = y as f32;
        for (x, p) in row.iter_mut().enumerate() {
            let xf = x as f32;
            let dx = (left + corner - xf).max(xf - (right - corner)).max(0.0);
            let dy = (top + corner - yf).max(yf - (bottom - corner)).max(0.0);
            let inside = (dx * dx + dy * dy).sqrt() <= corner
                && xf >= left
                && xf <= right
                && yf >= top
                && yf <= bottom;
            let base = if inside { housing } else { surround };
            let shade = 0.88 + 0.24 * value_noise(seed, xf, yf, 0.35 * w as f32);
            let grain = (hash01(seed, x, y, 3) - 0.5) * texture;
            let mut v = [
                base[0] * shade + grain,
                base[1] * shade + grain,
                base[2] * shade + grain,
            ];
            if inside
                && vents
                && (yf - vent_y).abs() < vent_h
                && (xf % vent_pitch) < vent_pitch * 0.55
            {
                v = [v[0] * 0.25, v[1] * 0.25, v[2] * 0.25];
            }
            *p = v;
        }
    });
    Plane { w, h, px }
}

/// 3×3 homography mapping photo coordinates to label coordinates.
pub struct Homography([f64; 9]);

impl Homography {
    /// Solves for H with H(src[i]) = dst[i] (four point pairs, no three collinear).
    pub fn from_points(src: [(f64, f64); 4], dst: [(f64, f64); 4]) -> Homography {
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ((x, y), (u, v)) = (src[i], dst[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        // Gaussian elimination with partial pivoting on the 8×8 system.
        for col in 0..8 {
            let pivot = (col..8)
                .max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))
                .unwrap_or(col);
            a.swap(col, pivot);
            for row in 0..8 {
                if row != col {
                    let f = a[row][col] / a[col][col];
                    for k in col..9 {
                        a[row][k] -= f * a[col][k];
                    }
                }
            }
        }
        let mut h = [0.0; 9];
        for i in 0..8 {
            h[i] = a[i][8] / a[i][i];
        }
        h[8] = 1.0;
        Homography(h)
    }

    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let h = &self.0;
        let d = h[6] * x + h[7] * y + h[8];
        (
            (h[0] * x + h[1] * y + h[2]) / d,
            (h[3] * x + h[4] * y + h[5]) / d,
        )
    }
}

fn bilinear(img: &RgbImage, u: f32, v: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (u.floor(), v.floor());
    let (fx, fy) = (u - x0, v - y0);
    let px = |x: i64, y: i64| {
        let p = img
            .get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)
            .0;
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    };
    let (a, b) = (px(x0 as i64, y0 as i64), px(x0 as i64 + 1, y0 as i64));
    let (c, d) = (
        px(x0 as i64, y0 as i64 + 1),
        px(x0 as i64 + 1, y0 as i64 + 1),
    );
    let mut out = [0.0; 3];
    for k in 0..3 {
        out[k] =
            (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy;
    }
    out
}

/// Pastes `label` into `photo` so its corners (TL, TR, BR, BL) land on `quad`, with rounded
/// corners, anti-aliased edges and a faint contact shadow.
pub fn place_label(photo: &mut Plane, label: &RgbImage, quad: [(f64, f64); 4]) {
    let (lw, lh) = (f64::from(label.width()), f64::from(label.height()));
    let corners = [(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)];
    let to_label = Homography::from_points(quad, corners);
    // Photo pixels per label pixel, for edge anti-aliasing and the shadow width.
    let side = ((quad[1].0 - quad[0].0).hypot(quad[1].1 - quad[0].1)) / lw;
    let radius = 0.035 * lw.min(lh);
    let xs = quad.iter().map(|p| p.0);
    let ys = quad.iter().map(|p| p.1);
    let shadow = 4.0 / side;
    let pad = 6.0;
    let x0 = (xs.clone().fold(f64::MAX, f64::min) - pad).max(0.0) as usize;
    let x1 = ((xs.fold(f64::MIN, f64::max) + pad) as usize).min(photo.w);
    let y0 = (ys.clone().fold(f64::MAX, f64::min) - pad).max(0.0) as usize;
    let y1 = ((ys.fold(f64::MIN, f64::max) + pad) as usize).min(photo.h);
    let w = photo.w;
    photo.px[y0 * w..y1 * w]
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(i, row)| {
            let y = y0 + i;
            for x in x0..x1 {
                let (u, v) = to_label.map(x as f64 + 0.5, y as f64 + 0.5);
                // Signed distance (label pixels) to the rounded rectangle; negative inside.
                let qx = (u - lw / 2.0).abs() - (lw / 2.0 - radius);
                let qy = (v - lh / 2.0).abs() - (lh / 2.0 - radius);
                let outside = qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0) - radius;
                let dist_px = outside * side;
                let alpha = (0.5 - dist_px).clamp(0.0, 1.0) as f32;
                let p = &mut row[x];
                if alpha < 1.0 && outside > 0.0 && outside < shadow {
                    let dark = 1.0 - 0.25 * (1.0 - (outside / shadow) as f32);
                    *p = [p[0] * dark, p[1] * dark, p[2] * dark];
                }
                if alpha > 0.0 {
                    let s = bilinear(label, (u - 0.5) as f32, (v - 0.5) as f32);
                    for k in 0..3 {
                        p[k] = p[k] * (1.0 - alpha) + s[k] * alpha;
                    }
                }
            }
        });
}

/// Multiplies by a smooth light field (a tilt across the frame and a vignette).
pub fn uneven_light<R: Rng>(photo: &mut Plane, rng: &mut R) {
    let (w, h) = (photo.w as f32, photo.h as f32);
    let angle = rng.random_range(0.0..std::f32::consts::TAU);
    let (gx, gy) = (angle.cos(), angle.sin());
    let tilt = rng.random_range(0.05..0.30f32);
    let vignette = rng.random_range(0.05..0.25f32);
    let exposure = rng.random_range(0.85..1.08f32);
    photo.for_each_pixel(|x, y, p| {
        let (nx, ny) = (x as f32 / w - 0.5, y as f32 / h - 0.5);
        let f = exposure
            * (1.0 + tilt * (nx * gx + ny * gy))
            * (1.0 - vignette * (nx * nx + ny * ny) * 2.0);
        *p = [p[0] * f, p[1] * f, p[2] * f];
    });
}

/// Multiplies every pixel by `gain` (below 1: a dim room; above: over-exposed, clipped later).
pub fn expose(photo: &mut Plane, gain: f32) {
    if gain != 1.0 {
        photo.for_each_pixel(|_, _, p| *p = [p[0] * gain, p[1] * gain, p[2] * gain]);
    }
}

/// Adds a soft specular highlight of `strength` gray levels at `(cx, cy)` with radius `r` px.
pub fn glare(photo: &mut Plane, cx: f32, cy: f32, r: f32, strength: f32) {
    photo.for_each_pixel(|x, y, p| {
        let (dx, dy) = ((x as f32 - cx) * 0.7, y as f32 - cy);
        let g = strength * (-(dx * dx + dy * dy) / (2.0 * r * r)).exp();
        if g > 0.5 {
            *p = [p[0] + g, p[1] + g, p[2] + g];
        }
    });
}

/// Defocus: a uniform disk of radius `r` pixels, via per-row prefix sums.
pub fn defocus(photo: &mut Plane, r: f32) {
    if r < 0.5 {
        return;
    }
    let (w, h) = (photo.w, photo.h);
    let ri = r.ceil() as i64;
    let mut prefix = vec![[0.0f64; 3]; (w + 1) * h];
    prefix
        .par_chunks_mut(w + 1)
        .zip(photo.px.par_chunks(w))
        .for_each(|(pre, row)| {
            for x in 0..w {
                for k in 0..3 {
                    pre[x + 1][k] = pre[x][k] + f64::from(row[x][k]);
                }
            }
        });
    let spans: Vec<(i64, i64)> = (-ri..=ri)
        .filter_map(|dy| {
            let half = (r * r - (dy * dy) as f32).max(-1.0);
            (half >= 0.0).then(|| (dy, half.sqrt().round() as i64))
        })
        .collect();
    photo.px.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, p) in row.iter_mut().enumerate() {
            let mut acc = [0.0f64; 3];
            let mut n = 0i64;
            for &(dy, half) in &spans {
                let yy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                let a = (x as i64 - half).clamp(0, w as i64) as usize;
                let b = (x as i64 + half + 1).clamp(0, w as i64) as usize;
                let pre = &prefix[yy * (w + 1)..(yy + 1) * (w + 1)];
                for k in 0..3 {
                    acc[k] += pre[b][k] - pre[a][k];
                }
                n += (b - a) as i64;
            }
            let n = n.max(1) as f64;
            *p = [
                (acc[0] / n) as f32,
                (acc[1] / n) as f32,
                (acc[2] / n) as f32,
            ];
        }
    });
}

/// Motion blur: a straight streak of `len` pixels at `angle` radians (camera shake).
pub fn motion(photo: &mut Plane, len: f32, angle: f32) {
    if len < 1.0 {
        return;
    }
    let (w, h) = (photo.w, photo.h);
    let src = std::mem::take(&mut photo.px);
    let steps = len.ceil() as i32;
    let (dx, dy) = (angle.cos(), angle.sin());
    let sample = |x: f32, y: f32| {
        let xi = (x.round() as i64).clamp(0, w as i64 - 1) as usize;
        let yi = (y.round() as i64).clamp(0, h as i64 - 1) as usize;
        src[yi * w + xi]
    };
    let mut out = vec![[0.0f32; 3]; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, p) in row.iter_mut().enumerate() {
            let mut acc = [0.0f32; 3];
            for s in 0..=steps {
                let t = (s as f32 / steps as f32 - 0.5) * len;
                let v = sample(x as f32 + t * dx, y as f32 + t * dy);
                for k in 0..3 {
                    acc[k] += v[k];
                }
            }
            let n = (steps + 1) as f32;
            *p = [acc[0] / n, acc[1] / n, acc[2] / n];
        }
    });
    photo.px = out;
}

/// Sensor noise: Gaussian, `sigma` gray levels, a little stronger in the shadows, slightly
/// correlated between channels as after demosaicing.
pub fn sensor_noise(photo: &mut Plane, sigma: f32, seed: u64) {
    photo.for_each_pixel(|x, y, p| {
        let luma = hash_normal(seed, x, y, 0);
        let level = 1.0 + 0.6 * (1.0 - (p[1] / 255.0).clamp(0.0, 1.0));
        for k in 0..3 {
            let chroma = hash_normal(seed, x, y, 1 + k as u64);
            p[k] += sigma * level * (0.8 * luma + 0.45 * chroma);
        }
    });
}

/// Rounds to 8-bit RGB.
pub fn quantise(photo: &Plane) -> RgbImage {
    let mut bytes = Vec::with_capacity(photo.w * photo.h * 3);
    for p in &photo.px {
        for v in p {
            bytes.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    RgbImage::from_raw(photo.w as u32, photo.h as u32, bytes).unwrap_or_else(|| RgbImage::new(1, 1))
}

/// Encodes as a 4:2:0 JPEG (libjpeg-turbo, like most phone pipelines).
pub fn encode_jpeg(img: &RgbImage, quality: i32) -> Vec<u8> {
    let mut c = turbojpeg::Compressor::new().unwrap_or_else(|e| panic!("turbojpeg: {e}"));
    c.set_quality(quality)
        .unwrap_or_else(|e| panic!("quality: {e}"));
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2)
        .unwrap_or_else(|e| panic!("subsamp: {e}"));
    let image = turbojpeg::Image {
        pixels: img.as_raw().as_slice(),
        width: img.width() as usize,
        pitch: img.width() as usize * 3,
        height: img.height() as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(image)
        .unwrap_or_else(|e| panic!("compress: {e}"))
}

/// Inserts an EXIF APP1 segment (Make, Model, Orientation) right after the JPEG's SOI marker.
pub fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let make = b"LabelGen\0";
    let model = b"Simulated Phone\0";
    // TIFF, little endian: header (8) + IFD0 with 3 entries (2 + 3*12 + 4) + strings.
    let ifd_len = 2 + 3 * 12 + 4;
    let make_off = 8 + ifd_len;
    let model_off = make_off + make.len();
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    let mut entry = |tag: u16, kind: u16, count: u32, value: u32| {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    };
    entry(0x010F, 2, make.len() as u32, make_off as u32);
    entry(0x0110, 2, model.len() as u32, model_off as u32);
    entry(0x0112, 3, 1, u32::from(orientation));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(make);
    tiff.extend_from_slice(model);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = Vec::with_capacity(jpeg.len() + app1.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
