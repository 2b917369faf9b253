//! Serial fields: where on the lines read a serial's value is printed, and two independent reads
//! of each value.
//!
//! A field is a caption (`S/N`, `SN`, `Serial No.`, `SerialNo`, `Serial Number`, any case, with or
//! without a colon; `S/N` also with its slash misread) with its value after it on the same line, or
//! on the nearest line under the caption's start or after its end; or a bare full serial on a line
//! of its own. Lines naming another field (model, verification code, MAC, power) never give the
//! value. Each value is read with the serial character set by the learned reader (the field's
//! reading) and by Tesseract at two scales (the second, independent reading). Neither the crops nor
//! the character set depend on the reported serial.

use image::GrayImage;

use super::deblur::deblur_rows;
use super::evidence::FieldRead;
use super::gray_levels_at_ranks;
use super::lines::{LineWork, ReadLines};
use super::locate::{
    LINE_START_MARGIN, LINE_TEXT_PX, MAX_CROP_WIDTH_PX, TextLine, cut_line, part_of_line,
};
use super::ocr::{Ask, CharRead, LineRead, Readers};
use super::resample::scale;
use super::serial::{
    LabelSerial, before_verification_code, find_in_text, find_spans_in_text, parse_short,
};
use super::sharpness::{crop_sharpness, smear};
use super::vocabulary::OTHER_FIELD_WORDS;
use crate::error::Result;

/// The reads of a serial value: the field's reading (the learned reader) of its crop
/// ([`value_crops`]), then the second, independent reading (Tesseract) of the same crop and of
/// the line cut again at [`SECOND_ZOOM`], that one with a line's start margin
/// ([`with_start_margin`]), both ending where the field's reading found the verification code
/// ([`second_reading_crops`]). Two Tesseract reads at two scales and margins tell a sure reading
/// (both the same) from one of its misreads, which are often confident but seldom repeat under
/// other conditions.
const SECOND_READS: usize = 2;
/// Zoom of the value's second crop (text at 1.25 × 32 px).
const SECOND_ZOOM: f32 = 1.25;

/// The serial fields found on the lines read.
pub(super) struct Fields {
    /// Every field, in reading order, with its value's reads.
    pub fields: Vec<FieldRead>,
    /// Whether a serial caption was read anywhere.
    pub caption_seen: bool,
}

/// A value's line and its crops ([`value_crops`]).
type ValueCut = (usize, [GrayImage; 2]);

/// Where a line's serial value is, if the line starts a field.
enum Value {
    /// On line `line`, from crop column `x_start` on.
    At { line: usize, x_start: i32 },
    /// A caption with no line of a value after it or near it: the value may be print too small
    /// for the detector, after crop column `x_start` of the caption's line `line`.
    Past { line: usize, x_start: i32 },
    /// A bare short serial with no caption, the line's whole value, on line `line` from crop
    /// column `x_start` on: a value, unless a serial caption's value went unread
    /// ([`weigh_bare_serials`]).
    Bare { line: usize, x_start: i32 },
    /// A bare short serial after one stray character ([`short_after_stray`]), on line `line`
    /// from crop column `x_start` on: kept only when it differs from another field's serial
    /// ([`weigh_bare_serials`]).
    Stray { line: usize, x_start: i32 },
}

/// Finds every serial field on the lines read and reads each value as [`SECOND_READS`] tells
/// ([`value_crops`]): every value's first reading in one batch, then every second reading in
/// another. `debug` receives each value crop.
pub(super) fn find_fields(
    gray: &GrayImage,
    lines: &ReadLines,
    engine: &mut dyn Readers,
    debug: &mut dyn FnMut(&str, &GrayImage),
) -> Result<Fields> {
    let work = &lines.work;
    let mut caption_seen = false;
    // Each field: its caption's line, and its value's line with the value's crops (None:
    // unreadable).
    let mut planned: Vec<(usize, Option<ValueCut>)> = Vec::new();
    let mut used = vec![false; work.len()];
    // What each planned field's value is: after a caption, bare, or after a stray character.
    let mut kinds: Vec<Kind> = Vec::new();
    for i in 0..work.len() {
        if used[i] {
            continue;
        }
        caption_seen |= work[i].caption.is_some();
        match value_of(work, i, lines.flip, &used) {
            None => {}
            Some(Value::Past { line, x_start }) => {
                used[line] = true;
                let past = small_value_past(gray, &work[line], (lines.flip, lines.streak), x_start);
                if let Some(cut) = &past {
                    debug(&format!("value{}", planned.len()), &cut[0]);
                    debug(&format!("value{}_zoom", planned.len()), &cut[1]);
                }
                planned.push((i, past.map(|cut| (line, cut))));
                kinds.push(Kind::Captioned);
            }
            Some(
                value @ (Value::At { line, x_start }
                | Value::Bare { line, x_start }
                | Value::Stray { line, x_start }),
            ) => {
                // A bare value's line is line `i` itself.
                used[line] = true;
                used[i] = true;
                let cut = value_crops(gray, &work[line], (lines.flip, lines.streak), x_start);
                debug(&format!("value{}", planned.len()), &cut[0]);
                debug(&format!("value{}_zoom", planned.len()), &cut[1]);
                planned.push((i, Some((line, cut))));
                kinds.push(match value {
                    Value::Stray { .. } => Kind::Stray,
                    Value::Bare { .. } => Kind::Bare,
                    _ if work[i].caption.is_some() => Kind::Captioned,
                    _ => Kind::Full,
                });
            }
        }
    }
    let cuts: Vec<&[GrayImage; 2]> = planned
        .iter()
        .filter_map(|(_, value)| value.as_ref())
        .map(|(_, cut)| cut)
        .collect();
    let mut firsts = engine.read_all(
        &cuts
            .iter()
            .map(|cut| (&cut[0], Ask::VALUE))
            .collect::<Vec<_>>(),
    )?;
    read_again_wider(&cuts, &mut firsts, engine)?;
    let second_crops: Vec<[GrayImage; 2]> = cuts
        .iter()
        .zip(&firsts)
        .map(|(cut, first)| second_reading_crops(cut, first))
        .collect();
    let second_jobs: Vec<(&GrayImage, Ask)> = second_crops
        .iter()
        .flat_map(|crops| crops.iter().map(|crop| (crop, Ask::SECOND_READING)))
        .collect();
    let seconds = engine.read_all(&second_jobs)?;
    let mut reads = firsts.iter().zip(seconds.chunks(SECOND_READS));
    let fields = planned
        .iter()
        .map(|(caption_line, value)| match (value, reads.next()) {
            (Some((line, cut)), Some((first, rest))) => {
                field_from_reads(&work[*line], &cut[0], first, rest)
            }
            _ => unreadable_field(&work[*caption_line]),
        })
        .collect();
    Ok(Fields {
        fields: weigh_bare_serials(fields, &kinds),
        caption_seen,
    })
}

/// How much wider than it is cut a value is read again when its first reading holds no serial
/// or holds one unsurely ([`read_again_wider`]). With the learned reader's own widening (1.2×)
/// a value is read at 1.4× then. Fitted on fresh draws of the generator: for values with no
/// serial, 2 legible matching photos more MATCH on seed 9100011 (`…20221118…` and `…W16622701`
/// read whole), none changed on tuning; for unsure ones too, 1 more on tuning, 5 on seed 9100009
/// and 1 on seed 9100011, and no verdict lost. Reading every value wider (1.6× in all) lost 7 of
/// tuning's matching photos to letters read twice (`WCVU` as `WVCVU`): the recogniser was
/// fine-tuned on 1.0–1.2× widths. Reading unsure values at 1.0× as well answered a transposed
/// neighbour INCONCLUSIVE instead of MISMATCH and gained nothing.
const VALUE_WIDENING: f32 = 1.4 / 1.2;

/// The first serial in `text` (`read`'s text or the part of it before a verification code), and
/// the lowest confidence (0–100) of that serial's own characters: a mark read past its end, as a
/// code's module beside the value, is not part of it, as the grammar decided.
fn first_serial(read: &LineRead, text: &str) -> Option<(LabelSerial, f32)> {
    let (serial, span) = find_spans_in_text(text).into_iter().next()?;
    Some((
        serial,
        min_confidence_of(read.chars.get(span).unwrap_or_default()),
    ))
}

/// The lowest confidence of the serial a value's reading holds, as the field takes it
/// ([`field_from_reads`]): after the marks at its end are trimmed, before a verification code.
/// None when no serial parsed.
fn serial_confidence(read: &LineRead, crop: &GrayImage) -> Option<f32> {
    let read = without_marks_at_end(read, crop);
    first_serial(&read, before_verification_code(&read.text())).map(|(_, c)| c)
}

