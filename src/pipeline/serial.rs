//! The serial grammar: parse, normalise where the grammar fixes a character's class, compare.
//!
//! A full serial is the model (with a 2-digit channel count on recorders), the production date
//! `YYYYMMDD`, 4 letters and a 9-character short serial (a letter or digit, then 8 digits), and on
//! recorders a feature suffix of letters: `DS-2CD2143G2-I20230415AAWRL12345678` has the short
//! serial `L12345678`. Labels print the full serial or only the short one.
//!
//! Normalisation turns a look-alike into the only character the grammar allows at that position
//! (a date position must be a digit, so `O` there is `0`). It is applied to what OCR read, never to
//! the reported serial, and it never turns one valid serial into another: where the grammar allows
//! both a letter and a digit (the model, the first character of the short serial) nothing is
//! changed, and a difference there between two look-alikes makes the comparison INCONCLUSIVE,
//! never MATCH.

use std::fmt;
use std::ops::Range;

use super::vocabulary::{SERIAL_CAPTIONS, TIGHT_SERIAL_CAPTIONS, VERIFICATION_CAPTIONS};

/// Longest accepted serial, in characters.
pub const MAX_SERIAL_LEN: usize = 64;

/// Why a reported serial was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    /// Empty after trimming.
    #[error("the serial is empty")]
    Empty,
    /// Longer than [`MAX_SERIAL_LEN`].
    #[error("the serial is {0} characters long, over the limit of {MAX_SERIAL_LEN}")]
    TooLong(usize),
    /// A character outside `A–Z 0–9 - /`.
    #[error("the serial has a character that serials never have: {0:?}")]
    BadCharacter(char),
    /// Not model + date + 4 letters + short serial (+ suffix).
    #[error(
        "the serial does not follow the model + YYYYMMDD + 4 letters + 9-character short serial grammar"
    )]
    Grammar,
}

/// A parsed full serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FullSerial {
    /// Model, with the channel count on recorders (e.g. `DS-7608NI-K2/8P08`).
    pub model: String,
    /// Production date, `YYYYMMDD`.
    pub date: String,
    /// The four letters after the date.
    pub letters: String,
    /// The 9-character short serial.
    pub short: String,
    /// Recorder feature suffix (letters), possibly empty.
    pub suffix: String,
}

impl FullSerial {
    /// The serial as one string.
    pub fn text(&self) -> String {
        format!(
            "{}{}{}{}{}",
            self.model, self.date, self.letters, self.short, self.suffix
        )
    }
}

impl fmt::Display for FullSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A serial read from a label: the full serial or only the short one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSerial {
    /// The whole serial.
    Full(FullSerial),
    /// Only the 9-character short serial.
    Short(String),
}

impl LabelSerial {
    /// The serial as printed (normalised).
    pub fn text(&self) -> String {
        match self {
            LabelSerial::Full(full) => full.text(),
            LabelSerial::Short(short) => short.clone(),
        }
    }

    /// The short serial it carries.
    pub fn short(&self) -> &str {
        match self {
            LabelSerial::Full(full) => &full.short,
            LabelSerial::Short(short) => short,
        }
    }
}

/// The class a grammar position allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit,
    Letter,
    /// Letter or digit (or `-`/`/` in the model): normalisation must not touch it.
    Either,
}

/// The digit a letter is mistaken for, when the grammar says the position is a digit.
fn as_digit(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => c,
        'O' | 'D' | 'Q' | 'U' => '0',
        'I' | 'L' | 'J' | '|' | '!' | 'T' => '1',
        'Z' => '2',
        'S' => '5',
        'B' => '8',
        'G' => '6',
        'A' => '4',
        _ => return None,
    })
}

/// The letter a digit is mistaken for, when the grammar says the position is a letter.
fn as_letter(c: char) -> Option<char> {
    Some(match c {
        'A'..='Z' => c,
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '8' => 'B',
        '6' => 'G',
        '4' => 'A',
        _ => return None,
    })
}

/// Groups of characters OCR confuses; a difference inside one group at an `Either` position
/// cannot be settled by the grammar.
const CONFUSABLE: &[&str] = &["0ODQU", "1IL", "2Z", "5S", "8B", "6G", "4A"];

/// Whether `a` and `b` are look-alikes (and different).
pub fn confusable(a: char, b: char) -> bool {
    a != b && CONFUSABLE.iter().any(|g| g.contains(a) && g.contains(b))
}

fn is_valid_date(d: &[char]) -> bool {
    let n = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0u32, |v, c| v * 10 + c.to_digit(10).unwrap_or(99))
    };
    let (year, month, day) = (n(0..4), n(4..6), n(6..8));
    (2000..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Normalises `chars` against `classes`; `None` if a character cannot take its position's class.
fn fit(chars: &[char], classes: &[Class]) -> Option<Vec<char>> {
    chars
        .iter()
        .zip(classes)
        .map(|(&c, class)| match class {
            Class::Digit => as_digit(c),
            Class::Letter => as_letter(c),
            Class::Either => c.is_ascii_alphanumeric().then_some(c),
        })
        .collect()
}

/// A model looks like `DS-2CD2143G2-I`: 1–4 letters, a dash, then letters, digits, `-` or `/`.
fn is_model(model: &str) -> bool {
    let Some((family, rest)) = model.split_once('-') else {
        return false;
    };
    (1..=4).contains(&family.len())
        && family.chars().all(|c| c.is_ascii_uppercase())
        && rest.len() >= 2
        && rest
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '/')
}

