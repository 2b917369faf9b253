//! One photo, end to end, as a short sequence of stages:
//! 1. `decode_and_score`: bytes to upright gray, and the whole photo's blur scores;
//! 2. [`find_codes`]: the label's QR codes and barcodes, and the serial each holds;
//! 3. `locate`: the text lines (the locator's, then the learned detector's on their region),
//!    bounded to a reading budget;
//! 4. `read_lines`: every line read, the right way up, a motion streak undone;
//! 5. `find_fields`: the serial fields and two independent reads of each value (the learned
//!    reader's and Tesseract's);
//! 6. `gather_evidence`: what the decision looks at;
//! 7. [`Report::redecide`]: the verdict, from the evidence and the reported serial.
//!
//! The reported serial is used only by the last stage: crops, OCR settings and the order of work
//! never depend on it.

use std::time::Instant;

use image::GrayImage;

use super::barcode::find_codes;
use super::detect::{detector_region, find_lines_learned, region_holds};
use super::evidence::Evidence;
use super::fields::{Fields, find_fields};
use super::lines::{MAX_LINES_READ, MAX_TEXT_READ, ReadLines, most_text_like, read_lines};
use super::locate::{TextLine, find_print, touch};
use super::ocr::{Ask, LineRead, Readers};
use super::report::{CheckTimings, Report, clamped_box};
use super::serial::{FullSerial, LabelSerial};
use super::verdict::Verdict;
use super::vocabulary::{MODEL_WORD, VERIFICATION_WORD};
use super::{PipelineConfig, Scored, decode_and_score, elapsed_ms};
use crate::error::Result;

/// Checks one photo against the reported serial.
///
/// `debug` receives every crop that is read, with a name, for people tuning the stages.
pub fn check(
    bytes: &[u8],
    reported: &FullSerial,
    config: &PipelineConfig,
    engine: &mut dyn Readers,
    debug: &mut dyn FnMut(&str, &GrayImage),
) -> Result<Report> {
    let total = Instant::now();
    let scored = decode_and_score(bytes, config)?;

    let mut engine = Counted { engine, calls: 0 };
    // The codes are looked for beside the locating, on another of the pool's threads when one
    // is free: on an idle server the detector is the longest step a photo cannot spread.
    let mut codes = (Vec::new(), 0.0);
    let (located, locate_ms) = rayon::in_place_scope(|s| {
        s.spawn(|_| {
            let start = Instant::now();
            codes = (
                find_codes(&scored.photo.gray, scored.reference()),
                elapsed_ms(start),
            );
        });
        let start = Instant::now();
        (locate(&scored, &mut engine), elapsed_ms(start))
    });
    let located = located?;
    let (codes, barcode_ms) = codes;

    let start = Instant::now();
    let gray = &scored.photo.gray;
    let lines = read_lines(gray, &located.lines, &mut engine)?;
    for (i, w) in lines.work.iter().enumerate() {
        debug(&format!("line{i:02}"), &w.crop);
    }
    let fields = find_fields(gray, &lines, &mut engine, debug)?;
    let ocr_ms = elapsed_ms(start);

    let mut evidence = gather_evidence(&located, &lines, fields, &scored);
    evidence.codes = codes;
    let mut report = unjudged_report(&scored, &located, evidence, reported, config);
    report.ocr_calls = engine.calls;
    report.timings.locate_ms = locate_ms;
    report.timings.ocr_ms = ocr_ms;
    report.timings.barcode_ms = barcode_ms;
    report.redecide(reported, config.thresholds);
    report.timings.total_ms = elapsed_ms(total);
    Ok(report)
}

/// The text lines of a photo: those found, and those of them that are read.
struct Located {
    /// Lines to read: at most [`MAX_LINES_READ`] and [`MAX_TEXT_READ`] in all, in the locator's
    /// order (top to bottom).
    lines: Vec<TextLine>,
    /// Lines the locator found.
    found: usize,
}

