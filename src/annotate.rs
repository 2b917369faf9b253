//! Annotated photos: where labelcheck looked, what it read, and why it answered as it did, drawn
//! on the upright photo for people reviewing an answer.
//!
//! [`annotate`] takes the upright photo and its [`Report`] and draws, on a copy downscaled to at
//! most [`MAX_LONG_SIDE`] px:
//! - every text line read (thin blue boxes);
//! - each QR code or barcode decoded (magenta), tagged with whether it holds the reported serial;
//! - the serial field the verdict rests on (a thick box in the verdict's colour);
//! - a caption strip below: the verdict and its reasons, the serial read set under the reported
//!   one with differing characters in red, and the blur scores against their thresholds.
//!
//! Only report fields are printed: the verdict, reasons, the normalised serial read, the
//! reported serial and scores. Never a line's raw text, never a code's content, so never the
//! label's verification code (the photo itself is shown: the reviewer already has it). Pure:
//! no files; the CLI and the review page write the result.

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage, imageops};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;

use crate::pipeline::Report;
use crate::pipeline::report::BoxPx;
use crate::pipeline::verdict::Verdict;

/// Longest side of the annotated photo, px (the caption strip is added below it).
pub const MAX_LONG_SIDE: u32 = 1600;

/// DejaVu Sans Bold and DejaVu Sans Mono (Bitstream Vera licence with public-domain DejaVu
/// changes; `assets/fonts/COPYRIGHT.dejavu`).
static BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono.ttf");

/// Colour of the text-line boxes.
pub const LINE_COLOUR: Rgb<u8> = Rgb([0, 150, 255]);
/// Colour of the code boxes.
pub const CODE_COLOUR: Rgb<u8> = Rgb([220, 0, 220]);
/// Colour of characters that differ between the read and the reported serial.
pub const DIFF_COLOUR: Rgb<u8> = Rgb([220, 0, 0]);
const INK: Rgb<u8> = Rgb([20, 20, 20]);
const MUTED: Rgb<u8> = Rgb([90, 90, 90]);
const PAPER: Rgb<u8> = Rgb([250, 250, 250]);
const SAME: Rgb<u8> = Rgb([0, 120, 40]);

/// The colour a verdict is drawn in (the serial field's box and the caption's verdict).
pub fn verdict_colour(verdict: Verdict) -> Rgb<u8> {
    match verdict {
        Verdict::Match => Rgb([0, 170, 60]),
        Verdict::Mismatch => Rgb([220, 0, 0]),
        Verdict::Inconclusive => Rgb([235, 140, 0]),
        Verdict::Blurry | Verdict::NotFound => Rgb([120, 120, 120]),
    }
}

/// An annotated photo and every text drawn on it (so tests can check what was printed).
pub struct Annotated {
    /// The downscaled photo with its boxes, over the caption strip.
    pub image: RgbImage,
    /// Height of the photo part, px (the strip is below it).
    pub photo_height: u32,
    /// Photo pixels per report pixel.
    pub scale: f32,
    /// Every string drawn, in order.
    pub texts: Vec<String>,
}

/// One character of a serial as drawn: the character and whether it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The character.
    pub ch: char,
    /// Differs from (or has no counterpart in) the other serial.
    pub differs: bool,
}

/// Aligns `read` within `reported` (edit distance, free gaps before and after `reported`'s
/// aligned part, so a short serial finds its place in the full one) and marks the characters
/// that differ on both sides. Returns the column in `reported` where `read` starts, the read's
/// marks and the reported's marks. Reported characters before that column are not compared and
/// never marked; those after the aligned part are marked (not read); with nothing read, nothing
/// is marked.
pub fn align(read: &str, reported: &str) -> (usize, Vec<Mark>, Vec<Mark>) {
    let a: Vec<char> = read.chars().collect();
    let b: Vec<char> = reported.chars().collect();
    let (n, m) = (a.len(), b.len());
    // d[i][j]: cost of a[..i] against a piece of b ending at j (starting anywhere, for free).
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    let end = (0..=m).min_by_key(|&j| (d[n][j], m - j)).unwrap_or(m);
    let mut read_marks = vec![
        Mark {
            ch: ' ',
            differs: true
        };
        n
    ];
    let mut reported_marks: Vec<Mark> = b
        .iter()
        .enumerate()
        .map(|(j, &ch)| Mark {
            ch,
            differs: n > 0 && j >= end,
        })
        .collect();
    let (mut i, mut j) = (n, end);
    while i > 0 {
        if j > 0 && d[i][j] == d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]) {
            let differs = a[i - 1] != b[j - 1];
            read_marks[i - 1] = Mark {
                ch: a[i - 1],
                differs,
            };
            reported_marks[j - 1].differs = differs;
            i -= 1;
            j -= 1;
        } else if d[i][j] == d[i - 1][j] + 1 {
            read_marks[i - 1] = Mark {
                ch: a[i - 1],
                differs: true,
            };
            i -= 1;
        } else {
            reported_marks[j - 1].differs = true;
            j -= 1;
        }
    }
    // Reported characters before the aligned part are not compared (a short serial read).
    (j, read_marks, reported_marks)
}