/// Classes of a short serial's 9 positions.
const SHORT_CLASSES: [Class; 9] = [
    Class::Either,
    Class::Digit,
    Class::Digit,
    Class::Digit,
    Class::Digit,
    Class::Digit,
    Class::Digit,
    Class::Digit,
    Class::Digit,
];

/// Reads a short serial (exactly 9 characters) with look-alikes normalised.
pub fn parse_short(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() != 9 {
        return None;
    }
    fit(&chars, &SHORT_CLASSES).map(|v| v.into_iter().collect())
}

/// Parses a full serial. With `lenient`, look-alikes are normalised where the grammar fixes the
/// class (for OCR output); without, the text must already be exact (for the reported serial).
pub fn parse_full(text: &str, lenient: bool) -> Option<FullSerial> {
    let chars: Vec<char> = text.chars().collect();
    // date(8) + letters(4) + short(9) = 21 characters after a model of at least 4.
    if chars.len() < 25 {
        return None;
    }
    let mut found = None;
    for start in 4..=chars.len() - 21 {
        let suffix = &chars[start + 21..];
        // Feature suffixes are 2–6 letters (`WCVU`); one trailing letter is a stray mark.
        if suffix.len() > 6 || suffix.len() == 1 {
            continue;
        }
        let mut classes = vec![Class::Digit; 8];
        classes.extend([Class::Letter; 4]);
        classes.extend(SHORT_CLASSES);
        classes.extend(std::iter::repeat_n(Class::Letter, suffix.len()));
        let body = &chars[start..];
        let fitted = if lenient {
            fit(body, &classes)
        } else {
            let exact = body.iter().zip(&classes).all(|(c, class)| match class {
                Class::Digit => c.is_ascii_digit(),
                Class::Letter => c.is_ascii_uppercase(),
                Class::Either => c.is_ascii_uppercase() || c.is_ascii_digit(),
            });
            exact.then(|| body.to_vec())
        };
        let Some(body) = fitted else { continue };
        if !is_valid_date(&body[0..8]) {
            continue;
        }
        let mut model: String = chars[..start].iter().collect();
        if lenient {
            // The family before the first dash is letters only: digits there are look-alikes.
            if let Some(dash) = model.find('-') {
                let family: Option<String> = model[..dash].chars().map(as_letter).collect();
                if let Some(family) = family {
                    model = format!("{family}{}", &model[dash..]);
                }
            }
        }
        if !is_model(&model) {
            continue;
        }
        let serial = FullSerial {
            model,
            date: body[0..8].iter().collect(),
            letters: body[8..12].iter().collect(),
            short: body[12..21].iter().collect(),
            suffix: body[21..].iter().collect(),
        };
        // Two different parses of the same text are ambiguous: refuse rather than guess.
        match &found {
            None => found = Some(serial),
            Some(previous) if *previous == serial => {}
            Some(_) => return None,
        }
    }
    found
}

/// Validates and parses the serial a device reports (exact, no normalisation).
pub fn parse_reported(text: &str) -> Result<FullSerial, SerialError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SerialError::Empty);
    }
    let len = text.chars().count();
    if len > MAX_SERIAL_LEN {
        return Err(SerialError::TooLong(len));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '/'))
    {
        return Err(SerialError::BadCharacter(bad));
    }
    parse_full(&text.to_ascii_uppercase(), false).ok_or(SerialError::Grammar)
}

/// How a label's serial relates to the reported one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Equal: the full serials, or the label's short serial and the reported one's.
    Match(MatchKind),
    /// They differ only by look-alike characters at positions the grammar cannot settle.
    Confusable {
        /// Positions (in the label text) that differ.
        positions: Vec<usize>,
    },
    /// The label's full serial equals the reported one in date, letters and short serial, and
    /// differs only in its feature suffix or by a model read in part (a value cut off before its
    /// model, `NXI-K2/8P…` for `DS-7608NI-K2/8P…`; a character of the model lost; a suffix lost
    /// or one glued on). Neither proof nor disproof. A complete other model is a
    /// [`Comparison::Mismatch`]: two models may share a short serial.
    PartlyRead,
    /// They differ.
    Mismatch,
}

/// Which part matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The label printed the full serial and it equals the reported one.
    FullSerial,
    /// The label printed only the short serial and it equals the reported serial's short serial.
    ShortSerial,
}

/// Positions where `a` and `b` differ, if all differences are look-alikes at `Either` positions.
fn confusable_only(a: &[char], b: &[char], either: impl Fn(usize) -> bool) -> Option<Vec<usize>> {
    if a.len() != b.len() {
        return None;
    }
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    diffs
        .iter()
        .all(|&i| either(i) && confusable(a[i], b[i]))
        .then_some(diffs)
}

