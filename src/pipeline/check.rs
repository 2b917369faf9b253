//! One photo, end to end: decode, blur, locate lines, read them, find the serial field, read its
//! value three times at three scales, decide, report.
//!
//! The reported serial is used only by the final comparison: crops, OCR settings and the order of
//! work never depend on it.

use std::time::Instant;

use image::GrayImage;
use serde::Serialize;

use super::blur::laplacian_variance_with;
use super::deblur::{deblur_rows, streak_length};
use super::decode::PhotoFormat;
use super::glyph::settle_by_shape;
use super::locate::{LINE_TEXT_PX, MAX_CROP_WIDTH_PX, TextLine, cut_line, find_lines_in};
use super::ocr::{Charset, LineRead, Recognizer};
use super::serial::{CAPTIONS, FullSerial, LabelSerial, MatchKind, find_in_text};
use super::verdict::{Evidence, FieldRead, Reason, SMEAR_RANGE, Thresholds, Verdict, decide};
use super::{BlurScore, PipelineConfig, decode_and_score, elapsed_ms, gray_levels_at_ranks};
use crate::error::Result;

/// Words printed on device labels; reading some of them shows the text is the right way up.
const LABEL_WORDS: &[&str] = &[
    "MODEL",
    "SERIAL",
    "S/N",
    "SN:",
    "CODE",
    "POWER",
    "HIKVISION",
    "MADE",
    "CHINA",
    "CAMERA",
    "RECORDER",
    "DEVICE",
    "VERIFICATION",
];
/// Character set for reading serial values.
const VALUE_CHARSET: Charset = Charset::Serial;
/// Zooms of the second and third, independent reads of a serial value (text at 0.8 × and
/// 1.25 × 32 px).
const OTHER_READ_ZOOMS: [f32; 2] = [0.8, 1.25];
/// Longest motion streak along the text that is undone before reading, crop pixels at
/// [`LINE_TEXT_PX`] capitals (0.4 of a capital's height). A longer streak leaves the photo
/// BLURRY.
const MAX_STREAK_PX: f32 = 0.4 * LINE_TEXT_PX;
/// The streak length deconvolved, as a multiple of the autocorrelation dip's lag. Measured: at
/// 0.85 the smeared match photo 050 stays INCONCLUSIVE (its 0.8× re-read is wrong), at 0.95–1.05
/// it is a MATCH (`tests/accuracy.rs`); of the 19 smeared match photos of `tests/motion.rs`, 1.0
/// reads 6 back to MATCH, 1.2 and 1.4 none, and three of them as a confident other serial.
const STREAK_SCALE: f32 = 1.0;
/// Most text lines read on one photo. The testdata labels have at most 46; a photo of pixel
/// noise or dense print has thousands, each costing a Tesseract call (2–60 ms), so reading them
/// all would hold a worker for seconds. Beyond this many (or [`MAX_TEXT_READ`]), the lines with
/// the most character candidates are read and the rest are counted in
/// [`Evidence::lines_unread`], which rules out any verdict but BLURRY and INCONCLUSIVE (a serial
/// may sit on a line not read).
pub const MAX_LINES_READ: usize = 120;
/// Most text read on one photo, as the summed length of the lines read in units of their own
/// text height (a capital letter is about 0.7 of one). Tesseract's time grows with the
/// characters read, so this bounds a photo of 120 long lines as [`MAX_LINES_READ`] bounds one of
/// many short ones. The testdata photos reach at most 502; 1000 leaves room for twice that.
pub const MAX_TEXT_READ: f32 = 1000.0;