/// Scales a report box by `scale` into a rectangle, at least 1 px each way.
fn scaled(b: BoxPx, scale: f32, inset: i32) -> Option<Rect> {
    let x0 = (b.x0 as f32 * scale).round() as i32 - inset;
    let y0 = (b.y0 as f32 * scale).round() as i32 - inset;
    let w = ((b.x1.saturating_sub(b.x0)) as f32 * scale).round() as i32 + 2 * inset;
    let h = ((b.y1.saturating_sub(b.y0)) as f32 * scale).round() as i32 + 2 * inset;
    (w > 0 && h > 0).then(|| Rect::at(x0, y0).of_size(w as u32, h as u32))
}

/// A box `thickness` px wide, growing outwards from `rect`.
fn thick_box(image: &mut RgbImage, b: BoxPx, scale: f32, thickness: i32, colour: Rgb<u8>) {
    for t in 0..thickness {
        if let Some(r) = scaled(b, scale, t) {
            draw_hollow_rect_mut(image, r, colour);
        }
    }
}

/// The annotated photo: `photo` is the upright photo the report was made on (any size: boxes are
/// scaled by the ratio of its width to the report's).
pub fn annotate(photo: &RgbImage, report: &Report) -> Annotated {
    let small = fit(photo);
    let (nw, nh) = small.dimensions();
    let scale = nw as f32 / report.width.max(1) as f32;
    let mut texts = Vec::new();
    let (bold, mono) = match (FontRef::try_from_slice(BOLD), FontRef::try_from_slice(MONO)) {
        (Ok(b), Ok(m)) => (b, m),
        // The fonts are compiled in and parse; without them, the boxes alone.
        _ => {
            return Annotated {
                image: boxes_only(small, report, scale),
                photo_height: nh,
                scale,
                texts,
            };
        }
    };
    // Text size: 60 monospace columns fit the width, between 12 and 26 px.
    let px = (nw as f32 / 36.0).clamp(12.0, 26.0);
    let mut top = boxes_only(small, report, scale);
    tag_boxes(&mut top, report, scale, (&bold, px), &mut texts);

    let mut strip = Strip::below(&top, px, &bold, &mono);
    strip.verdict_line(report);
    strip.serial_lines(report);
    strip.score_line(report);
    strip.found_line(report);
    texts.append(&mut strip.texts);
    Annotated {
        image: strip.image,
        photo_height: nh,
        scale,
        texts,
    }
}

/// The photo downscaled to at most [`MAX_LONG_SIDE`] px on its long side (as it is if smaller).
fn fit(photo: &RgbImage) -> RgbImage {
    let (w, h) = photo.dimensions();
    let fit = (MAX_LONG_SIDE as f32 / w.max(h).max(1) as f32).min(1.0);
    let (nw, nh) = (
        ((w as f32 * fit).round() as u32).max(1),
        ((h as f32 * fit).round() as u32).max(1),
    );
    if (nw, nh) == (w, h) {
        photo.clone()
    } else {
        imageops::resize(photo, nw, nh, imageops::FilterType::Triangle)
    }
}

/// Tags the serial field's box and each code's box with what it is (a code: whether it holds
/// the reported serial), in `bold` at 0.8 of the caption's `px`; the tags' texts go to `texts`.
fn tag_boxes(
    top: &mut RgbImage,
    report: &Report,
    scale: f32,
    (bold, px): (&FontRef, f32),
    texts: &mut Vec<String>,
) {
    let tag_px = PxScale::from((px * 0.8).max(11.0));
    let mut tags: Vec<(BoxPx, String, Rgb<u8>)> = Vec::new();
    if let Some(b) = report.serial_region {
        tags.push((b, "serial field".into(), verdict_colour(report.verdict)));
    }
    for code in &report.codes {
        let what = match &code.serial {
            Some(s) if *s == report.reported_serial => "holds the reported serial",
            Some(_) => "holds another serial",
            None => "no serial",
        };
        let label = format!("{}: {what}", code.symbology.as_str());
        tags.push((code.bbox, label, CODE_COLOUR));
    }
    for (b, label, colour) in tags {
        if let Some(r) = scaled(b, scale, 0) {
            let at = (r.left(), r.top() - 4);
            texts.push(tag(top, (bold, tag_px), at, &label, colour));
        }
    }
}