/// Reads again, [`VALUE_WIDENING`] times as wide, every value whose first reading holds no
/// serial or holds one read unsurely (a character under [`SURE_READ`]), and keeps the wider
/// reading when it holds a serial and, for an unsure one, holds it more surely (its characters'
/// columns mapped back to the crop's). Greedy CTC decoding joins a doubled character whose
/// copies fall on neighbouring output steps with no blank between them (`2022118` for
/// `20221118` in condensed print); the wider input gives each character more steps. Which
/// values are read again depends on the readings only, never on the reported serial.
fn read_again_wider(
    cuts: &[&[GrayImage; 2]],
    firsts: &mut [LineRead],
    engine: &mut dyn Readers,
) -> Result<()> {
    let confidence: Vec<Option<f32>> = firsts
        .iter()
        .zip(cuts)
        .map(|(read, cut)| serial_confidence(read, &cut[0]))
        .collect();
    let again: Vec<usize> = (0..firsts.len())
        .filter(|&i| confidence[i].is_none_or(|c| c < SURE_READ))
        .collect();
    if again.is_empty() {
        return Ok(());
    }
    let wide: Vec<GrayImage> = again
        .iter()
        .map(|&i| {
            let crop = &cuts[i][0];
            let w = ((crop.width() as f32 * VALUE_WIDENING).round() as u32).max(1);
            scale(crop, w, crop.height())
        })
        .collect();
    let reads = engine.read_all(&wide.iter().map(|c| (c, Ask::VALUE)).collect::<Vec<_>>())?;
    for (&i, mut read) in again.iter().zip(reads) {
        for c in &mut read.chars {
            c.x0 = (c.x0 as f32 / VALUE_WIDENING).floor() as i32;
            c.x1 = (c.x1 as f32 / VALUE_WIDENING).ceil() as i32;
        }
        let wider = serial_confidence(&read, &cuts[i][0]);
        let surer = match (wider, confidence[i]) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(wider), Some(first)) => wider > first,
        };
        if surer {
            firsts[i] = read;
        }
    }
    Ok(())
}

/// A serial's characters read at this confidence (0–100) or more are read surely; under it a
/// value is read again wider ([`read_again_wider`]). The verdict's default floor
/// (`Thresholds::min_char_confidence`).
const SURE_READ: f32 = 60.0;

/// What a field's value was found as.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// After or near a serial caption, or a caption with no value found.
    Captioned,
    /// A full serial (or serial-like text) with no caption.
    Full,
    /// A bare short serial, the line's whole value, with no caption.
    Bare,
    /// A bare short serial after one stray character ([`short_after_stray`]).
    Stray,
}

/// `fields` without the bare short serials that prove nothing. A short serial after a stray
/// character only counts as a second serial beside a field read otherwise (a slip's or a
/// sticker's serial beside the label), so it is kept only when it differs from another field's
/// short serial. A bare short serial that is its line's whole value is a value, except when a
/// serial caption's value went unread: then it too is kept only as such a contradiction. The
/// nine characters left visible at the end of a full serial under tape read so (`637043539`
/// beside `Serial Number` and a strip of tape, or `2Z77031776`, the `R` before them read as
/// `2`), and taken as the value they MATCHed two occluded validation photos.
fn weigh_bare_serials(fields: Vec<FieldRead>, kinds: &[Kind]) -> Vec<FieldRead> {
    let caption_unread = fields
        .iter()
        .zip(kinds)
        .any(|(f, &k)| k == Kind::Captioned && f.serial.is_none());
    let only_contradicts = |k: Kind| k == Kind::Stray || (k == Kind::Bare && caption_unread);
    let shorts: Vec<String> = fields
        .iter()
        .zip(kinds)
        .filter(|pair| !only_contradicts(*pair.1))
        .filter_map(|(f, _)| f.serial.as_ref().map(|serial| serial.short().to_string()))
        .collect();
    let contradicts = |f: &FieldRead| {
        f.serial
            .as_ref()
            .is_some_and(|serial| !shorts.is_empty() && !shorts.iter().any(|k| k == serial.short()))
    };
    fields
        .into_iter()
        .zip(kinds)
        .filter(|pair| !only_contradicts(*pair.1) || contradicts(&pair.0))
        .map(|(f, _)| f)
        .collect()
}

/// Where the value of a field starting on line `i` is: after its caption on the same line (cut
/// midway between the caption's last character and the value's first), on a line near the
/// caption, or the line itself when it holds a bare serial; `None` when line `i` starts no field.
fn value_of(work: &[LineWork], i: usize, flip: bool, used: &[bool]) -> Option<Value> {
    match work[i].caption {
        Some(end) => {
            let rest = work[i].read.chars[end..]
                .iter()
                .filter(|c| c.ch.is_ascii_alphanumeric())
                .count();
            if rest >= 5 {
                let chars = &work[i].read.chars;
                let x = match (
                    end.checked_sub(1).and_then(|k| chars.get(k)),
                    chars.get(end),
                ) {
                    (Some(prev), Some(first)) => cut_between(&work[i].crop, prev, first),
                    (None, Some(first)) => first.x0 - 2,
                    _ => 0,
                };
                Some(Value::At {
                    line: i,
                    x_start: x,
                })
            } else if let Some(next) = value_line_near(work, i, flip, used) {
                Some(Value::At {
                    line: next,
                    x_start: 0,
                })
            } else {
                let chars = &work[i].read.chars;
                let x_start = end.checked_sub(1).map_or(0, |k| chars[k].x1);
                Some(Value::Past { line: i, x_start })
            }
        }
        None => {
            let found = find_spans_in_text(&work[i].text);
            let full = found.iter().any(|(s, _)| matches!(s, LabelSerial::Full(_)));
            let x_start = || model_start_x(&work[i].read, &work[i].crop);
            if full || serial_like(&work[i].text) {
                Some(Value::At {
                    line: i,
                    x_start: x_start(),
                })
            } else if !found.is_empty() {
                // A short serial after a misread caption starts past it.
                let chars = &work[i].read.chars;
                let start = found.first().map_or(0, |(_, span)| span.start);
                let x_start = match start.checked_sub(1).and_then(|k| chars.get(k)) {
                    Some(prev) if start < chars.len() => {
                        cut_between(&work[i].crop, prev, &chars[start])
                    }
                    _ => x_start(),
                };
                Some(Value::Bare { line: i, x_start })
            } else {
                short_after_stray(&work[i]).map(|x_start| Value::Stray { line: i, x_start })
            }
        }
    }
}