/// A box in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    /// The raw text of the independent re-reads of the value at other scales (0.8× and 1.25×).
    pub serial_rereads_raw: Vec<String>,
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
    /// Everything the decision looked at (every serial field's reads, confidences, sharpness and
    /// box; label counts; photo and text sharpness), so the report can be decided again under
    /// other thresholds ([`Report::redecide`]). Holds only serial-field text, never other lines.
    pub evidence: Evidence,
}

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
fn upper_median(mut values: Vec<f64>) -> Option<f64> {
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

/// `S/N` as OCR reads it when the slash is blurred or thin: the slash taken for `I`, `J`, `L`, `1`
/// or `|`. Like `SN`, these count as a caption only standing alone or before punctuation.
const SLASH_MISREADS: &[&str] = &["SIN", "SJN", "SLN", "S1N", "S|N"];

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
        for cap in CAPTIONS.iter().chain(SLASH_MISREADS) {
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

/// One line, cut and read, with what is looked up on it more than once.
struct LineWork {
    line: TextLine,
    crop: GrayImage,
    read: LineRead,
    /// `read.text()`.
    text: String,
    /// `caption_end(&read)`.
    caption: Option<usize>,
}

impl LineWork {
    /// `line`, cut as `crop`, read with `read`.
    fn read(
        line: TextLine,
        crop: GrayImage,
        read: &mut dyn FnMut(&GrayImage) -> Result<LineRead>,
    ) -> Result<LineWork> {
        let read = read(&crop)?;
        Ok(LineWork {
            line,
            crop,
            text: read.text(),
            caption: caption_end(&read),
            read,
        })
    }
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
    let scored = decode_and_score(bytes, config)?;
    let (photo, gray) = (&scored.photo, &scored.photo.gray);
    let (blur_score, blur_score_normalized) = (scored.blur_score, scored.blur_score_normalized);

    let start = Instant::now();
    let lines = find_lines_in(gray, scored.reference());
    let lines_found = lines.len();
    let lines = most_text_like(lines, MAX_LINES_READ, MAX_TEXT_READ);
    let locate_ms = elapsed_ms(start);

    let start = Instant::now();
    let mut ocr_calls = 0usize;
    let mut read = |crop: &GrayImage, charset: Charset| -> Result<LineRead> {
        ocr_calls += 1;
        engine.read_line(crop, charset)
    };

    // Upright or upside down: first read every line the way nearest to upright; read them the
    // other way too only when no label word turned up or the text runs near vertical, and keep
    // whichever way reads more like a label.
    let nearest_upright = lines.first().is_some_and(|l| l.angle.cos() < 0.0);
    let steep = lines.first().is_some_and(|l| l.angle.cos().abs() < 0.5);
    let mut work = read_all(gray, &lines, nearest_upright, &mut |crop| {
        read(crop, Charset::Any)
    })?;
    let mut flip = nearest_upright;
    let score = label_likeness(&work);
    if score.0 == 0 || steep {
        let other = read_all(gray, &lines, !nearest_upright, &mut |crop| {
            read(crop, Charset::Any)
        })?;
        if label_likeness(&other) > score {
            work = other;
            flip = !nearest_upright;
        }
    }
    let (mut text_blur, mut text_smear) = text_scores(&work);
    // Text smeared along its lines by motion: undo the streak on the crops already cut and read
    // every line again.
    let mut streak = None;
    if text_smear.is_some_and(|s| s < *SMEAR_RANGE.start())
        && let Some(len) = streak_of(&work)
    {
        work = work
            .into_iter()
            .map(|w| {
                let crop = deblur_rows(&w.crop, len);
                LineWork::read(w.line, crop, &mut |crop| read(crop, Charset::Any))
            })
            .collect::<Result<_>>()?;
        (text_blur, text_smear) = text_scores(&work);
        streak = Some(len);
    }
    for (i, w) in work.iter().enumerate() {
        debug(&format!("line{i:02}"), &w.crop);
    }

    // Serial fields: a caption with its value after it or on the next line, or a bare serial.
    let mut fields: Vec<FieldRead> = Vec::new();
    let mut caption_seen = false;
    let mut used = vec![false; work.len()];
    for i in 0..work.len() {
        if used[i] {
            continue;
        }
        let caption = work[i].caption;
        caption_seen |= caption.is_some();
        let (value_line, x_start) = match caption {
            Some(end) => {
                let rest = work[i].read.chars[end..]
                    .iter()
                    .filter(|c| c.ch.is_ascii_alphanumeric())
                    .count();
                if rest >= 5 {
                    // Cut midway between the caption's last character and the value's first.
                    let chars = &work[i].read.chars;
                    let first = chars.get(end).map_or(0, |c| c.x0);
                    let x = match end.checked_sub(1).and_then(|k| chars.get(k)) {
                        Some(prev) if prev.x1 < first => (prev.x1 + first) / 2,
                        _ => first - 2,
                    };
                    (i, x)
                } else if let Some(next) = value_line_near(&work, i, flip, &used) {
                    (next, 0)
                } else {
                    // A caption with nothing readable after it.
                    fields.push(unreadable_field(&work[i]));
                    continue;
                }
            }
            None if !find_in_text(&work[i].text).is_empty() || serial_like(&work[i].text) => {
                (i, model_start_x(&work[i].read))
            }
            None => continue,
        };
        used[value_line] = true;
        used[i] = true;
        let field = read_value(
            gray,
            &work[value_line],
            (flip, streak),
            x_start,
            &mut read,
            debug,
            fields.len(),
        )?;
        fields.push(field);
    }
    let ocr_ms = elapsed_ms(start);

    let count = |word: &str| {
        work.iter()
            .filter(|w| w.text.to_ascii_uppercase().contains(word))
            .count()
    };
    let captions = work.iter().filter(|w| w.caption.is_some()).count();
    let labels_seen = captions.max(count("MODEL")).max(count("VERIFICATION"));
    let evidence = Evidence {
        fields,
        caption_seen,
        labels_seen,
        lines: lines.len(),
        lines_unread: lines_found - lines.len(),
        text_blur,
        text_smear,
        streak_px: streak,
        photo_blur: blur_score_normalized.0,
    };
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
    let mut report = Report {
        verdict: Verdict::Inconclusive,
        reasons: Vec::new(),
        reported_serial: reported.text(),
        serial_read: None,
        serial_read_raw: None,
        serial_rereads_raw: Vec::new(),
        match_kind: None,
        confidence: None,
        serial_region: None,
        blur_score,
        blur_score_normalized,
        region_blur_score: None,
        text_blur_score: evidence.text_blur,
        thresholds: config.thresholds,
        format: photo.format,
        width: gray.width(),
        height: gray.height(),
        exif_orientation: photo.exif_orientation,
        lines_found,
        serials_found,
        ocr_calls,
        timings: CheckTimings {
            decode_ms: scored.timings.decode_ms,
            blur_ms: scored.timings.blur_ms,
            locate_ms,
            ocr_ms,
            total_ms: 0.0,
        },
        evidence,
    };
    report.redecide(reported, config.thresholds);
    report.timings.total_ms = elapsed_ms(total);
    Ok(report)
}

impl Report {
    /// Decides again from the stored evidence under `thresholds`, without the photo: sets the
    /// verdict, reasons, match kind, thresholds and the chosen field's reads, confidence, box and
    /// sharpness. `check` itself ends with this, so a re-decided report equals the report a fresh
    /// check with those thresholds would give (for batch re-scoring).
    pub fn redecide(&mut self, reported: &FullSerial, thresholds: Thresholds) {
        let decision = decide(&self.evidence, reported, &thresholds);
        let field = decision.field.and_then(|i| self.evidence.fields.get(i));
        let (width, height) = (self.width, self.height);
        let to_box = |b: (f32, f32, f32, f32)| BoxPx {
            x0: b.0.max(0.0) as u32,
            y0: b.1.max(0.0) as u32,
            x1: (b.2.max(0.0) as u32).min(width),
            y1: (b.3.max(0.0) as u32).min(height),
        };
        self.verdict = decision.verdict;
        self.reasons = decision.reasons;
        self.match_kind = decision.match_kind;
        self.thresholds = thresholds;
        self.reported_serial = reported.text();
        self.serial_read = field.and_then(|f| f.serial.as_ref()).map(LabelSerial::text);
        self.serial_read_raw = field.map(|f| f.raw.clone());
        self.serial_rereads_raw = field.map(|f| f.others_raw.clone()).unwrap_or_default();
        self.confidence = field.map(|f| f.min_confidence);
        self.serial_region = field.map(|f| to_box(f.bbox));
        self.region_blur_score = field.map(|f| f.region_blur);
    }
}

/// The crops of the lines that read as text (three characters or more).
fn text_crops(work: &[LineWork]) -> impl Iterator<Item = &GrayImage> {
    work.iter()
        .filter(|w| w.read.chars.len() >= 3)
        .map(|w| &w.crop)
}

/// Median sharpness and median smear of the [`text_crops`].
fn text_scores(work: &[LineWork]) -> (Option<f64>, Option<f64>) {
    (
        upper_median(text_crops(work).map(crop_sharpness).collect()),
        upper_median(text_crops(work).filter_map(smear).collect()),
    )
}

/// The motion streak along the text to undo, crop pixels: [`STREAK_SCALE`] times the median
/// [`streak_length`] of the [`text_crops`], if that is at most [`MAX_STREAK_PX`].
fn streak_of(work: &[LineWork]) -> Option<f32> {
    let lengths: Vec<f64> = text_crops(work)
        .filter_map(|crop| streak_length(crop, LINE_TEXT_PX))
        .map(f64::from)
        .collect();
    let len = upper_median(lengths)? as f32 * STREAK_SCALE;
    (len <= MAX_STREAK_PX).then_some(len)
}

/// Length of `line` in units of its text height, as read: [`cut_line`] cuts at most
/// [`MAX_CROP_WIDTH_PX`] at [`LINE_TEXT_PX`].
fn text_length(line: &TextLine) -> f32 {
    (line.length / line.text_height.max(1.0)).min(MAX_CROP_WIDTH_PX as f32 / LINE_TEXT_PX)
}

/// At most `max` lines of `lines` and `max_text` of [`text_length`] in all: the lines with the
/// most character candidates first (ties: the longer), skipping any that would exceed
/// `max_text`; returned in the locator's order (top to bottom).
fn most_text_like(mut lines: Vec<TextLine>, max: usize, max_text: f32) -> Vec<TextLine> {
    if lines.len() <= max && lines.iter().map(text_length).sum::<f32>() <= max_text {
        return lines;
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&lines[a], &lines[b]);
        b.chars.cmp(&a.chars).then(b.length.total_cmp(&a.length))
    });
    let mut keep = vec![false; lines.len()];
    let (mut count, mut text) = (0, 0.0f32);
    for &i in &order {
        let length = text_length(&lines[i]);
        if count < max && text + length <= max_text {
            keep[i] = true;
            count += 1;
            text += length;
        }
    }
    let mut keep = keep.into_iter();
    lines.retain(|_| keep.next().unwrap_or(false));
    lines
}

