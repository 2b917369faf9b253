//! The label's own codes: QR codes and Code 128 barcodes found and decoded in the upright photo,
//! each reduced to its symbology, its box and the serial its content holds.
//!
//! Work is bounded whatever the photo holds:
//! - QR codes are searched for and decoded on the reference view (long side
//!   [`super::blur::NORMALIZED_LONG_SIDE`] px, already made for the blur score) in one detection
//!   pass that finds every QR code at once (rxing's `QRCodeMultiReader`), at most
//!   [`MAX_CODES`] kept.
//! - Code 128 bars are a few pixels wide at that scale, too thin to decode. Barcode-like regions
//!   are found there instead (cells whose gradients all point one way: a structure tensor per
//!   [`CELL`]-px cell), at most [`MAX_STRIPE_CANDIDATES`] of them, and each is decoded at full
//!   resolution from [`SCAN_LINES`] lines sampled across its bars, whatever their angle.
//!
//! Only the serial is kept from a code's content: the content of a label's QR code also holds
//! the device's verification code, a secret. It is dropped here, inside this module, and never
//! stored, logged or returned.
//!
//! Decoder chosen by measurement against ZBar (`tools/barcode-compare`, docs/decisions.md):
//! rxing decoded the serial on more photos in less time, and needs no system library.

use image::GrayImage;
use rxing::common::{BitMatrix, DetectorRXingResult};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::oned::Code128Reader;
use rxing::qrcode::cpp_port::decoder::Decode;
use rxing::qrcode::cpp_port::detector::{FindFinderPatterns, GenerateFinderPatternSets, SampleQR};
use rxing::{BinaryBitmap, DecodeHints, Luma8Source, RXingResult, Reader};
use serde::{Deserialize, Serialize};

use super::serial::{FullSerial, parse_full, parse_short};

/// Most codes kept per photo (a label carries two; a photo of several labels a few more).
pub const MAX_CODES: usize = 8;

/// Most barcode-like regions decoded at full resolution per photo.
pub const MAX_STRIPE_CANDIDATES: usize = 4;

/// Side of the cells the stripe search measures gradients in, reference-view pixels.
pub const CELL: u32 = 8;

/// Lines sampled across a candidate's bars and handed to the Code 128 reader.
pub const SCAN_LINES: u32 = 24;

/// A barcode symbology labelcheck decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// Code 128 (the label's barcode of the full serial).
    Code128,
    /// QR code (serial, verification code and model, one per line).
    Qr,
}

impl Symbology {
    /// The name used in output and metric labels (`code128`, `qr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Symbology::Code128 => "code128",
            Symbology::Qr => "qr",
        }
    }
}

/// One code found on the photo. Never its content: only the serial parsed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRead {
    /// Code 128 or QR.
    pub symbology: Symbology,
    /// Box in upright photo pixels `(x0, y0, x1, y1)`; in JSON `box`, an object like every box
    /// of the report ([`super::evidence::box_json`]).
    #[serde(rename = "box", alias = "bbox", with = "super::evidence::box_json")]
    pub bbox: (f32, f32, f32, f32),
    /// The serial the code holds (its first line, parsed exactly by the serial grammar: a full
    /// serial, or a 9-character short serial), if it holds one.
    pub serial: Option<String>,
}

impl CodeRead {
    /// The serial the code names, as a full serial to weigh against `reported`: a full serial as
    /// it is; a short serial as the reported device's full serial with that short serial (a code
    /// holding only the short serial names the device by it, as a short-serial label does).
    pub fn serial_against(&self, reported: &FullSerial) -> Option<FullSerial> {
        let text = self.serial.as_deref()?;
        if let Some(full) = parse_full(text, false) {
            return Some(full);
        }
        parse_short(text).map(|short| FullSerial {
            short,
            ..reported.clone()
        })
    }
}