/// Whether two different reads of a label differ only by look-alikes at positions the grammar
/// cannot settle: inside the model of two full serials with the same short serial, or in the
/// first character of two short serials.
pub fn differ_only_by_lookalikes(a: &LabelSerial, b: &LabelSerial) -> bool {
    match (a, b) {
        (LabelSerial::Full(_), LabelSerial::Full(y)) => {
            a.short() == y.short && matches!(compare(a, y), Comparison::Confusable { .. })
        }
        (LabelSerial::Short(x), LabelSerial::Short(y)) => {
            let (x, y): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
            x != y && confusable_only(&x, &y, |i| i == 0).is_some()
        }
        _ => false,
    }
}

/// Whether `label` is another serial than `reported` beyond look-alike characters: it differs
/// ([`Comparison::Mismatch`]) and not only by [`CONFUSABLE`] characters, wherever they stand. A
/// second reading that differs only so (`0IWR` for `DIWR`: Tesseract reads a small `D` as `0`)
/// is a misread of the same print, not a reading of another serial. Every look-alike group holds
/// one digit at most, so serials differing in a digit (neighbouring devices) always differ
/// beyond look-alikes.
pub fn differs_beyond_lookalikes(label: &LabelSerial, reported: &FullSerial) -> bool {
    if !matches!(compare(label, reported), Comparison::Mismatch) {
        return false;
    }
    let (a, b): (Vec<char>, Vec<char>) = match label {
        LabelSerial::Full(full) => (
            full.text().chars().collect(),
            reported.text().chars().collect(),
        ),
        LabelSerial::Short(short) => (short.chars().collect(), reported.short.chars().collect()),
    };
    confusable_only(&a, &b, |_| true).is_none()
}

/// Whether a model read could be `reported` with characters lost: shorter, and either every
/// character of it appears in `reported` in order, or `reported` ends with what follows its
/// first dash (a value cut off before its model, its first letters misread: `NXI-K2/8P08` for
/// `DS-7608NI-K2/8P08`). A complete other model (as long or longer) is another device.
fn model_read_in_part(read: &str, reported: &str) -> bool {
    let mut rest = reported.chars();
    let in_order = read.chars().all(|c| rest.any(|r| r == c));
    let after_dash = read
        .split_once('-')
        .is_some_and(|(_, tail)| reported.ends_with(&format!("-{tail}")));
    read.len() < reported.len() && (in_order || after_dash)
}

/// Compares a serial read from the label with the reported one.
pub fn compare(label: &LabelSerial, reported: &FullSerial) -> Comparison {
    match label {
        LabelSerial::Full(full) => {
            if full == reported {
                return Comparison::Match(MatchKind::FullSerial);
            }
            let (a, b): (Vec<char>, Vec<char>) = (
                full.text().chars().collect(),
                reported.text().chars().collect(),
            );
            // Same layout (model and suffix lengths) needed for a position-wise comparison.
            let same_shape = full.model.len() == reported.model.len()
                && full.suffix.len() == reported.suffix.len();
            let model_len = full.model.len();
            let short_start = model_len + 12;
            let either = |i: usize| i < model_len || i == short_start;
            match same_shape
                .then(|| confusable_only(&a, &b, either))
                .flatten()
            {
                Some(positions) => Comparison::Confusable { positions },
                None if full.date == reported.date
                    && full.letters == reported.letters
                    && full.short == reported.short
                    && (full.model == reported.model
                        || model_read_in_part(&full.model, &reported.model)) =>
                {
                    Comparison::PartlyRead
                }
                None => Comparison::Mismatch,
            }
        }
        LabelSerial::Short(short) => {
            if *short == reported.short {
                return Comparison::Match(MatchKind::ShortSerial);
            }
            let (a, b): (Vec<char>, Vec<char>) =
                (short.chars().collect(), reported.short.chars().collect());
            match confusable_only(&a, &b, |i| i == 0) {
                Some(positions) => Comparison::Confusable { positions },
                None => Comparison::Mismatch,
            }
        }
    }
}