/// The caption strip under the photo, written line by line; `texts` collects what is drawn.
struct Strip<'f> {
    image: RgbImage,
    bold: &'f FontRef<'f>,
    mono: &'f FontRef<'f>,
    /// Text size, px.
    px: f32,
    font_px: PxScale,
    line_h: i32,
    /// Left margin, px.
    x: i32,
    /// Top of the next line, px.
    y: i32,
    /// Width of one monospace column, px.
    column: i32,
    /// Width of a line's label ("reported", "scores"), px.
    label_w: i32,
    texts: Vec<String>,
}

impl<'f> Strip<'f> {
    /// The photo `top` with room for five lines of `px` text below it.
    fn below(top: &RgbImage, px: f32, bold: &'f FontRef<'f>, mono: &'f FontRef<'f>) -> Strip<'f> {
        let (nw, nh) = top.dimensions();
        let line_h = (px * 1.45).round() as u32;
        let strip_h = line_h * 5 + line_h / 2;
        let mut image = RgbImage::from_pixel(nw, nh + strip_h, PAPER);
        imageops::replace(&mut image, top, 0, 0);
        let font_px = PxScale::from(px);
        let column = text_size(font_px, mono, "0").0.max(1) as i32;
        Strip {
            image,
            bold,
            mono,
            px,
            font_px,
            line_h: line_h as i32,
            x: (px * 0.6) as i32,
            y: nh as i32 + (line_h / 4) as i32,
            column,
            label_w: 10 * column,
            texts: Vec::new(),
        }
    }

    /// Draws `text` in `colour` at `(x, self.y)` in the monospace font and keeps it.
    fn mono_at(&mut self, x: i32, colour: Rgb<u8>, text: &str) {
        draw_text_mut(
            &mut self.image,
            colour,
            x,
            self.y,
            self.font_px,
            self.mono,
            text,
        );
        self.texts.push(text.to_string());
    }

    /// The verdict in its colour, then its reasons.
    fn verdict_line(&mut self, report: &Report) {
        let verdict = report.verdict.as_str();
        let colour = verdict_colour(report.verdict);
        let (x, y, font_px) = (self.x, self.y, self.font_px);
        draw_text_mut(&mut self.image, colour, x, y, font_px, self.bold, verdict);
        self.texts.push(verdict.to_string());
        let reasons = report
            .reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let vx = x + text_size(font_px, self.bold, verdict).0 as i32 + self.px as i32;
        self.mono_at(vx, MUTED, &reasons);
        self.y += self.line_h;
    }

    /// The reported serial over the serial read, aligned ([`align`]), differing characters in
    /// red and underlined.
    fn serial_lines(&mut self, report: &Report) {
        let read = report.serial_read.as_deref().unwrap_or("");
        let (offset, read_marks, reported_marks) = align(read, &report.reported_serial);
        for (label, marks, start) in [
            ("reported", &reported_marks, 0usize),
            ("read", &read_marks, offset),
        ] {
            self.mono_at(self.x, MUTED, label);
            if marks.is_empty() {
                self.mono_at(self.x + self.label_w, MUTED, "(none)");
            }
            for (k, m) in marks.iter().enumerate() {
                self.mark(
                    self.x + self.label_w + (start + k) as i32 * self.column,
                    m,
                    read,
                );
            }
            self.texts.push(marks.iter().map(|m| m.ch).collect());
            self.y += self.line_h;
        }
    }

    /// One character of a serial line at `cx`: red and underlined if it differs, green if it
    /// agrees with a serial read, ink if nothing was read.
    fn mark(&mut self, cx: i32, m: &Mark, read: &str) {
        let colour = if m.differs {
            DIFF_COLOUR
        } else if read.is_empty() {
            INK
        } else {
            SAME
        };
        if m.differs {
            let under = Rect::at(cx, self.y + (self.px * 1.15) as i32)
                .of_size(self.column.max(1) as u32, 2);
            draw_filled_rect_mut(&mut self.image, under, DIFF_COLOUR);
        }
        let mut buf = [0u8; 4];
        let ch = m.ch.encode_utf8(&mut buf);
        draw_text_mut(
            &mut self.image,
            colour,
            cx,
            self.y,
            self.font_px,
            self.mono,
            ch,
        );
    }

    /// The sharpness scores and the confidence against their thresholds, those below in red.
    fn score_line(&mut self, report: &Report) {
        let t = &report.thresholds;
        let mut scores = vec![(
            format!(
                "photo {:.0} (min {:.0})",
                report.blur_score_normalized.0, t.photo_blur_min
            ),
            report.blur_score_normalized.0 >= t.photo_blur_min,
        )];
        if let Some(r) = report.region_blur_score {
            scores.push((
                format!("serial {r:.0} (min {:.0})", t.region_blur_min),
                r >= t.region_blur_min,
            ));
        }
        if let Some(r) = report.text_blur_score {
            scores.push((format!("text {r:.0}"), true));
        }
        if let Some(c) = report.confidence {
            scores.push((
                format!("confidence {c:.0} (min {:.0})", t.min_char_confidence),
                c >= t.min_char_confidence,
            ));
        }
        self.mono_at(self.x, MUTED, "scores");
        let mut cx = self.x + self.label_w;
        for (text, ok) in scores {
            self.mono_at(cx, if ok { INK } else { DIFF_COLOUR }, &text);
            cx += text_size(self.font_px, self.mono, &text).0 as i32 + 2 * self.column;
        }
        self.y += self.line_h;
    }

    /// How much was found: text lines, codes, serials.
    fn found_line(&mut self, report: &Report) {
        let found = format!(
            "{} text lines, {} read; {} code(s); {} serial(s) read",
            report.lines_found,
            report.text_lines.len(),
            report.codes.len(),
            report.serials_found.len()
        );
        self.mono_at(self.x, MUTED, &found);
    }
}