/// The serial in a code's content: its first line (lines split at CR, LF, or `:`), parsed
/// exactly as a full serial or else as a short one. The rest of the content (the verification
/// code) is dropped here.
fn serial_in(content: &str) -> Option<String> {
    let first = content.split(['\r', '\n', ':']).next()?.trim();
    parse_full(first, false)
        .map(|s| s.text())
        .or_else(|| parse_short(first).filter(|short| short == first))
}

/// Finds and decodes the codes on a photo: QR codes on `reference` (the photo reduced, or the
/// photo itself), Code 128 from barcode-like regions found on `reference` and sampled in `full`.
/// Boxes are in `full`'s pixels. The content never leaves this function except as a parsed
/// serial.
///
/// A panic inside the decoder (rxing documents that its finder-pattern search can panic) is
/// caught here and counts as no code found: the text still decides.
pub fn find_codes(full: &GrayImage, reference: &GrayImage) -> Vec<CodeRead> {
    std::panic::catch_unwind(|| find_codes_unguarded(full, reference)).unwrap_or_else(|_| {
        tracing::warn!("the barcode decoder panicked; no codes used for this photo");
        Vec::new()
    })
}

fn find_codes_unguarded(full: &GrayImage, reference: &GrayImage) -> Vec<CodeRead> {
    let scale = full.width() as f32 / reference.width().max(1) as f32;
    let mut codes = qr_codes(reference, scale);
    for candidate in stripe_candidates(reference) {
        if codes.len() >= MAX_CODES {
            break;
        }
        if let Some(code) = code128_across(full, &candidate, scale) {
            let duplicate = codes
                .iter()
                .any(|c| c.symbology == code.symbology && overlap(c.bbox, code.bbox));
            if !duplicate {
                codes.push(code);
            }
        }
    }
    codes
}

