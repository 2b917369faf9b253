//! One photo, end to end: decode, blur, locate lines, read them, find the serial field, read its
//! value twice, decide, report.
//!
//! The reported serial is used only by the final comparison: crops, OCR settings and the order of
//! work never depend on it.

use std::time::Instant;

use image::GrayImage;
use serde::Serialize;

use super::blur::{laplacian_variance, normalized_laplacian_variance};
use super::decode::{self, PhotoFormat};
use super::locate::{TextLine, cut_line, find_lines};
use super::ocr::{Charset, LineRead, Recognizer};
use super::serial::{FullSerial, LabelSerial, MatchKind, find_in_text};
use super::verdict::{Evidence, FieldRead, Reason, Thresholds, Verdict, decide};
use super::{BlurScore, PipelineConfig};
use crate::error::Result;

/// Lines read to decide whether the text is upside down.
const ORIENTATION_PROBES: usize = 3;
/// Zoom of the second, independent read of a serial value (text at 0.8 × 32 px).
const SECOND_READ_ZOOM: f32 = 0.8;

/// A box in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoxPx {
    /// Left, px.
    pub x0: u32,
    /// Top, px.
    pub y0: u32,
    /// Right (exclusive), px.
    pub x1: u32,
    /// Bottom (exclusive), px.
    pub y1: u32,
}

/// Wall time per stage, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CheckTimings {
    /// Decoding to upright gray.
    pub decode_ms: f64,
    /// Whole-photo blur scores.
    pub blur_ms: f64,
    /// Finding text lines.
    pub locate_ms: f64,
    /// Cutting lines and OCR.
    pub ocr_ms: f64,
    /// Everything.
    pub total_ms: f64,
}

/// The core's answer for one photo: the verdict and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// MATCH, MISMATCH, BLURRY, NOT_FOUND or INCONCLUSIVE.
    pub verdict: Verdict,
    /// Machine-readable reasons.
    pub reasons: Vec<Reason>,
    /// The serial the device reported.
    pub reported_serial: String,
    /// The serial read on the label, normalised by the grammar.
    pub serial_read: Option<String>,
    /// The raw OCR text of the serial value.
    pub serial_read_raw: Option<String>,
    /// For MATCH: whether the full or the short serial matched.
    pub match_kind: Option<MatchKind>,
    /// Lowest character confidence of the serial read, 0–100.
    pub confidence: Option<f32>,
    /// The serial field's box in original-photo pixels (upright).
    pub serial_region: Option<BoxPx>,
    /// Variance of the Laplacian of the whole photo (OpenCV-exact).
    pub blur_score: BlurScore,
    /// The same at the reference resolution (1280 px long side).
    pub blur_score_normalized: BlurScore,
    /// Sharpness of the serial value crop, if a field was found.
    pub region_blur_score: Option<f64>,
    /// Median sharpness of the text lines read, if any (same measure as the region's).
    pub text_blur_score: Option<f64>,
    /// Thresholds the decision used.
    pub thresholds: Thresholds,
    /// Container format.
    pub format: PhotoFormat,
    /// Upright width, px.
    pub width: u32,
    /// Upright height, px.
    pub height: u32,
    /// EXIF orientation applied (1 = none).
    pub exif_orientation: u8,
    /// Text lines found.
    pub lines_found: usize,
    /// Distinct serials read anywhere on the photo.
    pub serials_found: Vec<String>,
    /// Lines handed to OCR (including the second reads).
    pub ocr_calls: usize,
    /// Stage timings.
    pub timings: CheckTimings,
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// Sharpness of a crop independent of its contrast: stretch the 2nd–98th percentile to 0–255,
/// then the variance of the Laplacian (squared gray levels).
pub fn crop_sharpness(crop: &GrayImage) -> f64 {
    let mut hist = [0u32; 256];
    for &p in crop.as_raw() {
        hist[p as usize] += 1;
    }
    let n = crop.as_raw().len() as u32;
    let percentile = |q: f64| {
        let target = (f64::from(n) * q) as u32;
        let mut acc = 0;
        for (v, &c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return v as f64;
            }
        }
        255.0
    };
    let (lo, hi) = (percentile(0.02), percentile(0.98));
    if hi - lo < 8.0 {
        return 0.0;
    }
    let stretched = GrayImage::from_fn(crop.width(), crop.height(), |x, y| {
        let v = (f64::from(crop.get_pixel(x, y)[0]) - lo) * 255.0 / (hi - lo);
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    });
    laplacian_variance(&stretched)
}

/// Captions as they appear in OCR text (upper case, no spaces).
const CAPTIONS: &[&str] = &["SERIALNUMBER", "SERIALNO.", "SERIALNO", "S/N", "SN"];