/// The photo with its boxes: text lines, codes, then the serial field on top.
fn boxes_only(mut image: RgbImage, report: &Report, scale: f32) -> RgbImage {
    for &line in &report.text_lines {
        thick_box(&mut image, line, scale, 2, LINE_COLOUR);
    }
    for code in &report.codes {
        thick_box(&mut image, code.bbox, scale, 3, CODE_COLOUR);
    }
    if let Some(b) = report.serial_region {
        thick_box(&mut image, b, scale, 4, verdict_colour(report.verdict));
    }
    image
}

/// A label in `font` on a filled band, its bottom-left at `(x, bottom)`, kept inside the image;
/// returns the text drawn.
fn tag(
    image: &mut RgbImage,
    (font, scale): (&FontRef, PxScale),
    (x, bottom): (i32, i32),
    text: &str,
    colour: Rgb<u8>,
) -> String {
    let (tw, th) = text_size(scale, font, text);
    let (tw, th) = (tw as i32 + 8, th as i32 + 8);
    let x = x.clamp(0, (image.width() as i32 - tw).max(0));
    let y = (bottom - th).max(0);
    draw_filled_rect_mut(image, Rect::at(x, y).of_size(tw as u32, th as u32), colour);
    draw_text_mut(image, Rgb([255, 255, 255]), x + 4, y + 2, scale, font, text);
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differing(marks: &[Mark]) -> String {
        marks.iter().filter(|m| m.differs).map(|m| m.ch).collect()
    }

    #[test]
    fn a_full_serial_one_character_off_marks_that_character_on_both_sides() {
        let (offset, read, reported) = align(
            "DS-2CD2143G2-I20230415AAWRL12345679",
            "DS-2CD2143G2-I20230415AAWRL12345678",
        );
        assert_eq!(offset, 0);
        assert_eq!(differing(&read), "9");
        assert_eq!(differing(&reported), "8");
    }

    #[test]
    fn a_short_serial_finds_its_place_in_the_full_one() {
        let (offset, read, reported) = align("L12345678", "DS-2CD2143G2-I20230415AAWRL12345678");
        assert_eq!(offset, 26);
        assert_eq!(differing(&read), "");
        assert_eq!(differing(&reported), "");
    }

    #[test]
    fn a_missing_character_is_marked_on_the_reported_side() {
        let (_, read, reported) = align("L1234578", "AAWRL12345678");
        assert_eq!(differing(&read), "");
        assert_eq!(differing(&reported[4..]), "6");
    }

    #[test]
    fn nothing_read_aligns_nothing() {
        let (offset, read, reported) = align("", "DS-2CD2143G2-I20230415AAWRL12345678");
        assert_eq!(offset, 35);
        assert!(read.is_empty());
        assert_eq!(differing(&reported), "");
    }
}