fn overlap(a: (f32, f32, f32, f32), b: (f32, f32, f32, f32)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Most sets of three finder patterns sampled and decoded as a QR code per photo, most
/// plausible first. A label photo has one to a few codes, each found in its first sets; a photo
/// built of finder-pattern look-alikes (a grid of them) would otherwise make rxing's reader try
/// every set: 1.7–10 s on a 1280 × 960 grid, against milliseconds with this cap.
pub const MAX_QR_SETS: usize = 48;

/// Most finder patterns paired into sets, largest first. The photos of the tuning set show at
/// most 22 (three per QR code, the rest look-alikes in text and texture); a photo made of
/// look-alikes shows thousands, and pairing them costs seconds.
pub const MAX_FINDER_PATTERNS: usize = 64;

/// Every QR code on `img` (at most [`MAX_CODES`]), boxes scaled by `scale`; light-on-dark codes
/// are looked for when no dark-on-light one is found.
///
/// The steps of rxing's port of zxing-cpp's QR reader (find every finder pattern, pair them
/// into plausible sets of three, sample and decode each set), with the sets capped at
/// [`MAX_QR_SETS`]. Measured on the tuning set against ZXing's Java-port readers, it finds a
/// QR code on more photos in less time (docs/decisions.md).
fn qr_codes(img: &GrayImage, scale: f32) -> Vec<CodeRead> {
    let Ok(source) = Luma8Source::new_with_slice(img.as_raw(), img.width(), img.height()) else {
        return Vec::new();
    };
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let found = qr_codes_in(bitmap.get_black_matrix(), scale);
    if !found.is_empty() {
        return found;
    }
    bitmap.invert();
    qr_codes_in(bitmap.get_black_matrix(), scale)
}

/// The QR codes of one binarised view (see [`qr_codes`]).
fn qr_codes_in(matrix: &BitMatrix, scale: f32) -> Vec<CodeRead> {
    let mut patterns = FindFinderPatterns(matrix, true, 0);
    if patterns.len() > MAX_FINDER_PATTERNS {
        // Larger patterns are less likely to be noise (rxing's own order for the sets).
        patterns.sort_by_key(|p| std::cmp::Reverse(p.size));
        patterns.truncate(MAX_FINDER_PATTERNS);
    }
    let mut found: Vec<CodeRead> = Vec::new();
    for set in GenerateFinderPatternSets(&mut patterns)
        .iter()
        .take(MAX_QR_SETS)
    {
        if found.len() >= MAX_CODES {
            break;
        }
        let Ok(sampled) = SampleQR(matrix, set) else {
            continue;
        };
        let Ok(decoded) = Decode(sampled.getBits()) else {
            continue;
        };
        if !decoded.isValid() {
            continue;
        }
        let code = CodeRead {
            symbology: Symbology::Qr,
            bbox: bounds(
                sampled
                    .getPoints()
                    .iter()
                    .map(|p| (p.x * scale, p.y * scale)),
            ),
            serial: serial_in(&decoded.text()),
        };
        if !found.iter().any(|c| overlap(c.bbox, code.bbox)) {
            found.push(code);
        }
    }
    found
}

/// The bounding box of `points`.
fn bounds(points: impl Iterator<Item = (f32, f32)>) -> (f32, f32, f32, f32) {
    let mut b = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in points {
        b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    if b.0 > b.2 { (0.0, 0.0, 0.0, 0.0) } else { b }
}

/// A barcode-like region of the reference view: its centre, the unit vector across its bars,
/// and its half-extents across and along the bars (reference pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stripes {
    centre: (f32, f32),
    across: (f32, f32),
    half_across: f32,
    half_along: f32,
}

/// Least mean squared gradient of a stripe cell, squared gray levels per pixel.
const STRIPE_ENERGY_MIN: f32 = 200.0;
/// Least coherence (0 = gradients every way, 1 = all one way) of a stripe cell.
const STRIPE_COHERENCE_MIN: f32 = 0.75;
/// Largest angle between neighbouring stripe cells of one region, degrees.
const STRIPE_ANGLE_MAX_DEG: f32 = 12.0;
/// Least ratio of a region's extent across its bars to its extent along them.
const STRIPE_ASPECT_MIN: f32 = 2.0;
/// Fewest cells of a region worth decoding.
const STRIPE_CELLS_MIN: usize = 6;

/// Barcode-like regions of `img`, largest first, at most [`MAX_STRIPE_CANDIDATES`].
fn stripe_candidates(img: &GrayImage) -> Vec<Stripes> {
    let (w, h) = img.dimensions();
    let (cols, rows) = (w / CELL, h / CELL);
    if cols < 2 || rows < 2 {
        return Vec::new();
    }
    let px = |x: u32, y: u32| img.get_pixel(x, y).0[0] as f32;
    // Per cell: the doubled angle of its dominant gradient, if it is a stripe cell.
    let mut cells: Vec<Option<f32>> = vec![None; (cols * rows) as usize];
    for cy in 0..rows {
        for cx in 0..cols {
            let (mut jxx, mut jyy, mut jxy) = (0.0f32, 0.0f32, 0.0f32);
            for y in (cy * CELL).max(1)..((cy + 1) * CELL).min(h - 1) {
                for x in (cx * CELL).max(1)..((cx + 1) * CELL).min(w - 1) {
                    let gx = px(x + 1, y) - px(x - 1, y);
                    let gy = px(x, y + 1) - px(x, y - 1);
                    jxx += gx * gx;
                    jyy += gy * gy;
                    jxy += gx * gy;
                }
            }
            let energy = (jxx + jyy) / (CELL * CELL) as f32;
            if energy < STRIPE_ENERGY_MIN {
                continue;
            }
            let coherence = ((jxx - jyy).powi(2) + 4.0 * jxy * jxy).sqrt() / (jxx + jyy);
            if coherence >= STRIPE_COHERENCE_MIN {
                cells[(cy * cols + cx) as usize] = Some((2.0 * jxy).atan2(jxx - jyy));
            }
        }
    }
    // Regions: 8-connected stripe cells whose angles agree with their neighbour's.
    let max_turn = 2.0 * STRIPE_ANGLE_MAX_DEG.to_radians();
    let agree = |a: f32, b: f32| {
        let d = (a - b).abs();
        d.min(std::f32::consts::TAU - d) <= max_turn
    };
    let mut seen = vec![false; cells.len()];
    let mut regions: Vec<Vec<(u32, u32, f32)>> = Vec::new();
    for start in 0..cells.len() {
        if seen[start] || cells[start].is_none() {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut region = Vec::new();
        while let Some(i) = stack.pop() {
            let Some(angle) = cells[i] else { continue };
            let (cx, cy) = (i as u32 % cols, i as u32 / cols);
            region.push((cx, cy, angle));
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (cx as i64 + dx, cy as i64 + dy);
                if nx < 0 || ny < 0 || nx >= cols as i64 || ny >= rows as i64 {
                    continue;
                }
                let j = (ny as u32 * cols + nx as u32) as usize;
                if !seen[j] && cells[j].is_some_and(|a| agree(a, angle)) {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if region.len() >= STRIPE_CELLS_MIN {
            regions.push(region);
        }
    }
    regions.sort_by_key(|r| std::cmp::Reverse(r.len()));
    regions
        .iter()
        .map(|region| stripes_of(region))
        // A serial's barcode is many times wider than its bars are tall; an edge or a rule
        // (one cell across, long along) is not a barcode.
        .filter(|s| s.half_across >= STRIPE_ASPECT_MIN * s.half_along)
        .take(MAX_STRIPE_CANDIDATES)
        .collect()
}

/// The extent and direction of one region of stripe cells.
fn stripes_of(region: &[(u32, u32, f32)]) -> Stripes {
    // Mean doubled angle as a vector (angles wrap), halved: the gradient direction across bars.
    let (s, c) = region.iter().fold((0.0f32, 0.0f32), |(s, c), &(_, _, a)| {
        (s + a.sin(), c + a.cos())
    });
    let theta = s.atan2(c) / 2.0;
    let across = (theta.cos(), theta.sin());
    let along = (-across.1, across.0);
    let centres: Vec<(f32, f32)> = region
        .iter()
        .map(|&(cx, cy, _)| {
            (
                (cx as f32 + 0.5) * CELL as f32,
                (cy as f32 + 0.5) * CELL as f32,
            )
        })
        .collect();
    let n = centres.len() as f32;
    let centre = (
        centres.iter().map(|c| c.0).sum::<f32>() / n,
        centres.iter().map(|c| c.1).sum::<f32>() / n,
    );
    let extent = |dir: (f32, f32)| {
        centres
            .iter()
            .map(|c| ((c.0 - centre.0) * dir.0 + (c.1 - centre.1) * dir.1).abs())
            .fold(0.0f32, f32::max)
            + CELL as f32 / 2.0
    };
    Stripes {
        centre,
        across,
        half_across: extent(across),
        half_along: extent(along),
    }
}

/// Longest line sampled across a barcode, full-resolution pixels.
const MAX_SCAN_LENGTH: u32 = 4096;
const SAMPLES_PER_PX: f32 = 2.0;

/// Decodes a Code 128 barcode from `stripes` (reference pixels, `scale` full pixels each):
/// [`SCAN_LINES`] lines across its bars, spread over the middle of its height and extended by a
/// quiet zone each side, sampled in `full` one full-resolution pixel apart.
fn code128_across(full: &GrayImage, stripes: &Stripes, scale: f32) -> Option<CodeRead> {
    let c = (stripes.centre.0 * scale, stripes.centre.1 * scale);
    let (ux, uy) = stripes.across;
    let (vx, vy) = (-uy, ux);
    // A quiet zone of 10 modules each side is well within 25% of a serial's barcode width.
    let half_len = stripes.half_across * scale * 1.25;
    let len = ((2.0 * half_len * SAMPLES_PER_PX) as u32).clamp(16, MAX_SCAN_LENGTH);
    let half_h = stripes.half_along * scale * 0.6;
    let mut luma = Vec::with_capacity((len * SCAN_LINES) as usize);
    for k in 0..SCAN_LINES {
        let off = -half_h + 2.0 * half_h * (k as f32 + 0.5) / SCAN_LINES as f32;
        let start = (
            c.0 - ux * half_len + vx * off,
            c.1 - uy * half_len + vy * off,
        );
        let step = 2.0 * half_len / len as f32;
        for i in 0..len {
            let t = i as f32 * step;
            luma.push(bilinear(full, start.0 + ux * t, start.1 + uy * t));
        }
    }
    let source = Luma8Source::new(luma, len, SCAN_LINES).ok()?;
    let mut bitmap = BinaryBitmap::new(GlobalHistogramBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..Default::default()
    };
    // Bars may run either way: a reversed line is read by the reader's own reversal.
    let result: RXingResult = match Code128Reader.decode_with_hints(&mut bitmap, &hints) {
        Ok(r) => r,
        Err(_) => {
            // Light bars on a dark label.
            bitmap.invert();
            Code128Reader.decode_with_hints(&mut bitmap, &hints).ok()?
        }
    };
    let corners = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)].map(|(a, b)| {
        let (a, b) = (a * half_len / 1.25, b * stripes.half_along * scale);
        (c.0 + ux * a + vx * b, c.1 + uy * a + vy * b)
    });
    Some(CodeRead {
        symbology: Symbology::Code128,
        bbox: bounds(corners.into_iter()),
        serial: serial_in(result.getText()),
    })
}

/// The gray level at `(x, y)` by bilinear interpolation; white outside the image (a quiet zone).
fn bilinear(img: &GrayImage, x: f32, y: f32) -> u8 {
    let (w, h) = img.dimensions();
    if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
        return 255;
    }
    let (x0, y0) = (x as u32, y as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x: u32, y: u32| img.get_pixel(x, y).0[0] as f32;
    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
    let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
    (top * (1.0 - fy) + bottom * fy).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_serial_line_of_a_content_is_kept() {
        let full = "DS-2CD2143G2-I20230415AAWRL12345678";
        assert_eq!(
            serial_in(&format!("{full}\r\nABCDEF\r\nDS-2CD2143G2-I")).as_deref(),
            Some(full)
        );
        assert_eq!(serial_in(&format!("{full}:ABCDEF")).as_deref(), Some(full));
        // Not a serial: nothing, and never the content itself.
        assert_eq!(serial_in("ABCDEF\r\nsomething"), None);
        assert_eq!(serial_in("https://example.com/x"), None);
        // A look-alike is not normalised: a code's content is exact.
        assert_eq!(serial_in("DS-2CD2143G2-I20230415AAWRLI2345678"), None);
    }

    #[test]
    fn a_code_holding_a_short_serial_names_the_device_by_it() {
        let reported =
            crate::pipeline::serial::parse_reported("DS-2CD2143G2-I20230415AAWRL12345678")
                .expect("serial");
        assert_eq!(
            serial_in("L12345678\r\nABCDEF").as_deref(),
            Some("L12345678")
        );
        let code = |serial: &str| CodeRead {
            symbology: Symbology::Qr,
            bbox: (0.0, 0.0, 10.0, 10.0),
            serial: serial_in(serial),
        };
        // The reported device's own short serial: its full serial.
        assert_eq!(
            code("L12345678").serial_against(&reported),
            Some(reported.clone())
        );
        // A neighbour's short serial: the reported device's frame with that short serial, which
        // differs from the reported serial.
        let neighbour = code("L12345679").serial_against(&reported).expect("serial");
        assert_eq!(neighbour.short, "L12345679");
        assert_ne!(neighbour, reported);
        // Eight characters, or a look-alike in the digits, are no serial.
        assert_eq!(serial_in("L1234567"), None);
        assert_eq!(serial_in("L1234567O"), None);
    }

    #[test]
    fn blank_and_noise_give_no_codes() {
        let blank = GrayImage::from_pixel(640, 480, image::Luma([200]));
        assert!(find_codes(&blank, &blank).is_empty());
        let mut state = 0x9e37_79b9_u32;
        let noise = GrayImage::from_fn(640, 480, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            image::Luma([(state >> 24) as u8])
        });
        assert!(find_codes(&noise, &noise).is_empty());
    }
}