/// Finds the text lines and keeps the most text-like within the reading budget: the locator's
/// lines (found on the reference view, cut later from the full photo), replaced by the learned
/// detector's where the readers have one (run on the region of the locator's lines,
/// [`find_lines_learned`]); and the lines of small print away from that region, which the
/// locator cannot chain and the detector never looked at: a slip with another device's serial
/// may be one.
fn locate(scored: &Scored, engine: &mut dyn Readers) -> Result<Located> {
    let gray = &scored.photo.gray;
    let (located, small_print) = find_print(gray, scored.reference());
    let region = detector_region(&located);
    let mut lines = find_lines_learned(gray, &located, engine)?.unwrap_or(located);
    let away = |s: &TextLine| region.is_some_and(|r| !region_holds(r, s.centre));
    let away: Vec<TextLine> = small_print
        .into_iter()
        .filter(|s| away(s) && !lines.iter().any(|l| touch(l, s)))
        .collect();
    lines.extend(away);
    let found = lines.len();
    Ok(Located {
        lines: most_text_like(lines, MAX_LINES_READ, MAX_TEXT_READ),
        found,
    })
}

/// Readers that count their calls (the report's `ocr_calls`).
struct Counted<'a> {
    engine: &'a mut dyn Readers,
    calls: usize,
}

impl Readers for Counted<'_> {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> Result<LineRead> {
        self.calls += 1;
        self.engine.read(line, ask)
    }

    fn read_all(&mut self, lines: &[(&GrayImage, Ask)]) -> Result<Vec<LineRead>> {
        self.calls += lines.len();
        self.engine.read_all(lines)
    }

    fn detect(&mut self, view: &GrayImage) -> Result<Option<GrayImage>> {
        self.engine.detect(view)
    }
}

/// Everything the decision looks at: the fields, how many labels the text names (serial
/// captions, `Model` lines, `Verification` lines: the most of the three), the lines read and
/// left unread, the text's sharpness and smear, the streak undone, and the photo's normalised
/// blur score.
fn gather_evidence(
    located: &Located,
    lines: &ReadLines,
    fields: Fields,
    scored: &Scored,
) -> Evidence {
    let count = |word: &str| {
        lines
            .work
            .iter()
            .filter(|w| w.text.to_ascii_uppercase().contains(word))
            .count()
    };
    let captions = lines.work.iter().filter(|w| w.caption.is_some()).count();
    Evidence {
        fields: fields.fields,
        caption_seen: fields.caption_seen,
        labels_seen: captions
            .max(count(MODEL_WORD))
            .max(count(VERIFICATION_WORD)),
        lines: located.lines.len(),
        lines_unread: located.found - located.lines.len(),
        text_blur: lines.text_blur,
        text_smear: lines.text_smear,
        streak_px: lines.streak,
        photo_blur: scored.blur_score_normalized.0,
        photo_coarse_blur: Some(scored.blur_score_coarse),
        photo_peak_blur: Some(scored.blur_score_peak),
        photo_smear: scored.smear,
        codes: Vec::new(),
    }
}

/// The report before its decision: the photo's facts, the evidence, the distinct serials read,
/// and the decode and blur timings; [`Report::redecide`] fills in the verdict and the chosen
/// field.
fn unjudged_report(
    scored: &Scored,
    located: &Located,
    evidence: Evidence,
    reported: &FullSerial,
    config: &PipelineConfig,
) -> Report {
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
    let photo = &scored.photo;
    Report {
        verdict: Verdict::Inconclusive,
        reasons: Vec::new(),
        reported_serial: reported.text(),
        serial_read: None,
        serial_read_raw: None,
        serial_rereads_raw: Vec::new(),
        match_kind: None,
        confidence: None,
        serial_region: None,
        blur_score: scored.blur_score,
        blur_score_normalized: scored.blur_score_normalized,
        region_blur_score: None,
        text_blur_score: evidence.text_blur,
        thresholds: config.thresholds,
        format: photo.format,
        width: photo.gray.width(),
        height: photo.gray.height(),
        exif_orientation: photo.exif_orientation,
        lines_found: located.found,
        text_lines: located
            .lines
            .iter()
            .map(|l| clamped_box(l.bbox(), photo.gray.width(), photo.gray.height()))
            .collect(),
        serials_found,
        ocr_calls: 0,
        codes: Vec::new(),
        timings: CheckTimings {
            decode_ms: scored.timings.decode_ms,
            blur_ms: scored.timings.blur_ms,
            ..CheckTimings::default()
        },
        evidence,
    }
}
