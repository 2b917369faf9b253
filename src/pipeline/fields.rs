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
use super::lines::{LineWork, ReadLines};
use super::locate::{TextLine, cut_line};
use super::ocr::{Ask, LineRead, Readers};
use super::serial::{before_verification_code, find_in_text};
use super::sharpness::{crop_sharpness, smear};
use super::verdict::FieldRead;
use crate::error::Result;

/// The reads of a serial value, each the index of its crop in [`value_crops`] and what reads
/// it: the field's reading (the learned reader), then the second, independent reading
/// (Tesseract) of the same crop and of the line cut again at [`SECOND_ZOOM`]. Two Tesseract reads
/// at two scales tell a sure reading (both the same) from one of its misreads, which are often
/// confident but seldom repeat at another scale.
const VALUE_READS: [(usize, Ask); 3] = [
    (0, Ask::VALUE),
    (0, Ask::SECOND_READING),
    (1, Ask::SECOND_READING),
];
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
    /// A caption with nothing readable after it or near it.
    Unreadable,
}

/// Finds every serial field on the lines read and reads each value with [`VALUE_READS`]
/// ([`value_crops`]), every value's reads in one batch. `debug` receives each value crop.
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
    for i in 0..work.len() {
        if used[i] {
            continue;
        }
        caption_seen |= work[i].caption.is_some();
        match value_of(work, i, lines.flip, &used) {
            None => {}
            Some(Value::Unreadable) => planned.push((i, None)),
            Some(Value::At { line, x_start }) => {
                used[line] = true;
                used[i] = true;
                let cut = value_crops(gray, &work[line], (lines.flip, lines.streak), x_start);
                debug(&format!("value{}", planned.len()), &cut[0]);
                debug(&format!("value{}_zoom", planned.len()), &cut[1]);
                planned.push((i, Some((line, cut))));
            }
        }
    }
    let jobs: Vec<(&GrayImage, Ask)> = planned
        .iter()
        .filter_map(|(_, value)| value.as_ref())
        .flat_map(|(_, cut)| VALUE_READS.map(|(crop, ask)| (&cut[crop], ask)))
        .collect();
    let reads = engine.read_all(&jobs)?;
    let mut reads = reads.chunks(VALUE_READS.len());
    let fields = planned
        .iter()
        .map(|(caption_line, value)| match (value, reads.next()) {
            (Some((line, cut)), Some([first, rest @ ..])) => {
                field_from_reads(&work[*line], &cut[0], first, rest)
            }
            _ => unreadable_field(&work[*caption_line]),
        })
        .collect();
    Ok(Fields {
        fields,
        caption_seen,
    })
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
                let first = chars.get(end).map_or(0, |c| c.x0);
                let x = match end.checked_sub(1).and_then(|k| chars.get(k)) {
                    Some(prev) if prev.x1 < first => (prev.x1 + first) / 2,
                    _ => first - 2,
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
                Some(Value::Unreadable)
            }
        }
        None if !find_in_text(&work[i].text).is_empty() || serial_like(&work[i].text) => {
            Some(Value::At {
                line: i,
                x_start: model_start_x(&work[i].read),
            })
        }
        None => None,
    }
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

/// Whether a line names another field (model, verification code, MAC, power, origin) or is a
/// power rating (`100-240VAC 50/60Hz`, `12V DC`): such a line never holds the serial value,
/// however serial-like its characters look (`MAC-44-19-B6-…`).
fn has_other_field_word(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    ["MODEL", "VERIFICATION", "CODE", "MAC", "POWER", "MADE"]
        .iter()
        .any(|w| upper.contains(w))
        || is_power_rating(&upper)
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
    let zoomed = cut_for_reading(gray, &line.line, flip, SECOND_ZOOM, streak);
    [cut(&line.crop, 1.0), cut(&zoomed, SECOND_ZOOM)]
}

/// A field from the reads of its value: the field's reading and the others (in
/// [`VALUE_READS`]' order).
fn field_from_reads(
    line: &LineWork,
    crop: &GrayImage,
    first: &LineRead,
    rest: &[LineRead],
) -> FieldRead {
    let others = rest
        .iter()
        .map(|r| find_in_text(&r.text()).into_iter().next())
        .collect();
    // The reads kept in the report stop before a verification code read on the same line.
    let others_raw = rest
        .iter()
        .map(|r| before_verification_code(&r.text()).to_string())
        .collect();
    let raw = before_verification_code(&first.text()).to_string();
    let serial = find_in_text(&raw).into_iter().next();
    FieldRead {
        serial,
        others,
        others_raw,
        others_min_confidence: rest.iter().map(min_confidence).collect(),
        raw,
        min_confidence: min_confidence(first),
        region_blur: crop_sharpness(crop),
        region_smear: smear(crop),
        bbox: line.line.bbox(),
    }
}

/// Lowest confidence of a read's letters and digits, 0–100 (0 when it has none).
fn min_confidence(read: &LineRead) -> f32 {
    read.chars
        .iter()
        .filter(|c| c.ch.is_ascii_alphanumeric())
        .map(|c| c.confidence)
        .reduce(f32::min)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