/// Crop column where a bare short serial starts on a line that reads as one stray character and
/// a short serial (`2Z37666739`: the detector's box reaching a mark before the print), if the
/// line reads so and names no other field. A bare short serial without the stray character is
/// found by [`find_in_text`]; with it, it went unseen, and a slip printed with another device's
/// serial beside a label was answered on the label's serial alone (a tuning photo).
fn short_after_stray(line: &LineWork) -> Option<i32> {
    let chars = &line.read.chars;
    if chars.len() != 10 || has_other_field_word(&line.text) {
        return None;
    }
    let rest: String = chars[1..]
        .iter()
        .map(|c| c.ch.to_ascii_uppercase())
        .collect();
    parse_short(&rest)?;
    Some(cut_between(&line.crop, &chars[0], &chars[1]))
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

/// Crop column where a full serial's model starts on a line read without a separate caption:
/// the letters before the first dash, minus a caption glued in front (`SNDS-…`) and, since model
/// families are `DS` or `IDS`, minus stray letters before those (`CNDS-…`). This only places the
/// cut for the second, whitelisted read; what that read says is judged on its own.
fn model_start_x(read: &LineRead, crop: &GrayImage) -> i32 {
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
    match start.checked_sub(1).map(|k| &read.chars[k]) {
        Some(prev) => cut_between(crop, prev, &read.chars[start]),
        None => 0,
    }
}

/// Crop column where a value starting with `first` is cut from what precedes it (`prev`, the
/// caption's last character or a letter glued in front): the middle of the widest run of
/// columns free of ink between `prev`'s start and `first`'s end ([`ink_gap`]), so that the value
/// keeps its first stroke and some ground before it. A learned reader's character boxes are the
/// columns of its time steps (8 input px each), not the glyphs' edges: cut at them, the first
/// letter lost its left stroke (`M` read `H`, `N` read `H` by the second reading on tuning
/// photos). Without such a gap, midway between the two boxes, or 2 px before `first`'s box when
/// they touch.
fn cut_between(crop: &GrayImage, prev: &CharRead, first: &CharRead) -> i32 {
    if let Some(x) = ink_gap(crop, prev.x0, first.x1) {
        return x;
    }
    if prev.x1 < first.x0 {
        (prev.x1 + first.x0) / 2
    } else {
        first.x0 - 2
    }
}

/// Fewest columns free of ink that count as a gap between two characters, crop px (text is
/// 32 px tall in a crop; a word space is about 8 px).
const MIN_GAP_PX: i32 = 2;

/// The middle of the widest run of at least [`MIN_GAP_PX`] columns of `crop` in `[from, to)`
/// with no ink in the crop's middle three fifths (away from neighbouring lines' ink), `None`
/// when there is none or the crop has no contrast. Ink is darker than [`ink_threshold`] (crops
/// are dark print on a light ground).
fn ink_gap(crop: &GrayImage, from: i32, to: i32) -> Option<i32> {
    let (w, h) = (crop.width() as i32, crop.height());
    let (from, to) = (from.clamp(0, w), to.clamp(0, w));
    if to - from < MIN_GAP_PX {
        return None;
    }
    let threshold = ink_threshold(crop)?;
    let rows = (h / 5)..(h - h / 5).max(h / 5 + 1);
    let blank = |x: i32| {
        rows.clone()
            .all(|y| crop.get_pixel(x as u32, y.min(h - 1)).0[0] > threshold)
    };
    let (mut best, mut run_start) = (None::<(i32, i32)>, None::<i32>);
    for x in from..=to {
        let is_blank = x < to && blank(x);
        match (is_blank, run_start) {
            (true, None) => run_start = Some(x),
            (false, Some(s)) => {
                if x - s >= MIN_GAP_PX && best.is_none_or(|(bs, be)| x - s > be - bs) {
                    best = Some((s, x));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best.map(|(s, e)| (s + e) / 2)
}

/// Where a line starts in reading order, photo pixels.
fn start_point(line: &TextLine, flip: bool) -> (f32, f32) {
    let half = line.length / 2.0 * if flip { -1.0 } else { 1.0 };
    (
        line.centre.0 - half * line.angle.cos(),
        line.centre.1 - half * line.angle.sin(),
    )
}

/// Whether a line names another field (model, verification code, MAC, power, origin) or is a
/// power rating (`100-240VAC 50/60Hz`, `12V DC`): such a line never holds the serial value,
/// however serial-like its characters look (`MAC-44-19-B6-…`).
fn has_other_field_word(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    OTHER_FIELD_WORDS.iter().any(|w| upper.contains(w)) || is_power_rating(&upper)
}

/// Whether upper-case text holds a power rating: a number followed by `V AC`, `VAC`, `V DC`,
/// `VDC` or `HZ` (spaces allowed), on a line too short to also hold a full serial (fewer than
/// 20 serial characters in a row).
fn is_power_rating(upper: &str) -> bool {
    let compact: String = upper.chars().filter(|c| !c.is_whitespace()).collect();
    let longest_run = compact
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let unit_after_number = ["VAC", "VDC", "HZ"].iter().any(|unit| {
        compact
            .match_indices(unit)
            .any(|(i, _)| compact[..i].ends_with(|c: char| c.is_ascii_digit()))
    });
    unit_after_number && longest_run < 20
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

/// A field whose caption was read but no value near it: its box and sharpness, no serial.
fn unreadable_field(line: &LineWork) -> FieldRead {
    FieldRead {
        serial: None,
        others: Vec::new(),
        others_raw: Vec::new(),
        others_min_confidence: Vec::new(),
        raw: before_verification_code(&line.text).to_string(),
        min_confidence: 0.0,
        region_blur: crop_sharpness(&line.crop),
        region_smear: smear(&line.crop),
        bbox: line.line.bbox(),
    }
}

/// The crops a serial value on `line` is read from, each from crop column `x_start` (at zoom 1)
/// to the line's end (a stray mark at the end is dropped by the grammar): the line crop as read,
/// and the line cut again at [`SECOND_ZOOM`]. The second argument is the orientation (`flip`:
/// rotated by 180°) and the motion streak undone on the lines, if any, undone here too.
///
/// A value printed smaller than its line's text ([`small_print_rows`]), or whose print goes on
/// past the line's end ([`extended_to_print_end`]), is cut again as a line of its own: at its
/// own size, aligned to its print, to the print's end, its start margin blanked. On the tuning
/// photos this took legible matching photos from 222 to 230 of 291 MATCH, exact reads from 341
/// to 349 of 416.
fn value_crops(
    gray: &GrayImage,
    line: &LineWork,
    (flip, streak): (bool, Option<f32>),
    x_start: i32,
) -> [GrayImage; 2] {
    let cut = |img: &GrayImage, zoom: f32| {
        let x0 = ((x_start as f32 * zoom) as i32).clamp(0, img.width() as i32 - 1) as u32;
        image::imageops::crop_imm(img, x0, 0, img.width() - x0, img.height()).to_image()
    };
    let first = cut(&line.crop, 1.0);
    let crop = &line.crop;
    let small = small_print_rows(&first);
    let half = LINE_TEXT_PX / 2.0;
    let middle = crop.height() as f32 / 2.0;
    let rows = small.map_or((middle - half, middle + half), |(y0, y1)| {
        (y0 as f32, y1 as f32)
    });
    let x0 = x_start.clamp(0, crop.width() as i32 - 1) as f32;
    let value = part_of_line(
        &line.line,
        flip,
        1.0,
        crop.dimensions(),
        (x0, crop.width() as f32),
        rows,
    );
    let (value, longer) = extended_to_print_end(gray, value, flip);
    if small.is_none() && !longer {
        let zoomed = cut_for_reading(gray, &line.line, flip, SECOND_ZOOM, streak);
        return [first, cut(&zoomed, SECOND_ZOOM)];
    }
    cut_value(gray, &value, (flip, streak), &line.line)
}

/// The crops of a value cut as a line of its own (at zoom 1 and [`SECOND_ZOOM`]), its start
/// margin blanked; `streak` is in crop px at the scale of `found_on`, the line it was found on.
fn cut_value(
    gray: &GrayImage,
    value: &TextLine,
    (flip, streak): (bool, Option<f32>),
    found_on: &TextLine,
) -> [GrayImage; 2] {
    let streak = streak.map(|len| len * found_on.text_height / value.text_height);
    let cut = |zoom: f32| {
        let crop = cut_for_reading(gray, value, flip, zoom, streak);
        blank_start(crop, LINE_START_MARGIN * LINE_TEXT_PX * zoom)
    };
    [cut(1.0), cut(SECOND_ZOOM)]
}

/// How far past a caption small print is looked for, in the caption's text heights.
const LOOK_PAST_CAPTION: f32 = 6.0;

/// The crops of a value printed too small for the detector near a caption that has no value
/// line: first in the [`LOOK_PAST_CAPTION`] text heights after crop column `x_start` of the
/// caption's line (0.9 text heights either side of its middle: small print may be set at the
/// caption's cap line), then under the caption (0.55–2 text heights below its middle, from its start
/// to as far past its end). The value is the band of small print there ([`small_band`]) from
/// its first inked column, followed to its end ([`extended_to_print_end`]); `None` when neither
/// place holds small print.
fn small_value_past(
    gray: &GrayImage,
    line: &LineWork,
    (flip, streak): (bool, Option<f32>),
    x_start: i32,
) -> Option<[GrayImage; 2]> {
    let crop = &line.crop;
    let x0 = x_start.clamp(0, crop.width() as i32) as f32;
    let middle = crop.height() as f32 / 2.0;
    let past = LOOK_PAST_CAPTION * LINE_TEXT_PX;
    let places = [
        (
            (x0, x0 + past),
            (middle - 0.9 * LINE_TEXT_PX, middle + 0.9 * LINE_TEXT_PX),
        ),
        (
            (0.0, x0 + past),
            (middle + 0.55 * LINE_TEXT_PX, middle + 2.0 * LINE_TEXT_PX),
        ),
    ];
    let value = places.iter().find_map(|&(xs, ys)| {
        let probe = part_of_line(&line.line, flip, 1.0, crop.dimensions(), xs, ys);
        small_print_in(gray, &probe, flip, line.line.text_height)
    })?;
    let (value, _) = extended_to_print_end(gray, value, flip);
    Some(cut_value(gray, &value, (flip, streak), &line.line))
}

/// The small print in the crop of `probe` (print between 0.2 and 0.65 of `caption_height`, the
/// caption's text height, photo px), as a line from its first inked column to the probe's end.
fn small_print_in(
    gray: &GrayImage,
    probe: &TextLine,
    flip: bool,
    caption_height: f32,
) -> Option<TextLine> {
    let (seen, k) = cut_line(gray, probe, flip, 1.0);
    let margin = LINE_START_MARGIN * LINE_TEXT_PX;
    let seen = blank_start(seen, margin);
    let caption_px = caption_height * k;
    let (y0, y1) = small_band(&seen, 0.2 * caption_px, SMALL_PRINT * caption_px)?;
    let threshold = ink_threshold_at(&seen, SPARSE_INK_SHARE)?;
    let first = (margin as u32..seen.width())
        .find(|&x| (y0..y1).any(|y| seen.get_pixel(x, y).0[0] < threshold))?;
    Some(part_of_line(
        probe,
        flip,
        1.0,
        seen.dimensions(),
        (first.saturating_sub(4) as f32, seen.width() as f32),
        (y0 as f32, y1 as f32),
    ))
}

/// The band of rows holding the most ink among those between `min` and `max` px tall that touch
/// neither edge of the crop (a band cut by an edge is another line's).
fn small_band(crop: &GrayImage, min: f32, max: f32) -> Option<(u32, u32)> {
    let h = crop.height();
    print_bands(crop, SPARSE_INK_SHARE)?
        .into_iter()
        .filter(|&(y0, y1, _)| y0 > 0 && y1 < h)
        .filter(|&(y0, y1, _)| (min..max).contains(&((y1 - y0) as f32)))
        .max_by_key(|b| b.2)
        .map(|(y0, y1, _)| (y0, y1))
}

/// Largest turn [`aligned_to_print`] gives a value, radians (10°).
const MAX_TURN: f32 = 0.175;

/// `value` turned and moved across to follow its own print: the ink's mean row in the left and
/// right halves of its crop give the print's slope and middle. A value printed smaller than its
/// caption took the angle of the line it was found on, whose caption decided it; followed past
/// that line's end, a small error across 40 text heights leaves the print.
fn aligned_to_print(gray: &GrayImage, value: TextLine, flip: bool) -> TextLine {
    let (crop, k) = cut_line(gray, &value, flip, 1.0);
    let Some(threshold) = ink_threshold(&crop) else {
        return value;
    };
    let start = (LINE_START_MARGIN * LINE_TEXT_PX) as u32;
    let (w, h) = crop.dimensions();
    if w < start + 2 * LINE_TEXT_PX as u32 {
        return value;
    }
    let mid_x = (start + w) / 2;
    // Mean ink row and column of a run of columns, ink within 0.75 text heights of the middle.
    let rows = (h as f32 / 2.0 - 0.75 * LINE_TEXT_PX).max(0.0) as u32
        ..((h as f32 / 2.0 + 0.75 * LINE_TEXT_PX) as u32).min(h);
    let mean_ink = |xs: std::ops::Range<u32>| {
        let (mut n, mut sx, mut sy) = (0.0f32, 0.0f32, 0.0f32);
        for x in xs {
            for y in rows.clone() {
                if crop.get_pixel(x, y).0[0] < threshold {
                    n += 1.0;
                    sx += x as f32;
                    sy += y as f32;
                }
            }
        }
        (n >= LINE_TEXT_PX).then(|| (sx / n, sy / n))
    };
    let (Some(left), Some(right)) = (mean_ink(start..mid_x), mean_ink(mid_x..w)) else {
        return value;
    };
    let turn = ((right.1 - left.1) / (right.0 - left.0).max(1.0)).atan();
    if turn.abs() > MAX_TURN {
        return value;
    }
    // The print's middle, across the line, relative to the crop's middle, in photo px.
    let across = ((left.1 + right.1) / 2.0 - h as f32 / 2.0) / k;
    let reading = value.angle + if flip { std::f32::consts::PI } else { 0.0 };
    let (s, c) = reading.sin_cos();
    TextLine {
        angle: value.angle + turn,
        centre: (value.centre.0 - across * s, value.centre.1 + across * c),
        ..value
    }
}

/// Farthest a value is followed past its line's end, in its text heights.
const MAX_EXTENSION: f32 = 40.0;
/// Widest gap of bare ground inside a value, in its text heights (a word space is about 0.3; a
/// letter-spaced serial's gaps about 0.5).
const MAX_GAP_IN_VALUE: f32 = 1.0;

/// `value` grown along its reading direction while its print goes on past the line's end
/// (the detector's box can stop short of small or letter-spaced print), and whether it grew
/// by more than half a text height. The print is followed in a strip as tall as the text with
/// guard bands above and below (0.62–0.81 text heights from the middle): it ends at a gap
/// wider than [`MAX_GAP_IN_VALUE`], at [`MAX_EXTENSION`], or where ink reaches the guard
/// bands (a QR code, a bigger line, a frame: not this line's print).
fn extended_to_print_end(gray: &GrayImage, value: TextLine, flip: bool) -> (TextLine, bool) {
    let value = aligned_to_print(gray, value, flip);
    let th = value.text_height.max(1.0);
    let k = LINE_TEXT_PX / th;
    let reach = (MAX_EXTENSION * th).min(MAX_CROP_WIDTH_PX as f32 / k - value.length - 2.0 * th);
    if reach < th {
        return (value, false);
    }
    let total = value.length + reach;
    let dir = if flip { -1.0 } else { 1.0 };
    let (c, s) = (value.angle.cos() * dir, value.angle.sin() * dir);
    let start = start_point(&value, flip);
    // A strip twice the text's height cut at zoom 2: text at LINE_TEXT_PX, guard rows around it.
    let strip_line = TextLine {
        centre: (start.0 + total / 2.0 * c, start.1 + total / 2.0 * s),
        length: total,
        text_height: 2.0 * th,
        ..value.clone()
    };
    let (strip, _) = cut_line(gray, &strip_line, flip, 2.0);
    // Crop column of a distance from the value's start (the strip starts 2 text heights early).
    let column = |d: f32| ((d + 2.0 * LINE_START_MARGIN * th) * k) as u32;
    let end_col = column(value.length);
    // Ink as the value's own print shows it: a code's black modules further on would otherwise
    // set the level, and grey or soft small print would not count as ink.
    let own = end_col.clamp(1, strip.width().max(1));
    let Some(threshold) =
        ink_threshold(&image::imageops::crop_imm(&strip, 0, 0, own, strip.height()).to_image())
    else {
        return (value, false);
    };
    let middle = strip.height() as f32 / 2.0;
    let rows = |from: f32, to: f32| (middle + from).max(0.0) as u32..(middle + to) as u32;
    let band = rows(-0.5 * LINE_TEXT_PX, 0.5 * LINE_TEXT_PX);
    let guards = [
        rows(-0.81 * LINE_TEXT_PX, -0.62 * LINE_TEXT_PX),
        rows(0.62 * LINE_TEXT_PX, 0.81 * LINE_TEXT_PX),
    ];
    let inked = |x: u32, ys: std::ops::Range<u32>| {
        ys.filter(|&y| y < strip.height() && strip.get_pixel(x, y).0[0] < threshold)
            .count()
    };
    let mut last_print = end_col;
    for x in end_col..strip.width() {
        if guards.iter().map(|g| inked(x, g.clone())).sum::<usize>() > 2 {
            break;
        }
        if inked(x, band.clone()) > 0 {
            last_print = x;
        } else if (x - last_print) as f32 > MAX_GAP_IN_VALUE * LINE_TEXT_PX {
            break;
        }
    }
    let grown = (last_print - end_col) as f32 / k;
    if grown < 0.5 * th {
        return (value, false);
    }
    let length = value.length + grown + 0.3 * th;
    let centre = (start.0 + length / 2.0 * c, start.1 + length / 2.0 * s);
    (
        TextLine {
            centre,
            length,
            ..value
        },
        true,
    )
}

/// Print shorter than this share of [`LINE_TEXT_PX`] in a value's crop is cut again at its own
/// size. A value's print spans 24–35 px of a 47 px crop when it is as tall as its line (tuning
/// photos), 11–19 px when printed smaller than its caption, as some labels print the serial.
const SMALL_PRINT: f32 = 0.65;

/// The rows of the print in a value's crop (dark on light), when it is small
/// ([`SMALL_PRINT`]): the band of rows with ink in at least 1% of the columns (2 at least)
/// holding the most ink; `None` when the print is not small, the band touches both edges (a
/// dark or noisy crop) or the crop has no contrast.
fn small_print_rows(crop: &GrayImage) -> Option<(u32, u32)> {
    let (y0, y1, _) = print_bands(crop, INK_SHARE)?
        .into_iter()
        .max_by_key(|b| b.2)?;
    let small = ((y1 - y0) as f32) < SMALL_PRINT * LINE_TEXT_PX;
    (small && !(y0 == 0 && y1 == crop.height())).then_some((y0, y1))
}

/// The bands of rows of a crop with ink (dark on light) in at least 1% of the columns (2 at
/// least), each `(first row, end row, ink pixels)`, ink measured at quantile `share`
/// ([`ink_threshold_at`]); `None` when the crop has no contrast.
fn print_bands(crop: &GrayImage, share: f32) -> Option<Vec<(u32, u32, u32)>> {
    let (w, h) = crop.dimensions();
    let threshold = ink_threshold_at(crop, share)?;
    let need = (w / 100).max(2);
    let rows: Vec<u32> = (0..h)
        .map(|y| {
            (0..w)
                .filter(|&x| crop.get_pixel(x, y).0[0] < threshold)
                .count() as u32
        })
        .collect();
    let mut bands = Vec::new();
    let mut start = None;
    for y in 0..=h {
        let inked = y < h && rows[y as usize] >= need;
        match (inked, start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                bands.push((s, y, rows[s as usize..y as usize].iter().sum()));
                start = None;
            }
            _ => {}
        }
    }
    Some(bands)
}

/// Tesseract's crops of a value whose crops are `cut` (at zoom 1 and [`SECOND_ZOOM`]) and whose
/// first reading is `first`: each ends where `first` found the label's verification code
/// ([`before_verification_code`]), so that the secret never reaches the second reading (whose
/// raw text the report carries) however Tesseract reads its caption (`1Y1VWDWAQX` for
/// `VC: WDWAQX` after a short serial). The first starts at most a line's start margin before
/// its first ink ([`without_long_start`]); the second takes that margin in full
/// ([`with_start_margin`]) and keeps a longer one. Both cut alike, Tesseract's confident
/// misreads repeat in the two reads and become a sure reading of another serial (`20100822` for
/// `20180822` at both scales, a right first reading contradicted); cut apart, a misread owed to
/// one cut is not repeated by the other. Tuning: 264/291 MATCH with the second left as it is,
/// 263 with both cut; the fresh draw of the generator (seed 9100009): 235/290 either way.
fn second_reading_crops(cut: &[GrayImage; 2], first: &LineRead) -> [GrayImage; 2] {
    let kept = chars_before_code(first);
    // Where the crops end, crop px at zoom 1: midway between the last character kept and the
    // code's first.
    let end = first.chars.get(kept).map(|code| {
        let gap = kept
            .checked_sub(1)
            .and_then(|i| first.chars.get(i))
            .map_or(0, |last| (code.x0 - last.x1).max(0));
        (code.x0 - gap / 2).max(1) as f32
    });
    let until = |crop: &GrayImage, zoom: f32| match end {
        Some(x) => {
            let w = ((x * zoom) as u32).clamp(1, crop.width());
            image::imageops::crop_imm(crop, 0, 0, w, crop.height()).to_image()
        }
        None => crop.clone(),
    };
    [
        without_long_start(&until(&cut[0], 1.0), 1.0),
        with_start_margin(&until(&cut[1], SECOND_ZOOM), SECOND_ZOOM),
    ]
}

/// `crop` (a value's, its text [`LINE_TEXT_PX`] × `zoom` tall) with columns of its ground (the
/// 90th percentile) added before it so that its first ink lies at least [`LINE_START_MARGIN`]
/// text heights from its start, as on a line crop. A value cut after its caption on the same
/// line starts a few pixels before its first character, and `labeltext` read that character as
/// another at both scales: `A67525160` as `M…`, `254077590` as `T…`, `456765020` as `Z…`,
/// `W38262794` as `V…`, a sure reading of another serial contradicting a right first reading.
/// With the margin those crops read right or without their first character, but a margin makes
/// `labeltext` put a stray letter before some full serials (`DIDS-…`, `NVDS-…`). So only the
/// second crop takes it: a misread owed to the tight start, or to the margin, is then not
/// repeated by the other read (tuning 256 → 259/291 MATCH; both crops with the margin: 257).
/// A crop with margin enough is returned as it is.
fn with_start_margin(crop: &GrayImage, zoom: f32) -> GrayImage {
    let want = (LINE_START_MARGIN * LINE_TEXT_PX * zoom).round() as u32;
    let Some(threshold) = ink_threshold(crop) else {
        return crop.clone();
    };
    let first_ink = first_inked_column(crop, threshold, want).unwrap_or(want);
    if first_ink >= want {
        return crop.clone();
    }
    let add = want - first_ink;
    let [ground] = gray_levels_at_ranks(crop, [quantile_rank(crop, 0.9)]);
    let mut out = GrayImage::from_pixel(crop.width() + add, crop.height(), image::Luma([ground]));
    image::imageops::replace(&mut out, crop, i64::from(add), 0);
    out
}

/// `crop` (a value's, its text [`LINE_TEXT_PX`] × `zoom` tall) with the blank columns before its
/// first ink cut to [`LINE_START_MARGIN`] text heights. A value cut from the end of its caption
/// on a two-column label starts with the gap between the columns, two or three text heights of
/// ground, and in that ground `labeltext` reads letters that are not there, at both scales
/// (`NDNDS-2CD2347G2-…` for `DS-2CD2347G2-…`): a sure reading of another model, contradicting a
/// right first reading. Cut to the margin the line crops it was trained on have, it reads the
/// value alone (on the fresh draw of the generator, seed 9100009, four such photos MATCH). A
/// crop with no ink, or with ink within the margin, is returned as it is.
fn without_long_start(crop: &GrayImage, zoom: f32) -> GrayImage {
    let want = (LINE_START_MARGIN * LINE_TEXT_PX * zoom).round() as u32;
    let Some(threshold) = ink_threshold(crop) else {
        return crop.clone();
    };
    match first_inked_column(crop, threshold, crop.width()) {
        Some(x) if x > want => {
            image::imageops::crop_imm(crop, x - want, 0, crop.width() - (x - want), crop.height())
                .to_image()
        }
        _ => crop.clone(),
    }
}

/// The first of `crop`'s first `upto` columns with pixels darker than `threshold` in two rows at
/// least (one dark pixel is noise).
fn first_inked_column(crop: &GrayImage, threshold: u8, upto: u32) -> Option<u32> {
    (0..crop.width().min(upto)).find(|&x| {
        (0..crop.height())
            .filter(|&y| crop.get_pixel(x, y).0[0] < threshold)
            .nth(1)
            .is_some()
    })
}

/// Paints the first `px` columns of a crop with its ground (the 90th percentile): the start
/// margin of a value cut at its own size would otherwise show the end of its caption.
fn blank_start(mut crop: GrayImage, px: f32) -> GrayImage {
    let [ground] = gray_levels_at_ranks(&crop, [quantile_rank(&crop, 0.9)]);
    let end = (px as u32).min(crop.width());
    for y in 0..crop.height() {
        for x in 0..end {
            crop.put_pixel(x, y, image::Luma([ground]));
        }
    }
    crop
}

/// The rank, darkest first, of a crop's `q` quantile pixel (for [`gray_levels_at_ranks`]).
fn quantile_rank(crop: &GrayImage, q: f32) -> usize {
    (crop.as_raw().len().saturating_sub(1) as f32 * q) as usize
}

/// Share of a crop's pixels taken to be ink when its ink level is measured: a line's print
/// covers 10–25% of its crop.
const INK_SHARE: f32 = 0.05;
/// [`INK_SHARE`] where the print may be sparse: small print looked for near a caption, whose
/// crop is mostly ground.
const SPARSE_INK_SHARE: f32 = 0.02;

/// Gray level below which a crop's pixel is ink: midway between its [`INK_SHARE`] quantile and
/// its 90th percentile; `None` when those are less than 40 levels apart (no print to speak of).
fn ink_threshold(crop: &GrayImage) -> Option<u8> {
    ink_threshold_at(crop, INK_SHARE)
}

/// [`ink_threshold`] with the ink level at quantile `share`.
fn ink_threshold_at(crop: &GrayImage, share: f32) -> Option<u8> {
    if crop.as_raw().is_empty() {
        return None;
    }
    let ranks = [quantile_rank(crop, share), quantile_rank(crop, 0.9)];
    let [ink, ground] = gray_levels_at_ranks(crop, ranks);
    (ground.saturating_sub(ink) >= 40).then(|| ((u16::from(ink) + u16::from(ground)) / 2) as u8)
}

/// A field from the reads of its value: the field's reading and the others (in
/// [`SECOND_READS`]' order).
fn field_from_reads(
    line: &LineWork,
    crop: &GrayImage,
    first: &LineRead,
    rest: &[LineRead],
) -> FieldRead {
    // Each read's first serial and its characters' lowest confidence ([`first_serial`]), or the
    // whole read's when no serial parsed.
    let serial_of = |read: &LineRead, text: &str| match first_serial(read, text) {
        Some((serial, confidence)) => (Some(serial), confidence),
        None => (None, min_confidence(read)),
    };
    let (others, others_min_confidence): (Vec<_>, Vec<_>) =
        rest.iter().map(|r| serial_of(r, &r.text())).unzip();
    // The reads kept in the report stop before a verification code read on the same line.
    let others_raw = rest
        .iter()
        .map(|r| before_verification_code(&r.text()).to_string())
        .collect();
    let first = &without_marks_at_end(first, crop);
    let raw = before_verification_code(&first.text()).to_string();
    let (serial, confidence) = serial_of(first, &raw);
    FieldRead {
        serial,
        others,
        others_raw,
        others_min_confidence,
        raw,
        min_confidence: confidence,
        region_blur: crop_sharpness(crop),
        region_smear: smear(crop),
        bbox: line.line.bbox(),
    }
}

/// How far beyond the line's print band, above it and below it, a mark's ink reaches, in print
/// heights: a code's module or a bar beside the value runs past the characters' tops and
/// bottoms, a slash or a bracket hardly does.
const MARK_REACH: f32 = 0.25;
/// Share of a character's columns that must hold ink in a row for the row to be inked. The
/// reader's column span for a value's last character reaches into what follows it: at 0.3, a
/// last digit printed against a code was taken for a mark.
const INKED_ROW: f32 = 0.6;
/// Most characters a mark at a value's end is read as.
const MAX_MARK_CHARS: usize = 2;

/// `read` without the characters at its end that are marks rather than print: ink reaching
/// [`MARK_REACH`] of the print's height beyond the band most characters keep to, both above and
/// below it, as the modules of a QR code or the bars of a barcode printed against the value's
/// end do: at most [`MAX_MARK_CHARS`]. Only the end is trimmed: at a value's start, what the
/// cut leaves of a caption or a frame's edge across the first characters looked so too (a
/// testdata and a tuning value lost their first characters). Characters inside the read are
/// never dropped, and nothing is when the crop shows no band (too few characters, or no
/// contrast).
fn without_marks_at_end(read: &LineRead, crop: &GrayImage) -> LineRead {
    let (w, h) = crop.dimensions();
    if read.chars.len() < 5 || w == 0 || h < 8 {
        return read.clone();
    }
    let ink = ink_levels(crop);
    // Each character's inked rows: the first and last row with ink across enough of its columns.
    let extent = |c: &CharRead| {
        let (x0, x1) = (
            c.x0.clamp(0, w as i32) as u32,
            c.x1.clamp(0, w as i32) as u32,
        );
        let need = ((x1.saturating_sub(x0)) as f32 * INKED_ROW).ceil().max(1.0) as usize;
        let inked = |y: u32| {
            (x0..x1)
                .filter(|&x| u16::from(crop.get_pixel(x, y)[0]) < ink[x as usize])
                .count()
                >= need
        };
        let top = (0..h).find(|&y| inked(y))?;
        let bottom = (0..h).rev().find(|&y| inked(y))?;
        Some((top as f32, bottom as f32 + 1.0))
    };
    let extents: Vec<Option<(f32, f32)>> = read.chars.iter().map(extent).collect();
    let mut tops: Vec<f32> = extents.iter().flatten().map(|e| e.0).collect();
    let mut bottoms: Vec<f32> = extents.iter().flatten().map(|e| e.1).collect();
    if tops.len() < 5 {
        return read.clone();
    }
    tops.sort_by(f32::total_cmp);
    bottoms.sort_by(f32::total_cmp);
    let (top, bottom) = (tops[tops.len() / 2], bottoms[bottoms.len() / 2]);
    let reach = MARK_REACH * (bottom - top).max(1.0);
    let is_mark =
        |e: &Option<(f32, f32)>| e.is_some_and(|(t, b)| t <= top - reach && b >= bottom + reach);
    // A run of more such characters at an end is print under something else (a frame's edge
    // along the line, the next line's ink), not a mark: kept whole.
    let run = |n: usize| if n <= MAX_MARK_CHARS { n } else { 0 };
    let end = extents.len() - run(extents.iter().rev().take_while(|e| is_mark(e)).count());
    LineRead {
        chars: read.chars[..end].to_vec(),
    }
}

/// Least gap, gray levels, between the print and the ground around a column for it to hold ink.
const MIN_INK_CONTRAST: u16 = 32;

/// The ink threshold of each column of `crop`: halfway between the print's and the ground's
/// gray levels within one crop height either side (the 10th and 90th percentiles of those
/// pixels), or 0 (nothing is ink) where they are less than [`MIN_INK_CONTRAST`] apart. Both
/// levels are local: under uneven light the print at one end of a value can be darker than the
/// ground at the other; and percentiles, not extremes, so that sensor noise on grey print does
/// not make the ground ink (a value's last two digits were taken for a code's modules so).
fn ink_levels(crop: &GrayImage) -> Vec<u16> {
    let (w, h) = crop.dimensions();
    let (w, reach) = (w as usize, h as usize);
    let column = |x: usize| (0..h).map(move |y| usize::from(crop.get_pixel(x as u32, y)[0]));
    let level = |hist: &[u32; 256], count: u32, q: f32| -> u16 {
        let need = (count as f32 * q).ceil().max(1.0) as u32;
        let mut seen = 0;
        hist.iter()
            .position(|&n| {
                seen += n;
                seen >= need
            })
            .unwrap_or(255) as u16
    };
    // The gray levels of the columns within `reach` of the current one.
    let mut hist = [0u32; 256];
    for v in (0..reach.min(w)).flat_map(column) {
        hist[v] += 1;
    }
    (0..w)
        .map(|x| {
            if x + reach < w {
                column(x + reach).for_each(|v| hist[v] += 1);
            }
            if x > reach {
                column(x - reach - 1).for_each(|v| hist[v] -= 1);
            }
            let count = hist.iter().sum();
            let (dark, light) = (level(&hist, count, 0.1), level(&hist, count, 0.9));
            if light < dark + MIN_INK_CONTRAST {
                0
            } else {
                (dark + light) / 2
            }
        })
        .collect()
}

/// Lowest confidence of a read's letters and digits before a verification code read after the
/// value (not the serial's, and left out of the report), 0–100 (0 when it has none).
fn min_confidence(read: &LineRead) -> f32 {
    let kept = chars_before_code(read);
    min_confidence_of(&read.chars[..kept.min(read.chars.len())])
}

/// How many of `read`'s characters come before a verification code read after the value
/// ([`before_verification_code`]); all of them when none was read.
fn chars_before_code(read: &LineRead) -> usize {
    before_verification_code(&read.text())
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Lowest confidence of the letters and digits among `chars`, 0–100 (0 when there are none).
fn min_confidence_of(chars: &[CharRead]) -> f32 {
    chars
        .iter()
        .filter(|c| c.ch.is_ascii_alphanumeric())
        .map(|c| c.confidence)
        .reduce(f32::min)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read of one character per 20 px column pair of `text`, starting at x = 10.
    fn read_at_columns(text: &str) -> LineRead {
        LineRead {
            chars: text
                .chars()
                .enumerate()
                .map(|(i, ch)| CharRead {
                    ch,
                    confidence: 95.0,
                    x0: 10 + 20 * i as i32,
                    x1: 24 + 20 * i as i32,
                    word_start: i == 0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_value_read_without_a_serial_is_read_again_wider() {
        // A reader that loses one of a doubled `1` on the crop as cut and reads it whole on a
        // wider one, and says which widths it was asked to read.
        struct ByWidth(Vec<u32>);
        impl Readers for ByWidth {
            fn read(&mut self, line: &GrayImage, _ask: Ask) -> Result<LineRead> {
                self.0.push(line.width());
                Ok(match line.width() {
                    200 => read_at_columns("L1234567"),
                    233 => read_at_columns("L11234567"),
                    _ => read_at_columns("SN"),
                })
            }
        }
        let unparsed = [GrayImage::new(200, 48), GrayImage::new(200, 48)];
        let parsed = [GrayImage::new(300, 48), GrayImage::new(300, 48)];
        let cuts = [&unparsed, &parsed];
        let mut reader = ByWidth(Vec::new());
        let mut firsts = vec![read_at_columns("L1234567"), read_at_columns("Q87654321")];
        read_again_wider(&cuts, &mut firsts, &mut reader).expect("read");
        // Only the value without a serial was read again, 7/6 as wide.
        assert_eq!(reader.0, vec![233]);
        assert_eq!(firsts[0].text(), "L11234567");
        assert_eq!(firsts[1].text(), "Q87654321");
        // Its characters' columns are the crop's: the last one ends inside the 200 px crop.
        let last = firsts[0].chars.last().expect("characters");
        assert_eq!((last.x0, last.x1), (145, 158));

        // A wider reading that holds no serial either leaves the first reading as it was.
        let mut firsts = vec![read_at_columns("L1234567")];
        let narrow = [GrayImage::new(100, 48), GrayImage::new(100, 48)];
        read_again_wider(&[&narrow], &mut firsts, &mut ByWidth(Vec::new())).expect("read");
        assert_eq!(firsts[0].text(), "L1234567");
    }

    #[test]
    fn an_unsure_serial_is_read_again_wider_and_the_surer_reading_kept() {
        // The first reading's `W` is unsure; the wider one reads the same serial surely on one
        // crop and reads another serial, less surely still, on the other.
        fn with_confidence(text: &str, at: usize, confidence: f32) -> LineRead {
            let mut read = read_at_columns(text);
            read.chars[at].confidence = confidence;
            read
        }
        struct Wider(Vec<u32>);
        impl Readers for Wider {
            fn read(&mut self, line: &GrayImage, _ask: Ask) -> Result<LineRead> {
                self.0.push(line.width());
                Ok(match line.width() {
                    233 => with_confidence("W12345678", 0, 90.0),
                    _ => with_confidence("V12345678", 0, 30.0),
                })
            }
        }
        let surer = [GrayImage::new(200, 48), GrayImage::new(200, 48)];
        let no_surer = [GrayImage::new(300, 48), GrayImage::new(300, 48)];
        let sure = [GrayImage::new(400, 48), GrayImage::new(400, 48)];
        let mut reader = Wider(Vec::new());
        let mut firsts = vec![
            with_confidence("W12345678", 0, 45.0),
            with_confidence("W12345678", 0, 45.0),
            with_confidence("W12345678", 0, 80.0),
        ];
        read_again_wider(&[&surer, &no_surer, &sure], &mut firsts, &mut reader).expect("read");
        // The two unsure values were read again, the sure one not.
        assert_eq!(reader.0, vec![233, 350]);
        assert_eq!(firsts[0].chars[0].confidence, 90.0);
        assert_eq!(firsts[1].text(), "W12345678");
        assert_eq!(firsts[1].chars[0].confidence, 45.0);
        assert_eq!(firsts[2].chars[0].confidence, 80.0);
    }

    #[test]
    fn a_mark_beside_the_value_is_dropped_and_characters_are_kept() {
        // Eight characters of print in rows 12..36 of a 48 px crop, then a code's modules
        // through the whole height; a darker ground towards the end, as under uneven light.
        let mut rects: Vec<(u32, u32, u32, u32)> =
            (0..8).map(|i| (10 + 20 * i, 12, 24 + 20 * i, 36)).collect();
        rects.push((170, 0, 184, 48));
        let mut crop = blocks(200, 48, &rects);
        for (x, _, p) in crop.enumerate_pixels_mut() {
            if p[0] > 100 {
                p[0] = 235 - (x / 2) as u8;
            }
        }
        let read = read_at_columns("L12345675");
        assert_eq!(without_marks_at_end(&read, &crop).text(), "L1234567");
        // The same print with no mark: nothing dropped, a shaded ground or not.
        let plain = blocks(200, 48, &rects[..8]);
        let eight = read_at_columns("L1234567");
        assert_eq!(without_marks_at_end(&eight, &plain), eight);
        assert_eq!(without_marks_at_end(&eight, &crop), eight);
        // A frame's edges above and below the last three characters: print, kept whole.
        let mut framed = rects[..8].to_vec();
        framed.extend([(105, 0, 170, 3), (105, 45, 170, 48)]);
        let crop = blocks(200, 48, &framed);
        assert_eq!(without_marks_at_end(&eight, &crop), eight);
        // A tall mark inside the value is never dropped.
        let mut inner = rects[..8].to_vec();
        inner[4] = (90, 0, 104, 48);
        let crop = blocks(200, 48, &inner);
        assert_eq!(without_marks_at_end(&eight, &crop), eight);
    }

    #[test]
    fn noisy_grey_print_under_uneven_light_keeps_its_last_characters() {
        // Twenty characters of grey print; the last two where the light falls off, on a darker
        // ground and printed darker. Sensor noise of ±3 gray levels, and one pixel in a hundred
        // 25 levels lighter. The reader's column spans are narrower than the glyphs, as for
        // letter-spaced print.
        let rects: Vec<(u32, u32, u32, u32)> = (0..20)
            .map(|i| (10 + 20 * i, 12, 24 + 20 * i, 36))
            .collect();
        let mut crop = GrayImage::new(420, 48);
        let mut seed = 12345u32;
        for (y, x) in (0..48).flat_map(|y| (0..420).map(move |x| (y, x))) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let r = (seed >> 16) % 100;
            let noise = (r % 7) as i32 - 3 + if r == 0 { 25 } else { 0 };
            let print = rects
                .iter()
                .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y));
            let level = match (x < 365, print) {
                (true, false) => 140,
                (true, true) => 96,
                (false, false) => 108,
                (false, true) => 70,
            };
            crop.put_pixel(x, y, image::Luma([(level + noise).clamp(0, 255) as u8]));
        }
        let mut read = read_at_columns("DS2CD2143G2I20230415");
        for c in &mut read.chars {
            (c.x0, c.x1) = (c.x0 + 4, c.x1 - 4);
        }
        assert_eq!(without_marks_at_end(&read, &crop), read);
    }

    /// A white image with black rectangles `(x0, y0, x1, y1)`.
    fn blocks(w: u32, h: u32, rects: &[(u32, u32, u32, u32)]) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, image::Luma([235]));
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    img.put_pixel(x, y, image::Luma([20]));
                }
            }
        }
        img
    }

    #[test]
    fn a_value_starting_at_its_crops_edge_gets_a_lines_start_margin() {
        // Glyphs 12 px wide every 20 px, the first 3 px from the start, on a 47 px crop.
        let glyphs: Vec<(u32, u32, u32, u32)> =
            (0..8).map(|i| (3 + 20 * i, 12, 15 + 20 * i, 36)).collect();
        let tight = blocks(170, 47, &glyphs);
        let margined = with_start_margin(&tight, 1.0);
        // The ink now starts one text height (32 px at zoom 1) in, the crop's pixels unchanged.
        assert_eq!(margined.width(), 170 + 29);
        assert_eq!(margined.get_pixel(28, 20).0[0], 235);
        assert_eq!(margined.get_pixel(32, 20).0[0], 20);
        let moved = image::imageops::crop_imm(&margined, 29, 0, 170, 47).to_image();
        assert_eq!(moved, tight);
        // At zoom 1.25 the margin is 40 px; a crop with that much already is left as it is.
        assert_eq!(with_start_margin(&tight, 1.25).width(), 170 + 37);
        let roomy = blocks(230, 47, &[(40, 12, 52, 36), (60, 12, 72, 36)]);
        assert_eq!(with_start_margin(&roomy, 1.0), roomy);
        // No print at all: as it is.
        let blank = GrayImage::from_pixel(100, 47, image::Luma([235]));
        assert_eq!(with_start_margin(&blank, 1.0), blank);
    }

    #[test]
    fn a_value_after_a_wide_gap_starts_a_lines_start_margin_before_its_ink() {
        // Glyphs from 100 px on (three text heights of ground before them) on a 47 px crop.
        let glyphs: Vec<(u32, u32, u32, u32)> = (0..8)
            .map(|i| (100 + 20 * i, 12, 112 + 20 * i, 36))
            .collect();
        let gapped = blocks(270, 47, &glyphs);
        let cut = without_long_start(&gapped, 1.0);
        // The ink now starts one text height (32 px at zoom 1) in, the rest unchanged.
        assert_eq!(cut.width(), 270 - 68);
        assert_eq!(cut.get_pixel(31, 20).0[0], 235);
        assert_eq!(cut.get_pixel(32, 20).0[0], 20);
        let rest = image::imageops::crop_imm(&gapped, 68, 0, 202, 47).to_image();
        assert_eq!(cut, rest);
        // At zoom 1.25 the margin kept is 40 px; a crop within it is left as it is.
        assert_eq!(without_long_start(&gapped, 1.25).width(), 270 - 60);
        let roomy = blocks(230, 47, &[(30, 12, 42, 36), (60, 12, 72, 36)]);
        assert_eq!(without_long_start(&roomy, 1.0), roomy);
        // No print at all: as it is.
        let blank = GrayImage::from_pixel(100, 47, image::Luma([235]));
        assert_eq!(without_long_start(&blank, 1.0), blank);
    }

    #[test]
    fn the_second_reading_never_sees_the_code_the_first_reading_found() {
        // `L12345678VCABCDEF`, one character per 20 px (glyphs 12 px wide from 4 px on).
        let text = "L12345678VCABCDEF";
        let crop = |zoom: f32| {
            let w = (20.0 * text.len() as f32 * zoom) as u32;
            GrayImage::from_pixel(w, (47.0 * zoom) as u32, image::Luma([235]))
        };
        let first = read_as(text, crop(1.0)).read;
        let crops = second_reading_crops(&[crop(1.0), crop(SECOND_ZOOM)], &first);
        // The `V` starts at 184 px, the `8` ends at 176: cut at 180 (225 at zoom 1.25).
        assert_eq!(crops[0].width(), 180);
        assert_eq!(crops[1].width(), 225);
        // No code read: the crops as cut (the second with its start margin, here none to add
        // on a blank crop).
        let first = read_as("L12345678", crop(1.0)).read;
        let crops = second_reading_crops(&[crop(1.0), crop(SECOND_ZOOM)], &first);
        assert_eq!(crops[0].width(), crop(1.0).width());
        assert_eq!(crops[1].width(), crop(SECOND_ZOOM).width());
    }

    /// A line read as `text`, one character per 20 crop px (glyphs 12 px wide), on `crop`.
    fn read_as(text: &str, crop: GrayImage) -> LineWork {
        let chars = text
            .chars()
            .enumerate()
            .map(|(i, ch)| CharRead {
                ch,
                confidence: 95.0,
                x0: 20 * i as i32 + 4,
                x1: 20 * i as i32 + 16,
                word_start: i == 0,
            })
            .collect();
        let line = TextLine {
            angle: 0.0,
            centre: (100.0, 20.0),
            length: 200.0,
            text_height: 32.0,
            chars: text.len(),
            across: 20.0,
        };
        LineWork {
            line,
            crop,
            text: text.to_string(),
            caption: None,
            read: LineRead { chars },
        }
    }

    #[test]
    fn a_short_serial_after_one_stray_character_is_a_value() {
        let glyphs: Vec<(u32, u32, u32, u32)> =
            (0..10).map(|i| (20 * i + 4, 4, 20 * i + 16, 36)).collect();
        let crop = blocks(200, 40, &glyphs);
        // The slip's serial beside a label, its box reaching a mark before the print: cut in
        // the middle of the gap after the stray character (columns 16–24).
        let stray = read_as("2Z37666739", crop.clone());
        assert_eq!(short_after_stray(&stray), Some(20));
        // Neither a longer run, nor another field's number, nor a bare number of ten digits
        // that is no short serial after its first.
        assert_eq!(
            short_after_stray(&read_as("22Z37666739", crop.clone())),
            None
        );
        assert_eq!(
            short_after_stray(&read_as("P/N3021577", crop.clone())),
            None
        );
        assert_eq!(short_after_stray(&read_as("2Z3766673X", crop)), None);
    }

    #[test]
    fn bare_short_serials_count_as_values_only_where_nothing_went_unread() {
        let field = |serial: Option<&str>| FieldRead {
            serial: serial.map(|s| LabelSerial::Short(s.to_string())),
            others: Vec::new(),
            raw: serial.unwrap_or("Serial Number").to_string(),
            others_raw: Vec::new(),
            others_min_confidence: Vec::new(),
            min_confidence: 90.0,
            region_blur: 1000.0,
            region_smear: None,
            bbox: (0.0, 0.0, 10.0, 10.0),
        };
        let kept = |fields: Vec<FieldRead>, kinds: &[Kind]| -> Vec<String> {
            weigh_bare_serials(fields, kinds)
                .into_iter()
                .map(|f| f.raw)
                .collect()
        };
        // A short-serial label whose caption went unseen: its bare value is the value.
        assert_eq!(
            kept(vec![field(Some("L12345678"))], &[Kind::Bare]),
            ["L12345678"]
        );
        // The tail of a full serial under tape, beside a caption whose value went unread: no
        // value, nothing to contradict.
        assert_eq!(
            kept(
                vec![field(None), field(Some("637043539"))],
                &[Kind::Captioned, Kind::Bare]
            ),
            ["Serial Number"]
        );
        // After a stray character: alone it proves nothing; beside the label's own serial,
        // another serial is a second serial, the same one nothing.
        assert!(kept(vec![field(Some("Z37666739"))], &[Kind::Stray]).is_empty());
        assert_eq!(
            kept(
                vec![field(Some("Z37666730")), field(Some("Z37666739"))],
                &[Kind::Captioned, Kind::Stray]
            ),
            ["Z37666730", "Z37666739"]
        );
        assert_eq!(
            kept(
                vec![field(Some("Z37666730")), field(Some("Z37666730"))],
                &[Kind::Captioned, Kind::Stray]
            ),
            ["Z37666730"]
        );
    }

    #[test]
    fn a_value_is_cut_in_the_middle_of_the_gap_before_it() {
        let crop = blocks(100, 40, &[(10, 8, 30, 32), (50, 8, 70, 32)]);
        assert_eq!(ink_gap(&crop, 15, 60), Some(40));
        // No gap between touching characters; none in a blank crop.
        let touching = blocks(100, 40, &[(10, 8, 50, 32), (50, 8, 70, 32)]);
        assert_eq!(ink_gap(&touching, 15, 60), None);
        assert_eq!(ink_gap(&blocks(100, 40, &[]), 0, 100), None);
    }

    #[test]
    fn small_print_is_found_and_print_of_the_lines_size_is_not() {
        let small = blocks(200, 47, &[(10, 10, 190, 22)]);
        assert_eq!(small_print_rows(&small), Some((10, 22)));
        let full = blocks(200, 47, &[(10, 8, 190, 38)]);
        assert_eq!(small_print_rows(&full), None);
    }

    #[test]
    fn small_print_near_a_caption_is_the_band_no_edge_cuts() {
        // Another line's print cut by the top edge, small print in the middle.
        let crop = blocks(200, 60, &[(10, 0, 190, 12), (20, 30, 120, 40)]);
        assert_eq!(small_band(&crop, 4.0, 20.0), Some((30, 40)));
        // Print too tall for small print is not a value printed small.
        let tall = blocks(200, 60, &[(20, 15, 120, 45)]);
        assert_eq!(small_band(&tall, 4.0, 20.0), None);
    }

    /// A line of 8 characters 10 px tall from x = 20 to 100 across the middle of a 400 × 100
    /// photo: the start of a value that goes on past it.
    fn first_word_at_middle() -> TextLine {
        TextLine {
            angle: 0.0,
            centre: (60.0, 50.0),
            length: 80.0,
            text_height: 10.0,
            chars: 8,
            across: 50.0,
        }
    }

    #[test]
    fn a_value_is_followed_to_its_print_end_and_not_into_a_code() {
        // Characters 6 px wide, 10 px tall, every 10 px from x = 20 to 300, on a 400 × 100 photo.
        let chars: Vec<(u32, u32, u32, u32)> = (0..28)
            .map(|i| (20 + 10 * i, 45, 26 + 10 * i, 55))
            .collect();
        let line = first_word_at_middle();
        let (grown, longer) = extended_to_print_end(&blocks(400, 100, &chars), line.clone(), false);
        assert!(longer);
        let end = grown.centre.0 + grown.length / 2.0;
        assert!((296.0..=310.0).contains(&end), "ends at {end}");
        // A taller block (a QR code) from x = 200 on stops it before.
        let mut with_code = chars.clone();
        with_code.retain(|c| c.0 < 190);
        with_code.push((200, 20, 260, 80));
        let (grown, _) = extended_to_print_end(&blocks(400, 100, &with_code), line, false);
        let end = grown.centre.0 + grown.length / 2.0;
        assert!((186.0..200.0).contains(&end), "ends at {end}");
    }

    #[test]
    fn grey_print_is_followed_though_a_black_code_comes_after_it() {
        // Grey characters (level 150 on 235) every 10 px from x = 20 to 280, then a black code
        // from x = 320 on: the print's own contrast says what is ink, not the code's.
        let mut photo = blocks(400, 100, &[(320, 20, 380, 80)]);
        for i in 0..27 {
            for y in 45..55 {
                for x in 20 + 10 * i..26 + 10 * i {
                    photo.put_pixel(x, y, image::Luma([150]));
                }
            }
        }
        let line = first_word_at_middle();
        let (grown, longer) = extended_to_print_end(&photo, line, false);
        assert!(longer);
        let end = grown.centre.0 + grown.length / 2.0;
        assert!((276.0..=300.0).contains(&end), "ends at {end}");
    }

    #[test]
    fn other_fields_are_never_serial_candidates() {
        assert!(serial_like("DS-2CD2043G2-1U20180411CCWRX06579000"));
        assert!(serial_like("9S-2CD2043G2-1U20210704AACH435933916"));
        assert!(!serial_like("MAC-44-19-B6-13-28-F1-AA-BB-CC"));
        assert!(!serial_like("Model: DS-2CD2T47G2-L-XXXXXXXXXXXX"));
        assert!(!serial_like("Verification Code: KETPWX"));
        assert!(!serial_like("this device complies with part 15"));
        // Power ratings are another field, never a serial's value.
        for power in [
            "100-240VAC 50/60Hz",
            "100-240V AC 50/60 Hz",
            "12V DC 1A",
            "DC12V 0.5A 12VDC",
        ] {
            assert!(has_other_field_word(power), "{power}");
        }
        assert!(!has_other_field_word(
            "DS-7608NI-K2/8P0820200101CCRRD12345678WCVU"
        ));
        assert!(!has_other_field_word("L12345678"));
    }
}
