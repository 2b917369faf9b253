//! Reading every text line the locator found: which lines (a bounded budget), which way up, and
//! the motion streak along the text undone before the lines are read again.
//!
//! Every line is read with the full character set; what the lines say is then searched for serial
//! fields (the `fields` module). Nothing here looks at the reported serial.

use image::GrayImage;

use super::deblur::{deblur_rows, streak_length};
use super::locate::{LINE_TEXT_PX, MAX_CROP_WIDTH_PX, TextLine, cut_line};
use super::ocr::{Ask, LineRead, Readers};
use super::sharpness::{crop_sharpness, smear, upper_median};
use super::verdict::SMEAR_RANGE;
use super::vocabulary::{LABEL_WORDS, SERIAL_CAPTION_SLASH_MISREADS, SERIAL_CAPTIONS};
use crate::error::Result;

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
/// [`super::evidence::Evidence::lines_unread`], which rules out any verdict but BLURRY and INCONCLUSIVE (a serial
/// may sit on a line not read).
pub const MAX_LINES_READ: usize = 120;
/// Most text read on one photo, as the summed length of the lines read in units of their own
/// text height (a capital letter is about 0.7 of one). Tesseract's time grows with the
/// characters read, so this bounds a photo of 120 long lines as [`MAX_LINES_READ`] bounds one of
/// many short ones. The testdata photos reach at most 502; 1000 leaves room for twice that.
pub const MAX_TEXT_READ: f32 = 1000.0;

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
        for cap in SERIAL_CAPTIONS.iter().chain(SERIAL_CAPTION_SLASH_MISREADS) {
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
pub(super) struct LineWork {
    /// The line as the locator found it.
    pub line: TextLine,
    /// Its upright crop, as read.
    pub crop: GrayImage,
    /// What OCR read on it.
    pub read: LineRead,
    /// `read.text()`.
    pub text: String,
    /// `caption_end(&read)`: where a serial caption on it ends.
    pub caption: Option<usize>,
}

impl LineWork {
    /// `line`, cut as `crop`, read as `read`.
    fn new(line: TextLine, crop: GrayImage, read: LineRead) -> LineWork {
        LineWork {
            line,
            crop,
            text: read.text(),
            caption: caption_end(&read),
            read,
        }
    }
}

/// Reads every crop of `cut` with the learned reader and the full character set, all in one batch (in parallel where
/// the recognizer can), and pairs each with its line.
fn read_batch(cut: Vec<(TextLine, GrayImage)>, engine: &mut dyn Readers) -> Result<Vec<LineWork>> {
    let jobs: Vec<(&GrayImage, Ask)> = cut.iter().map(|(_, crop)| (crop, Ask::LINE)).collect();
    let reads = engine.read_all(&jobs)?;
    Ok(cut
        .into_iter()
        .zip(reads)
        .map(|((line, crop), read)| LineWork::new(line, crop, read))
        .collect())
}

/// The lines read on a photo, and what reading them showed.
pub(super) struct ReadLines {
    /// Every line read, in reading order.
    pub work: Vec<LineWork>,
    /// Whether the label reads rotated by 180° from the lines' own direction.
    pub flip: bool,
    /// The motion streak along the text that was undone, crop pixels at [`LINE_TEXT_PX`]
    /// capitals, if any.
    pub streak: Option<f32>,
    /// Median [`crop_sharpness`] of the lines that read as text.
    pub text_blur: Option<f64>,
    /// Median [`smear`] of the lines that read as text.
    pub text_smear: Option<f64>,
}

/// Reads every line of `lines` (already bounded by [`most_text_like`]):
/// 1. once, the way up that reads more like a label, chosen on the longest lines
///    ([`read_upright`]);
/// 2. then, when the text is smeared along its lines ([`SMEAR_RANGE`]), the streak is measured
///    and undone on the crops already cut, and every line is read again.
pub(super) fn read_lines(
    gray: &GrayImage,
    lines: &[TextLine],
    engine: &mut dyn Readers,
) -> Result<ReadLines> {
    let (work, flip) = read_upright(gray, lines, engine)?;
    let (mut text_blur, mut text_smear) = text_scores(&work);
    let mut read = ReadLines {
        work,
        flip,
        streak: None,
        text_blur,
        text_smear,
    };
    if text_smear.is_some_and(|s| s < *SMEAR_RANGE.start())
        && let Some(len) = streak_of(&read.work)
    {
        let cut = read
            .work
            .into_iter()
            .map(|w| {
                let crop = deblur_rows(&w.crop, len);
                (w.line, crop)
            })
            .collect();
        read.work = read_batch(cut, engine)?;
        (text_blur, text_smear) = text_scores(&read.work);
        read.streak = Some(len);
        read.text_blur = text_blur;
        read.text_smear = text_smear;
    }
    Ok(read)
}

/// How many lines decide which way up the label reads: the longest, which hold most of the
/// label's words. They are read the way nearest to upright first, and the other way too when
/// they hold no label word or the text runs near vertical; the rest of the lines are then read
/// once, the way that read more like a label. Reading every line the first way and, when that
/// way was wrong, all of them again the other way read 10 of the first 60 tuning photos twice in
/// full (20–32 line reads against 11–12).
const ORIENTATION_PROBE_LINES: usize = 4;

/// Reads every line once, the way up that reads more like a label, and returns the reads in
/// reading order and whether they are the lines turned by 180°. The way is chosen on the
/// [`ORIENTATION_PROBE_LINES`] longest lines: read the way nearest to upright, and the other way
/// too when no label word turned up on them or the text runs near vertical (ties keep the way
/// nearest to upright).
fn read_upright(
    gray: &GrayImage,
    lines: &[TextLine],
    engine: &mut dyn Readers,
) -> Result<(Vec<LineWork>, bool)> {
    let nearest_upright = lines.first().is_some_and(|l| l.angle.cos() < 0.0);
    let steep = lines.first().is_some_and(|l| l.angle.cos().abs() < 0.5);
    let mut longest: Vec<usize> = (0..lines.len()).collect();
    longest.sort_by(|&a, &b| text_length(&lines[b]).total_cmp(&text_length(&lines[a])));
    longest.truncate(ORIENTATION_PROBE_LINES);
    longest.sort_unstable();
    let mut flip = nearest_upright;
    let mut probe = read_some(gray, lines, &longest, flip, engine)?;
    let score = label_likeness(&probe);
    if score.0 == 0 || steep {
        let other = read_some(gray, lines, &longest, !flip, engine)?;
        if label_likeness(&other) > score {
            (flip, probe) = (!flip, other);
        }
    }
    let rest: Vec<usize> = (0..lines.len()).filter(|i| !longest.contains(i)).collect();
    let mut read: Vec<Option<LineWork>> = (0..lines.len()).map(|_| None).collect();
    for (&i, w) in longest.iter().zip(probe) {
        read[i] = Some(w);
    }
    for (&i, w) in rest
        .iter()
        .zip(read_some(gray, lines, &rest, flip, engine)?)
    {
        read[i] = Some(w);
    }
    let mut work: Vec<LineWork> = read.into_iter().flatten().collect();
    if flip {
        work.reverse();
    }
    Ok((work, flip))
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
pub(super) fn most_text_like(mut lines: Vec<TextLine>, max: usize, max_text: f32) -> Vec<TextLine> {
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

/// Reads the lines at `indices` of `lines`, in that order, turned by 180° if `flip`.
fn read_some(
    gray: &GrayImage,
    lines: &[TextLine],
    indices: &[usize],
    flip: bool,
    engine: &mut dyn Readers,
) -> Result<Vec<LineWork>> {
    let cut = indices
        .iter()
        .map(|&i| (lines[i].clone(), cut_line(gray, &lines[i], flip, 1.0).0))
        .collect();
    read_batch(cut, engine)
}

/// How much the reads look like a label the right way up: label words found at the start of a
/// word, then the mean character confidence (as an integer, for ordering).
fn label_likeness<'a>(work: impl IntoIterator<Item = &'a LineWork> + Clone) -> (usize, i64) {
    let words = work
        .clone()
        .into_iter()
        .map(|w| {
            let text = w.text.to_ascii_uppercase();
            LABEL_WORDS
                .iter()
                .filter(|k| starts_a_word(&text, k))
                .count()
        })
        .sum();
    let confidences: Vec<f32> = work
        .into_iter()
        .flat_map(|w| w.read.chars.iter().map(|c| c.confidence))
        .collect();
    let mean = if confidences.is_empty() {
        0.0
    } else {
        confidences.iter().sum::<f32>() / confidences.len() as f32
    };
    (words, (mean * 100.0) as i64)
}

/// Whether `word` appears in `text` at the start of a word (after the text's start or a character
/// that is not a letter or digit). Text read upside down holds label words inside other words by
/// chance: a model's `ISU/SL` turned by 180° reads `1S/nSI`, which holds `S/N`.
fn starts_a_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric())
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

    /// Reads a crop as `right_way` when its left half is darker than its right (the photo of
    /// [`gradient`] turned by 180°), else as `other_way`; counts its calls.
    struct ByShade {
        right_way: (&'static str, f32),
        other_way: (&'static str, f32),
        calls: usize,
    }

    impl Readers for ByShade {
        fn read(&mut self, line: &GrayImage, _ask: Ask) -> Result<LineRead> {
            self.calls += 1;
            let half = line.width() / 2;
            let mean = |xs: std::ops::Range<u32>| {
                let n = (xs.len() as u32 * line.height()).max(1);
                xs.flat_map(|x| (0..line.height()).map(move |y| (x, y)))
                    .map(|(x, y)| u32::from(line.get_pixel(x, y).0[0]))
                    .sum::<u32>()
                    / n
            };
            let (text, confidence) = if mean(0..half) < mean(half..line.width()) {
                self.right_way
            } else {
                self.other_way
            };
            let mut fake = crate::pipeline::ocr::ScriptedRecognizer::new(&[text], confidence);
            fake.read(line, Ask::LINE)
        }
    }

    /// A photo darkening from left to right, 1600 × 400.
    fn gradient() -> GrayImage {
        GrayImage::from_fn(1600, 400, |x, _| {
            image::Luma([250 - (x * 200 / 1600) as u8])
        })
    }

    /// Eight lines of different lengths across the photo, reading left to right.
    fn eight_lines() -> Vec<TextLine> {
        (0..8)
            .map(|k| {
                let mut l = line(k + 1, 300.0 + 100.0 * k as f32, 10);
                l.centre.0 = 800.0;
                l.angle = 0.0;
                l
            })
            .collect()
    }

    #[test]
    fn the_way_up_is_chosen_on_the_longest_lines_and_each_line_is_read_once() {
        let gray = gradient();
        let lines = eight_lines();
        // Turned by 180°: the four longest lines read as a label the other way, so the other
        // four are read that way only, and every line's read is the other way's.
        let mut turned = ByShade {
            right_way: ("MADE IN CHINA", 90.0),
            other_way: ("xqzv", 90.0),
            calls: 0,
        };
        let (work, flip) = read_upright(&gray, &lines, &mut turned).expect("read");
        assert!(flip);
        assert_eq!(turned.calls, 3 * ORIENTATION_PROBE_LINES);
        assert_eq!(work.len(), lines.len());
        assert!(work.iter().all(|w| w.text == "MADE IN CHINA"));
        assert!(work.windows(2).all(|w| w[0].line.across > w[1].line.across));
        // No label word either way, and the other way less sure on the four longest lines: the
        // first way is kept and the rest are read that way only.
        let mut unreadable = ByShade {
            right_way: ("xqzv", 40.0),
            other_way: ("wkpt", 80.0),
            calls: 0,
        };
        let (work, flip) = read_upright(&gray, &lines, &mut unreadable).expect("read");
        assert!(!flip);
        assert_eq!(unreadable.calls, 3 * ORIENTATION_PROBE_LINES);
        assert_eq!(work.len(), lines.len());
        assert!(work.iter().all(|w| w.text == "wkpt"));
        assert!(work.windows(2).all(|w| w[0].line.across < w[1].line.across));
        // A label word the first way on the longest lines: the other way is never read.
        let mut upright = ByShade {
            right_way: ("xqzv", 90.0),
            other_way: ("MADE IN CHINA", 90.0),
            calls: 0,
        };
        let (work, flip) = read_upright(&gray, &lines, &mut upright).expect("read");
        assert!(!flip);
        assert_eq!(upright.calls, lines.len());
        assert!(work.iter().all(|w| w.text == "MADE IN CHINA"));
    }

    #[test]
    fn captions_are_found_with_a_misread_slash() {
        let caption = |text: &str| {
            let mut fake = crate::pipeline::ocr::ScriptedRecognizer::new(&[text], 90.0);
            let read = fake
                .read(&GrayImage::new(400, 40), Ask::LINE)
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
    fn a_label_word_counts_for_the_way_up_only_at_the_start_of_a_word() {
        assert!(starts_a_word("S/N: L12345678", "S/N"));
        assert!(starts_a_word("MODEL: DS-2CD2143G2-I", "MODEL"));
        assert!(starts_a_word("(S/N) L12345678", "S/N"));
        // `ISU/SL` turned by 180 degrees, as read and upper-cased.
        assert!(!starts_a_word("1S/NSI", "S/N"));
        // A later match at a word's start still counts.
        assert!(starts_a_word("XS/N S/N:", "S/N"));
    }
}