/// Index of the first character after a serial caption that starts a word, if any.
fn caption_end(read: &LineRead) -> Option<usize> {
    let upper: Vec<char> = read
        .chars
        .iter()
        .map(|c| c.ch.to_ascii_uppercase())
        .collect();
    for start in 0..upper.len() {
        if !read.chars[start].word_start {
            continue;
        }
        for cap in CAPTIONS {
            let cap: Vec<char> = cap.chars().collect();
            if upper[start..].starts_with(&cap) {
                let mut end = start + cap.len();
                while end < upper.len() && matches!(upper[end], ':' | '.' | ';' | ',') {
                    end += 1;
                }
                // "SN" must stand alone (or before ':'), not begin a word like "SNOW".
                let alone =
                    end == upper.len() || read.chars[end].word_start || end > start + cap.len();
                if alone || cap.len() > 3 {
                    return Some(end);
                }
            }
        }
    }
    None
}

struct LineWork {
    line: TextLine,
    crop: GrayImage,
    read: LineRead,
}

/// Checks one photo against the reported serial.
///
/// `debug` receives every crop that is read, with a name, for people tuning the stages.
pub fn check(
    bytes: &[u8],
    reported: &FullSerial,
    config: &PipelineConfig,
    engine: &mut dyn Recognizer,
    debug: &mut dyn FnMut(&str, &GrayImage),
) -> Result<Report> {
    let total = Instant::now();
    let start = Instant::now();
    let photo = decode::decode(bytes, &config.limits)?;
    let decode_ms = ms(start);
    let gray = &photo.gray;

    let start = Instant::now();
    let blur_score = BlurScore(laplacian_variance(gray));
    let blur_score_normalized = BlurScore(normalized_laplacian_variance(gray));
    let blur_ms = ms(start);

    let start = Instant::now();
    let lines = find_lines(gray);
    let locate_ms = ms(start);

    let start = Instant::now();
    let mut ocr_calls = 0usize;
    let mut read = |crop: &GrayImage, charset: Charset, calls: &mut usize| -> Result<LineRead> {
        *calls += 1;
        engine.read_line(crop, charset)
    };

    // Upright or upside down: read the longest lines both ways, keep the more confident way.
    let mut probes: Vec<usize> = (0..lines.len()).collect();
    probes.sort_by_key(|&i| std::cmp::Reverse(lines[i].chars));
    probes.truncate(ORIENTATION_PROBES);
    let mut probe_reads: Vec<(usize, bool, GrayImage, LineRead)> = Vec::new();
    let mut score = [0.0f32; 2];
    for &i in &probes {
        for flip in [false, true] {
            let (crop, _) = cut_line(gray, &lines[i], flip, 1.0);
            let r = read(&crop, Charset::Any, &mut ocr_calls)?;
            score[usize::from(flip)] += r.chars.iter().map(|c| c.confidence).sum::<f32>();
            probe_reads.push((i, flip, crop, r));
        }
    }
    let flip = score[1] > score[0];

    // Read every line in reading order.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    if flip {
        order.reverse();
    }
    let mut work: Vec<LineWork> = Vec::with_capacity(order.len());
    for &i in &order {
        let cached = probe_reads
            .iter()
            .position(|(p, f, _, _)| *p == i && *f == flip);
        let (crop, r) = match cached {
            Some(k) => {
                let (_, _, crop, r) = probe_reads.swap_remove(k);
                (crop, r)
            }
            None => {
                let (crop, _) = cut_line(gray, &lines[i], flip, 1.0);
                let r = read(&crop, Charset::Any, &mut ocr_calls)?;
                (crop, r)
            }
        };
        debug(&format!("line{:02}", work.len()), &crop);
        work.push(LineWork {
            line: lines[i].clone(),
            crop,
            read: r,
        });
    }

    let mut text_sharpness: Vec<f64> = work
        .iter()
        .filter(|w| w.read.chars.len() >= 3)
        .map(|w| crop_sharpness(&w.crop))
        .collect();
    text_sharpness.sort_by(f64::total_cmp);
    let text_blur = text_sharpness.get(text_sharpness.len() / 2).copied();

    // Serial fields: a caption with its value after it or on the next line, or a bare serial.
    let mut fields: Vec<FieldRead> = Vec::new();
    let mut caption_seen = false;
    let mut used = vec![false; work.len()];
    for i in 0..work.len() {
        if used[i] {
            continue;
        }
        let text = work[i].read.text();
        let caption = caption_end(&work[i].read);
        caption_seen |= caption.is_some();
        let (value_line, x_start) = match caption {
            Some(end) => {
                let rest = work[i].read.chars[end..]
                    .iter()
                    .filter(|c| c.ch.is_ascii_alphanumeric())
                    .count();
                if rest >= 5 {
                    let x = work[i].read.chars.get(end).map_or(0, |c| c.x0);
                    (i, x)
                } else if let Some(next) = next_line_below(&work, i) {
                    (next, 0)
                } else {
                    // A caption with nothing readable after it.
                    fields.push(unreadable_field(&work[i], &text));
                    continue;
                }
            }
            None if !find_in_text(&text).is_empty() => (i, 0),
            None => continue,
        };
        used[value_line] = true;
        used[i] = true;
        let field = read_value(
            gray,
            &work[value_line],
            flip,
            x_start,
            caption.is_some(),
            &mut |crop, charset| read(crop, charset, &mut ocr_calls),
            debug,
            fields.len(),
        )?;
        fields.push(field);
    }
    let ocr_ms = ms(start);

    let evidence = Evidence {
        fields,
        caption_seen,
        lines: lines.len(),
        text_blur,
        photo_blur: blur_score_normalized.0,
    };
    let thresholds = config.thresholds;
    let decision = decide(&evidence, reported, &thresholds);
    let field = decision.field.and_then(|i| evidence.fields.get(i));
    let mut serials_found: Vec<String> = Vec::new();
    for s in evidence
        .fields
        .iter()
        .filter_map(|f| f.serial.as_ref())
        .map(LabelSerial::text)
    {
        if !serials_found.contains(&s) {
            serials_found.push(s);
        }
    }
    let to_box = |b: (f32, f32, f32, f32)| BoxPx {
        x0: b.0.max(0.0) as u32,
        y0: b.1.max(0.0) as u32,
        x1: (b.2.max(0.0) as u32).min(gray.width()),
        y1: (b.3.max(0.0) as u32).min(gray.height()),
    };
    Ok(Report {
        verdict: decision.verdict,
        reasons: decision.reasons,
        reported_serial: reported.text(),
        serial_read: field.and_then(|f| f.serial.as_ref()).map(LabelSerial::text),
        serial_read_raw: field.map(|f| f.raw.clone()),
        match_kind: decision.match_kind,
        confidence: field.map(|f| f.min_confidence),
        serial_region: field.map(|f| to_box(f.bbox)),
        blur_score,
        blur_score_normalized,
        region_blur_score: field.map(|f| f.region_blur),
        text_blur_score: evidence.text_blur,
        thresholds,
        format: photo.format,
        width: gray.width(),
        height: gray.height(),
        exif_orientation: photo.exif_orientation,
        lines_found: lines.len(),
        serials_found,
        ocr_calls,
        timings: CheckTimings {
            decode_ms,
            blur_ms,
            locate_ms,
            ocr_ms,
            total_ms: ms(total),
        },
    })
}