/// Cuts a line for a value re-read at `zoom`: [`cut_line`], then the motion streak undone when
/// there is one (`streak` in crop pixels at zoom 1, scaled with the crop).
fn cut_for_reading(
    gray: &GrayImage,
    line: &TextLine,
    flip: bool,
    zoom: f32,
    streak: Option<f32>,
) -> GrayImage {
    let (crop, _) = cut_line(gray, line, flip, zoom);
    match streak {
        Some(len) => deblur_rows(&crop, len * zoom),
        None => crop,
    }
}

/// Reads every line, in reading order for the orientation (`flip` = rotated by 180°).
fn read_all(
    gray: &GrayImage,
    lines: &[TextLine],
    flip: bool,
    read: &mut dyn FnMut(&GrayImage) -> Result<LineRead>,
) -> Result<Vec<LineWork>> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    if flip {
        order.reverse();
    }
    order
        .into_iter()
        .map(|i| {
            let (crop, _) = cut_line(gray, &lines[i], flip, 1.0);
            LineWork::read(lines[i].clone(), crop, read)
        })
        .collect()
}

/// How much the reads look like a label the right way up: label words found, then the mean
/// character confidence (as an integer, for ordering).
fn label_likeness(work: &[LineWork]) -> (usize, i64) {
    let words = work
        .iter()
        .map(|w| {
            let text = w.text.to_ascii_uppercase();
            LABEL_WORDS.iter().filter(|k| text.contains(*k)).count()
        })
        .sum();
    let confidences: Vec<f32> = work
        .iter()
        .flat_map(|w| w.read.chars.iter().map(|c| c.confidence))
        .collect();
    let mean = if confidences.is_empty() {
        0.0
    } else {
        confidences.iter().sum::<f32>() / confidences.len() as f32
    };
    (words, (mean * 100.0) as i64)
}