/// `text` up to the label's verification code, when the code was read on the serial's line.
///
/// The code is a secret and never part of a serial, so it must reach neither a serial's parse
/// nor a report. The text is cut (and trimmed) at a code caption ([`VERIFICATION_CAPTIONS`]) that starts
/// a word or follows the eight digits of a short serial (OCR often drops the space:
/// `U95625895VCJKEXCK`), or at a word of 5–7 letters after eight digits and a space (a code
/// printed without a caption; a feature suffix is glued to the digits), or at a glued tail after
/// the eight digits that starts with `V` and is too long for a suffix and mostly letters (the
/// caption misread: `…09VLWZ7RZ`), or at `VC` and six letters ending a word, glued to what was
/// read before it (`…56WCVUVCGIDRIY`, its colon read as one more character: `…WRVC8LVJYSC`), or
/// at a word starting `VERI` (the caption misread). A caption inside a model (`-VC…`, `/VC…`)
/// does not cut.
pub fn before_verification_code(text: &str) -> &str {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let upper: Vec<char> = chars.iter().map(|(_, c)| c.to_ascii_uppercase()).collect();
    let digits = |r: std::ops::Range<usize>| upper[r].iter().all(char::is_ascii_digit);
    for i in 0..upper.len() {
        let word_start =
            i == 0 || (!upper[i - 1].is_ascii_alphanumeric() && !matches!(upper[i - 1], '-' | '/'));
        let after_short = i >= 8 && digits(i - 8..i);
        let caption = VERIFICATION_CAPTIONS.iter().any(|cap| {
            let cap: Vec<char> = cap.chars().collect();
            upper[i..].starts_with(&cap)
        });
        let bare_code = i >= 9 && upper[i - 1].is_whitespace() && digits(i - 9..i - 1) && {
            let word = upper[i..].iter().take_while(|c| !c.is_whitespace());
            let len = word.clone().count();
            (5..=7).contains(&len) && word.clone().all(char::is_ascii_uppercase)
        };
        // `VC` misread (`VL…`, or its `C` lost) and glued to the digits: a tail of seven or more
        // (longer than any suffix) from a `V`, mostly letters (a second short serial is digits).
        let misread_caption = after_short && upper[i] == 'V' && {
            let tail: Vec<char> = upper[i..]
                .iter()
                .copied()
                .take_while(|c| !c.is_whitespace())
                .collect();
            tail.len() >= 7 && tail[1..].iter().filter(|c| c.is_ascii_uppercase()).count() >= 4
        };
        // `VC` and the six letters of a code glued to whatever was read before it
        // (`…84054656WCVUVCGIDRIY`, `…A15552VCDVAJMP`), its colon read as one more character
        // or not (`…BAWRVC8LVJYSC`, `…WCVUVCREFIHAQ`): a word ending in `VC`, at most one
        // character and six letters (no serial ends so: a short serial ends in digits, a suffix
        // is at most six letters).
        let glued_code = i > 0 && upper[i..].starts_with(&['V', 'C']) && {
            let tail: Vec<char> = upper[i + 2..]
                .iter()
                .copied()
                .take_while(|c| !c.is_whitespace())
                .collect();
            matches!(tail.len(), 6 | 7)
                && tail[tail.len() - 6..].iter().all(char::is_ascii_uppercase)
        };
        // The caption `VERIFICATION` misread after its first four letters (`VERIICATIOC04E`).
        let misread_word = word_start && upper[i..].starts_with(&['V', 'E', 'R', 'I']);
        if (caption && (word_start || after_short))
            || bare_code
            || misread_caption
            || glued_code
            || misread_word
        {
            return text[..chars[i].0].trim_end();
        }
    }
    text
}

/// Most edits (letters changed, added or dropped) a misread long caption may be from
/// `SERIALNUMBER` or `SERIALNO`, per letter of the caption ([`after_misread_caption`]).
const CAPTION_EDITS_PER_LETTER: usize = 3;

/// The last word of `upper` (upper-case OCR text) when the words before it are a long serial
/// caption misread and end with a colon: `SONIDL NUMBIER: Y23090748` for `Serial Number:`, in a
/// font the reader knows less well. The words' letters must be within one edit in
/// [`CAPTION_EDITS_PER_LETTER`] of `SERIALNUMBER` or `SERIALNO` (`PART NUMBER`, `MODEL NUMBER`
/// and `LOT NUMBER` are not). The word after them is a value only if it is a short serial.
fn after_misread_caption(upper: &str) -> Option<&str> {
    let (caption, value) = upper.trim_end().rsplit_once(':')?;
    let value = value.trim();
    if value.is_empty() || value.contains(char::is_whitespace) {
        return None;
    }
    let letters: Vec<char> = caption.chars().filter(char::is_ascii_alphabetic).collect();
    let near = |word: &str| {
        let word: Vec<char> = word.chars().collect();
        edit_distance(&letters, &word) * CAPTION_EDITS_PER_LETTER <= word.len()
    };
    (letters.len() >= 6 && (near("SERIALNUMBER") || near("SERIALNO"))).then_some(value)
}

/// Levenshtein distance between two character strings.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Finds serials in one line of OCR text: a full serial anywhere, else a short serial that is the
/// line's whole value, with look-alikes normalised. A full serial may start at the line's
/// start, after a non-alphanumeric character or right after a caption (`SN`, `S/N`, `Serial
/// No.`, …); spaces inside it are ignored, since OCR sometimes splits one, except before a
/// feature suffix: letters after a space are the next field (a verification code), never a
/// suffix. Text from the verification code on is left out ([`before_verification_code`]).
pub fn find_in_text(text: &str) -> Vec<LabelSerial> {
    find_spans_in_text(text)
        .into_iter()
        .map(|(serial, _)| serial)
        .collect()
}