/// The line just below line `i` in reading order, if it is close enough to hold its value.
fn next_line_below(work: &[LineWork], i: usize) -> Option<usize> {
    let here = &work[i].line;
    let next = work.get(i + 1)?;
    let gap = (next.line.across - here.across).abs();
    (gap < 3.5 * here.text_height.max(next.line.text_height)).then_some(i + 1)
}

fn unreadable_field(line: &LineWork, text: &str) -> FieldRead {
    FieldRead {
        serial: None,
        second: None,
        raw: text.to_string(),
        min_confidence: 0.0,
        region_blur: crop_sharpness(&line.crop),
        captioned: true,
        bbox: line.line.bbox(),
    }
}

/// Reads a serial value on `line` from crop column `x_start` on, twice (two scales), with the
/// serial character set.
#[allow(clippy::too_many_arguments)]
fn read_value(
    gray: &GrayImage,
    line: &LineWork,
    flip: bool,
    x_start: i32,
    captioned: bool,
    read: &mut dyn FnMut(&GrayImage, Charset) -> Result<LineRead>,
    debug: &mut dyn FnMut(&str, &GrayImage),
    index: usize,
) -> Result<FieldRead> {
    let margin = 6;
    let x0 = (x_start - margin).max(0) as u32;
    let crop = image::imageops::crop_imm(
        &line.crop,
        x0,
        0,
        line.crop.width().saturating_sub(x0).max(1),
        line.crop.height(),
    )
    .to_image();
    debug(&format!("value{index}"), &crop);
    let first = read(&crop, Charset::Serial)?;
    let (small, _) = cut_line(gray, &line.line, flip, SECOND_READ_ZOOM);
    let x0b = ((x_start as f32 * SECOND_READ_ZOOM) as i32 - margin).max(0) as u32;
    let small = image::imageops::crop_imm(
        &small,
        x0b,
        0,
        small.width().saturating_sub(x0b).max(1),
        small.height(),
    )
    .to_image();
    debug(&format!("value{index}_second"), &small);
    let second = read(&small, Charset::Serial)?;
    let raw = first.text();
    let serial = find_in_text(&raw).into_iter().next();
    let min_confidence = first
        .chars
        .iter()
        .filter(|c| c.ch.is_ascii_alphanumeric())
        .map(|c| c.confidence)
        .fold(f32::MAX, f32::min);
    Ok(FieldRead {
        serial,
        second: find_in_text(&second.text()).into_iter().next(),
        raw,
        min_confidence: if min_confidence == f32::MAX {
            0.0
        } else {
            min_confidence
        },
        region_blur: crop_sharpness(&crop),
        captioned,
        bbox: line.line.bbox(),
    })
}