/// Crop column where a full serial's model starts on a line read without a separate caption:
/// the letters before the first dash, minus a caption glued in front (`SNDS-…`) and, since model
/// families are `DS` or `IDS`, minus stray letters before those (`CNDS-…`). This only places the
/// cut for the second, whitelisted read; what that read says is judged on its own.
fn model_start_x(read: &LineRead) -> i32 {
    let up: Vec<char> = read
        .chars
        .iter()
        .map(|c| {
            if matches!(c.ch, '–' | '—' | '‐' | '−') {
                '-'
            } else {
                c.ch.to_ascii_uppercase()
            }
        })
        .collect();
    let Some(dash) = up.iter().position(|&c| c == '-') else {
        return 0;
    };
    let mut start = dash;
    while start > 0 && up[start - 1].is_ascii_uppercase() {
        start -= 1;
    }
    let letters: String = up[start..dash].iter().collect();
    if letters.len() > 2 && letters.ends_with("DS") {
        start = dash - if letters.ends_with("IDS") { 3 } else { 2 };
    }
    let first = read.chars[start].x0;
    match start.checked_sub(1).map(|k| &read.chars[k]) {
        Some(prev) if prev.x1 < first => (prev.x1 + first) / 2,
        Some(_) => first - 2,
        None => 0,
    }
}