/// [`find_in_text`], each serial with the span of `text`'s characters it was read from, counted
/// without white space (as [`super::ocr::LineRead::chars`] are).
pub fn find_spans_in_text(text: &str) -> Vec<(LabelSerial, Range<usize>)> {
    let upper = before_verification_code(text).to_ascii_uppercase();
    let chars: Vec<char> = upper.chars().filter(|c| !c.is_whitespace()).collect();
    // Whether a space came before each character of `chars`.
    let mut spaced = Vec::with_capacity(chars.len());
    let mut gap = false;
    for c in upper.chars() {
        if c.is_whitespace() {
            gap = true;
        } else {
            spaced.push(gap);
            gap = false;
        }
    }
    let compact: String = chars.iter().collect();
    let captions: Vec<Vec<char>> = SERIAL_CAPTIONS
        .iter()
        .map(|c| c.chars().collect())
        .collect();
    let tight: Vec<Vec<char>> = TIGHT_SERIAL_CAPTIONS
        .iter()
        .map(|c| c.chars().collect())
        .collect();
    let mut found = Vec::new();
    for start in 0..chars.len() {
        // Character slices, not byte slices: OCR output may hold any Unicode.
        let boundary = start == 0
            || !chars[start - 1].is_ascii_alphanumeric()
            || captions.iter().any(|cap| chars[..start].ends_with(cap))
            // All the line holds before it is the end of `S/N` or `SN` (captions printed tight
            // against the value), their start cut off with the caption (`NDS-…`): the serial
            // may start here, and the parse from the line's start yields to this one (below).
            // The ends of the long captions are letters a model may start with (`OS-…` is a
            // look-alike of `DS-…`, never a remnant of `Serial No`).
            || tight.iter().any(|cap| cap.ends_with(&chars[..start]));
        if !boundary || !chars[start].is_ascii_uppercase() {
            continue;
        }
        for end in (start + 25..=chars.len().min(start + MAX_SERIAL_LEN)).rev() {
            let candidate: String = chars[start..end].iter().collect();
            if let Some(mut full) = parse_full(&candidate, true) {
                // Letters after a space are the next field (the verification code printed
                // after the serial), not a feature suffix glued to the short serial.
                let suffix_at = end - full.suffix.chars().count();
                if !full.suffix.is_empty() && spaced[suffix_at] {
                    match parse_full(&chars[start..suffix_at].iter().collect::<String>(), true) {
                        Some(bare) => full = bare,
                        None => continue,
                    }
                }
                let span = start..start + full.text().chars().count();
                let serial = LabelSerial::Full(full);
                if !found.iter().any(|(s, _)| *s == serial) {
                    found.push((serial, span));
                }
                break;
            }
        }
    }
    // A parse whose model starts with the end of a caption ("NDS-…" after "S/N") yields to the
    // parse of the same text that starts after it.
    let remnant = |p: &str| !p.is_empty() && SERIAL_CAPTIONS.iter().any(|cap| cap.ends_with(p));
    let all = found.clone();
    found.retain(|(serial, _)| {
        let LabelSerial::Full(a) = serial else {
            return true;
        };
        !all.iter().any(|(other, _)| match other {
            LabelSerial::Full(b) => {
                b.model.len() < a.model.len()
                    && a.text().ends_with(&b.text())
                    && remnant(&a.model[..a.model.len() - b.model.len()])
            }
            LabelSerial::Short(_) => false,
        })
    });
    if !found.is_empty() {
        return found;
    }
    // A short serial counts only when it is the line's whole value (after an optional caption):
    // nine characters cut out of a longer, unreadable full serial prove nothing.
    let mut value = compact.as_str();
    if let Some(cap) = SERIAL_CAPTIONS.iter().find(|cap| value.starts_with(*cap)) {
        value = &value[cap.len()..];
    } else if let Some(after) = after_misread_caption(&upper) {
        value = after;
    }
    let value = value.trim_start_matches([':', '.', ';']);
    let lead = chars.len() - value.chars().count();
    let value = value.trim_end_matches(['.', ',', ';']);
    if let Some(short) = parse_short(value) {
        found.push((LabelSerial::Short(short), lead..lead + 9));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "DS-2CD2143G2-I20230415AAWRL12345678";
    const RECORDER: &str = "DS-7608NI-K2/8P0820200101CCRRD12345678WCVU";

    fn reported(s: &str) -> FullSerial {
        parse_reported(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_camera_and_recorder_serials() {
        let cam = reported(CAMERA);
        assert_eq!(cam.model, "DS-2CD2143G2-I");
        assert_eq!(cam.date, "20230415");
        assert_eq!(cam.letters, "AAWR");
        assert_eq!(cam.short, "L12345678");
        assert_eq!(cam.suffix, "");
        let nvr = reported(RECORDER);
        assert_eq!(nvr.model, "DS-7608NI-K2/8P08");
        assert_eq!(nvr.short, "D12345678");
        assert_eq!(nvr.suffix, "WCVU");
        assert_eq!(nvr.text(), RECORDER);
    }

    #[test]
    fn reported_serial_errors() {
        assert_eq!(parse_reported("  "), Err(SerialError::Empty));
        assert_eq!(
            parse_reported(&"A".repeat(65)),
            Err(SerialError::TooLong(65))
        );
        assert_eq!(
            parse_reported("DS-2CD2143G2-I2023041 5AAWR"),
            Err(SerialError::BadCharacter(' '))
        );
        assert_eq!(
            parse_reported("DS-2CD2143G2-I2023041€AAWR"),
            Err(SerialError::BadCharacter('€'))
        );
        assert_eq!(parse_reported("L12345678"), Err(SerialError::Grammar));
        // A look-alike is not corrected in the reported serial: O in the date is refused.
        assert_eq!(
            parse_reported("DS-2CD2143G2-I2O230415AAWRL12345678"),
            Err(SerialError::Grammar)
        );
        // Month 13 is not a date.
        assert_eq!(
            parse_reported("DS-2CD2143G2-I20231315AAWRL12345678"),
            Err(SerialError::Grammar)
        );
    }

    #[test]
    fn lenient_parse_fixes_lookalikes_only_where_the_class_is_fixed() {
        // O→0 and I→1 in the date, 0→O in the letters, B→8 in the short serial's digits.
        let read = parse_full("DS-2CD2143G2-I2O23O4I5AAWRL1234567B", true).expect("parses");
        assert_eq!(read.text(), CAMERA);
        // The model keeps what was read: G stays G, and the short serial's first character too.
        let read = parse_full("DS-2CD2143G2-I20230415AAWR112345678", true).expect("parses");
        assert_eq!(read.short, "112345678");
    }

    #[test]
    fn exact_and_short_matches() {
        let rep = reported(CAMERA);
        let full = LabelSerial::Full(parse_full(CAMERA, true).expect("full"));
        assert_eq!(
            compare(&full, &rep),
            Comparison::Match(MatchKind::FullSerial)
        );
        let short = LabelSerial::Short("L12345678".into());
        assert_eq!(
            compare(&short, &rep),
            Comparison::Match(MatchKind::ShortSerial)
        );
    }

    /// Every serial one step away from the reported one (last digit ±1).
    #[test]
    fn neighbour_serials_never_match() {
        for base in [CAMERA, RECORDER] {
            let rep = reported(base);
            for delta in [1u32, 9] {
                let last = rep
                    .short
                    .chars()
                    .last()
                    .and_then(|c| c.to_digit(10))
                    .expect("digit");
                let mut short = rep.short.clone();
                short.pop();
                short.push(char::from_digit((last + delta) % 10, 10).expect("digit"));
                let full = FullSerial {
                    short: short.clone(),
                    ..rep.clone()
                };
                assert_eq!(
                    compare(&LabelSerial::Full(full), &rep),
                    Comparison::Mismatch
                );
                assert_eq!(
                    compare(&LabelSerial::Short(short), &rep),
                    Comparison::Mismatch
                );
            }
        }
    }

    /// Every single-character substitution of the reported serial, by any serial character:
    /// never MATCH; INCONCLUSIVE only for look-alikes at positions the grammar cannot settle.
    #[test]
    fn every_single_character_substitution() {
        let alphabet: Vec<char> = ('A'..='Z').chain('0'..='9').chain(['-', '/']).collect();
        for base in [CAMERA, RECORDER] {
            let rep = reported(base);
            let chars: Vec<char> = base.chars().collect();
            for i in 0..chars.len() {
                for &c in &alphabet {
                    if c == chars[i] {
                        continue;
                    }
                    let mut changed = chars.clone();
                    changed[i] = c;
                    let text: String = changed.iter().collect();
                    for found in find_in_text(&text) {
                        let result = compare(&found, &rep);
                        if matches!(result, Comparison::Match(_)) {
                            // Only a look-alike at a position whose class the grammar fixes may
                            // normalise back to the same serial: a label cannot print it there.
                            let fixed = if (rep.model.len()..rep.model.len() + 8).contains(&i)
                                || (rep.model.len() + 13..rep.model.len() + 21).contains(&i)
                            {
                                as_digit(c) == Some(chars[i])
                            } else {
                                // Letters: the 4-letter block, the suffix and the model family
                                // (the letters before the model's first dash).
                                let family = rep.model.find('-').unwrap_or(0);
                                as_letter(c) == Some(chars[i])
                                    && (i >= rep.model.len() + 8 || i < family)
                            };
                            assert!(fixed, "{text} (position {i} = {c:?}) matched {base}");
                        }
                        if let Comparison::Confusable { .. } = result {
                            assert!(
                                confusable(c, chars[i]),
                                "{text}: non-look-alike called confusable"
                            );
                        }
                    }
                    // A substitution inside the short serial, read as a short-only label.
                    let short_start = rep.model.len() + 12;
                    if (short_start..short_start + 9).contains(&i) {
                        let short: String = changed[short_start..short_start + 9].iter().collect();
                        if let Some(s) = parse_short(&short) {
                            let r = compare(&LabelSerial::Short(s.clone()), &rep);
                            // A digit position read as its look-alike letter normalises back to
                            // the same digit: that is the same serial, not a different one.
                            if s == rep.short {
                                assert!(as_digit(c) == Some(chars[i]), "{short}");
                            } else {
                                assert!(!matches!(r, Comparison::Match(_)), "{short} matched");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn transpositions_never_match() {
        for base in [CAMERA, RECORDER] {
            let rep = reported(base);
            let chars: Vec<char> = base.chars().collect();
            for i in 0..chars.len() - 1 {
                if chars[i] == chars[i + 1] {
                    continue;
                }
                let mut t = chars.clone();
                t.swap(i, i + 1);
                let text: String = t.iter().collect();
                for found in find_in_text(&text) {
                    assert!(
                        !matches!(compare(&found, &rep), Comparison::Match(_)),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_short_serial_shared_by_two_models_matches_only_its_own_full_serial() {
        let rep = reported(CAMERA);
        let other = LabelSerial::Full(
            parse_full("DS-2CD2387G2-LU20230415AAWRL12345678", true).expect("full"),
        );
        assert_eq!(compare(&other, &rep), Comparison::Mismatch);
        let other_date = LabelSerial::Full(
            parse_full("DS-2CD2143G2-I20220415AAWRL12345678", true).expect("full"),
        );
        assert_eq!(compare(&other_date, &rep), Comparison::Mismatch);
    }

    #[test]
    fn lookalikes_where_the_grammar_cannot_decide_are_inconclusive() {
        let rep = reported("DS-2CD2143G2-I20230415AAWRO12345678");
        // Short serial starting with 0 vs O: either is valid there.
        let read = LabelSerial::Short("012345678".into());
        assert_eq!(
            compare(&read, &rep),
            Comparison::Confusable { positions: vec![0] }
        );
        // G vs 6 inside the model.
        let read = LabelSerial::Full(
            parse_full("DS-2CD214362-I20230415AAWRO12345678", true).expect("full"),
        );
        assert!(matches!(
            compare(&read, &rep),
            Comparison::Confusable { .. }
        ));
        // A real difference elsewhere as well makes it a mismatch.
        let read = LabelSerial::Full(
            parse_full("DS-2CD214362-I20230415AAWRO12345679", true).expect("full"),
        );
        assert_eq!(compare(&read, &rep), Comparison::Mismatch);
    }

    #[test]
    fn any_unicode_text_is_handled_without_panicking() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let pool: Vec<char> = "SN/:.-‘“”é€😀 ABCDLO0123456789|!DS-2CD2143G2-I20230415AAWRL12345678"
            .chars()
            .collect();
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 60) as usize;
            let text: String = (0..len)
                .map(|i| pool[((state >> (i % 50)) as usize + i * 7) % pool.len()])
                .collect();
            let _ = find_in_text(&text);
        }
        assert!(find_in_text("PY]‘0DABOJOUYDE|JEYWBIGUOISIAYIHNOUUZBUEY").is_empty());
        assert!(find_in_text("TY“5SSULFOSTLE").is_empty());
    }

    #[test]
    fn the_verification_code_never_reaches_a_serial_nor_the_text_kept() {
        let cut = before_verification_code;
        // Caption read with or without the space, misread, or no caption at all.
        assert_eq!(cut("U95625895VCJKEXCK"), "U95625895");
        assert_eq!(cut("U95625895 VC: JKEXCK"), "U95625895");
        assert_eq!(
            cut("SN: L12345678 Verification Code: ABCDEF"),
            "SN: L12345678"
        );
        assert_eq!(cut("C11924509VLWZ7RZ"), "C11924509");
        assert_eq!(
            cut("DS-2CD2043G2-IU20191214BBWRU36365408VQAJYNK"),
            "DS-2CD2043G2-IU20191214BBWRU36365408"
        );
        assert_eq!(cut("L12345678 KETPWX"), "L12345678");
        assert_eq!(
            cut("DS-7104NI-Q1/M0420240722CCRRC84054656WCVUVCGIDRIY"),
            "DS-7104NI-Q1/M0420240722CCRRC84054656WCVU"
        );
        assert_eq!(cut("D12345678BAWRVCLVJYSC"), "D12345678BAWR");
        // The colon after `VC` read as a character, the caption misread.
        assert_eq!(
            cut("DS-7604NI-K1/4P0420250312CCRR794596582BAWRVC8LVJYSC"),
            "DS-7604NI-K1/4P0420250312CCRR794596582BAWR"
        );
        assert_eq!(cut("R961243150WCVUVCREFIHAQ"), "R961243150WCVU");
        assert_eq!(cut("VERIICATIOC04ENEETWV"), "");
        assert_eq!(cut("L12345678 VERIFV: ABCDEF"), "L12345678");
        // Glued to a garbled read of the serial.
        assert_eq!(
            cut("DD1771-171557161795A15552VCDVAJMP"),
            "DD1771-171557161795A15552"
        );
        assert_eq!(cut("V/C ABCDEF"), "");
        // Not a code: a recorder's suffix, a second serial, a caption inside a model.
        assert_eq!(cut(RECORDER), RECORDER);
        assert_eq!(cut("D12345678WCVU"), "D12345678WCVU");
        assert_eq!(cut("D12345678WCVUVCABCDE"), "D12345678WCVUVCABCDE");
        assert_eq!(cut("L12345678V12345679"), "L12345678V12345679");
        assert_eq!(cut("DS-2VC1234-I"), "DS-2VC1234-I");
        // The serial before the code is found; the code is never glued to it.
        let code_after = format!("{CAMERA}VCKETPWX");
        assert_eq!(
            find_in_text(&code_after),
            vec![LabelSerial::Full(reported(CAMERA))]
        );
        assert_eq!(
            find_in_text("L12345678VCKETPWX"),
            vec![LabelSerial::Short("L12345678".into())]
        );
        assert_eq!(cut("Ünïcødé VC ✓"), "Ünïcødé");
    }

    #[test]
    fn a_serials_span_counts_its_own_characters_without_spaces() {
        // A mark read past the end (a code's module) and a caption before it are outside.
        let spans = find_spans_in_text("S/N: DS-2CD2143G2-I20230415AAWRL12345678 4");
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].1, 4..4 + CAMERA.len());
        let spans = find_spans_in_text("SN: L12345678.");
        assert_eq!(spans, vec![(LabelSerial::Short("L12345678".into()), 3..12)]);
        assert_eq!(find_spans_in_text("L12345678")[0].1, 0..9);
    }

    #[test]
    fn a_short_serial_after_a_misread_long_caption_is_found() {
        let short = || vec![LabelSerial::Short("Y23090748".into())];
        for line in [
            "Sonidl Numbier: Y23090748",
            "Serlal Nurnber: Y23090748",
            "Seriai No: Y23090748",
        ] {
            assert_eq!(find_in_text(line), short(), "{line}");
        }
        for line in [
            // Other fields' captions.
            "Part Number: Y23090748",
            "Model Number: Y23090748",
            "Lot Number: Y23090748",
            // No colon, a value of two words, or no value beyond the caption.
            "Sonidl Numbier Y23090748",
            "Sonidl Numbier: Y2309 0748",
            "Sonidl Numbier:",
            // Nine characters cut from a longer value.
            "Sonidl Numbier: AWRY23090748",
        ] {
            assert!(find_in_text(line).is_empty(), "{line}");
        }
        assert_eq!(edit_distance(&['A', 'B'], &['B']), 1);
        assert_eq!(edit_distance(&[], &['A', 'B']), 2);
    }

    #[test]
    fn finds_serials_in_ocr_lines() {
        let found = find_in_text("S/N: DS-2CD2143G2-I20230415AAWRL12345678");
        assert_eq!(found, vec![LabelSerial::Full(reported(CAMERA))]);
        for line in [
            "SN L12345678",
            "S/N: L12345678",
            "Serial No.: L12345678",
            "L12345678",
            "SNL12345678",
        ] {
            assert_eq!(
                find_in_text(line),
                vec![LabelSerial::Short("L12345678".into())],
                "{line}"
            );
        }
        // Nine characters at the end of an unreadable full serial are not a short-serial label.
        assert!(find_in_text("DS-2CD2143G2-I20230415AAW-L12345678").is_empty());
        assert!(find_in_text("S/N: XX-L12345678").is_empty());
        // Caption remnants glued to the model and a stray trailing mark are dropped.
        assert_eq!(
            find_in_text("SNDS-2CD2143G2-I20230415AAWRL12345678"),
            vec![LabelSerial::Full(reported(CAMERA))]
        );
        assert_eq!(
            find_in_text("S/N:DS-2CD2143G2-I20230415AAWRL12345678O"),
            vec![LabelSerial::Full(reported(CAMERA))]
        );
        // Only the end of the caption left at the line's start.
        for line in [
            "NDS-2CD2143G2-I20230415AAWRL12345678",
            "/NDS-2CD2143G2-I20230415AAWRL12345678",
        ] {
            assert_eq!(
                find_in_text(line),
                vec![LabelSerial::Full(reported(CAMERA))],
                "{line}"
            );
        }
        // A model family that is no short caption's end stays whole.
        for line in [
            "IDS-2CD2143G2-I20230415AAWRL12345678",
            "OS-2CD2143G2-I20230415AAWRL12345678",
        ] {
            assert_eq!(
                find_in_text(line),
                vec![LabelSerial::Full(parse_full(line, false).expect("parses"))],
                "{line}"
            );
        }
        // The model family is letters: "D5-" is "DS-".
        assert_eq!(
            find_in_text("D5-2CD2143G2-I20230415AAWRL12345678"),
            vec![LabelSerial::Full(reported(CAMERA))]
        );
        // OCR split the serial with a space.
        let found = find_in_text("DS-7608NI-K2/8P0820200101 CCRRD12345678WCVU");
        assert_eq!(found, vec![LabelSerial::Full(reported(RECORDER))]);
        // Verification codes, MAC addresses and model lines are not serials.
        assert!(find_in_text("Verification Code: ABCDEF").is_empty());
        assert!(find_in_text("MAC: 44:19:B6:12:34:56").is_empty());
        assert!(find_in_text("Model: DS-2CD2143G2-I").is_empty());
        assert!(find_in_text("Power: 12V DC 0.5A").is_empty());
    }
}