/// Where a line starts in reading order, photo pixels.
fn start_point(line: &TextLine, flip: bool) -> (f32, f32) {
    let half = line.length / 2.0 * if flip { -1.0 } else { 1.0 };
    (
        line.centre.0 - half * line.angle.cos(),
        line.centre.1 - half * line.angle.sin(),
    )
}

/// Whether a line names another field (model, verification code, MAC, power, origin): such a line
/// never holds the serial value, however serial-like its characters look (`MAC-44-19-B6-…`).
fn has_other_field_word(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    ["MODEL", "VERIFICATION", "CODE", "MAC", "POWER", "MADE"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Whether OCR text holds a long run of serial characters with a dash (a full serial that the
/// any-character read got slightly wrong).
fn serial_like(text: &str) -> bool {
    if has_other_field_word(text) {
        return false;
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '/'))
        .any(|run| run.len() >= 20 && run.contains('-'))
}

/// The line holding the value of the caption-only line `i`: the unused line whose start is
/// nearest the caption's start (a value under the caption) or its end (a value after it, found
/// as a line of its own because it is printed smaller), within 3.5 text heights, preferring one
/// that reads like a serial.
fn value_line_near(work: &[LineWork], i: usize, flip: bool, used: &[bool]) -> Option<usize> {
    let here = &work[i].line;
    let (origin, end) = (start_point(here, flip), start_point(here, !flip));
    let candidates = (0..work.len())
        .filter(|&j| j != i && !used[j])
        .filter_map(|j| {
            let other = &work[j].line;
            let (x, y) = start_point(other, flip);
            let distance = (x - origin.0)
                .hypot(y - origin.1)
                .min((x - end.0).hypot(y - end.1));
            let reach = 3.5 * here.text_height.max(other.text_height);
            let text = &work[j].text;
            if has_other_field_word(text) {
                return None;
            }
            let alnum = text.chars().filter(char::is_ascii_alphanumeric).count();
            let serialish = !find_in_text(text).is_empty() || serial_like(text);
            (distance < reach && (serialish || alnum >= 9)).then_some((j, serialish, distance))
        });
    candidates
        .min_by(|a, b| b.1.cmp(&a.1).then(a.2.total_cmp(&b.2)))
        .map(|(j, _, _)| j)
}

fn unreadable_field(line: &LineWork) -> FieldRead {
    FieldRead {
        serial: None,
        others: Vec::new(),
        others_raw: Vec::new(),
        raw: line.text.clone(),
        min_confidence: 0.0,
        region_blur: crop_sharpness(&line.crop),
        region_smear: smear(&line.crop),
        bbox: line.line.bbox(),
    }
}

/// Reads a serial value on `line` from crop column `x_start` on, three times (the line crop, then
/// the line cut again at the [`OTHER_READ_ZOOMS`]), with the serial character set. The third
/// argument is the orientation (`flip`: rotated by 180°) and the motion streak undone on the
/// lines, if any (see [`cut_for_reading`]).
fn read_value(
    gray: &GrayImage,
    line: &LineWork,
    (flip, streak): (bool, Option<f32>),
    x_start: i32,
    read: &mut dyn FnMut(&GrayImage, Charset) -> Result<LineRead>,
    debug: &mut dyn FnMut(&str, &GrayImage),
    index: usize,
) -> Result<FieldRead> {
    // From x_start to the end of the line (a stray mark at the end is dropped by the grammar).
    let cut = |img: &GrayImage, zoom: f32| {
        let x0 = ((x_start as f32 * zoom) as i32).clamp(0, img.width() as i32 - 1) as u32;
        image::imageops::crop_imm(img, x0, 0, img.width() - x0, img.height()).to_image()
    };
    let crop = cut(&line.crop, 1.0);
    debug(&format!("value{index}"), &crop);
    let mut first = read(&crop, VALUE_CHARSET)?;
    settle_by_shape(&crop, &mut first);
    let mut others = Vec::new();
    let mut others_raw = Vec::new();
    for (k, zoom) in OTHER_READ_ZOOMS.into_iter().enumerate() {
        let scaled = cut(&cut_for_reading(gray, &line.line, flip, zoom, streak), zoom);
        debug(&format!("value{index}_zoom{k}"), &scaled);
        let mut other = read(&scaled, VALUE_CHARSET)?;
        settle_by_shape(&scaled, &mut other);
        others.push(find_in_text(&other.text()).into_iter().next());
        others_raw.push(other.text());
    }
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
        others,
        others_raw,
        raw,
        min_confidence: if min_confidence == f32::MAX {
            0.0
        } else {
            min_confidence
        },
        region_blur: crop_sharpness(&crop),
        region_smear: smear(&crop),
        bbox: line.line.bbox(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line `k` lines down the photo, `length` px long at 20 px text, with `chars` candidates.
    fn line(k: usize, length: f32, chars: usize) -> TextLine {
        TextLine {
            angle: 0.0,
            centre: (length / 2.0, 30.0 * k as f32),
            length,
            text_height: 20.0,
            chars,
            across: 30.0 * k as f32,
        }
    }

    #[test]
    fn the_lines_read_are_bounded_in_count_and_in_text() {
        // Ten lines of 100 text heights fit the budget of 1000; an eleventh does not.
        let long: Vec<TextLine> = (0..11).map(|k| line(k, 2000.0, 40)).collect();
        assert_eq!(
            most_text_like(long.clone()[..10].to_vec(), 120, 1000.0).len(),
            10
        );
        assert_eq!(most_text_like(long, 120, 1000.0).len(), 10);
        // Of 200 short lines the 120 with the most candidates are kept, top to bottom.
        let short: Vec<TextLine> = (0..200).map(|k| line(k, 100.0, k % 7 + 2)).collect();
        let kept = most_text_like(short, 120, 1000.0);
        assert_eq!(kept.len(), 120);
        assert!(kept.windows(2).all(|w| w[0].across < w[1].across));
        let fewest = kept.iter().map(|l| l.chars).min();
        assert!(fewest >= Some(4), "{fewest:?}");
    }

    #[test]
    fn other_fields_are_never_serial_candidates() {
        assert!(serial_like("DS-2CD2043G2-1U20180411CCWRX06579000"));
        assert!(serial_like("9S-2CD2043G2-1U20210704AACH435933916"));
        assert!(!serial_like("MAC-44-19-B6-13-28-F1-AA-BB-CC"));
        assert!(!serial_like("Model: DS-2CD2T47G2-L-XXXXXXXXXXXX"));
        assert!(!serial_like("Verification Code: KETPWX"));
        assert!(!serial_like("this device complies with part 15"));
    }

    #[test]
    fn captions_are_found_with_a_misread_slash() {
        let caption = |text: &str| {
            let mut fake = super::super::ocr::ScriptedRecognizer::new(&[text], 90.0);
            let read = fake
                .read_line(&GrayImage::new(400, 40), Charset::Any)
                .expect("read");
            caption_end(&read).map(|end| read.chars[end..].iter().map(|c| c.ch).collect())
        };
        let value = Some("L12345678".to_string());
        assert_eq!(caption("S/N: L12345678"), value);
        assert_eq!(caption("SIN: L12345678"), value);
        assert_eq!(caption("SJN L12345678"), value);
        assert_eq!(caption("Serial No.: L12345678"), value);
        // Only as a word of its own: not the start of another word.
        assert_eq!(caption("SINGLE PHASE"), None);
        assert_eq!(caption("SNOW"), None);
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
