//! Verdicts are data: the decision from the evidence, and the report that carries both.
//!
//! The rules, in order (a wrong MATCH hands a stranger a reset code, so doubt never matches):
//! 1. Nothing serial-like could be read: BLURRY if the photo is below the sharpness threshold
//!    and no part of it is sharp every way ([`PEAK_SHARP_MIN`]), or the text is below the
//!    threshold or smeared by motion ([`SMEAR_RANGE`], or a streak had to be undone:
//!    [`Evidence::streak_px`]); INCONCLUSIVE if a serial caption was read but its value was
//!    not; NOT_FOUND otherwise, unless the photo is blurred at the coarse
//!    scale, where grain no longer hides blur ([`COARSE_BLUR_MIN`]), or smeared along one
//!    direction ([`PHOTO_SMEAR_MIN`]): BLURRY.
//! 2. Two different serials in the photo: INCONCLUSIVE.
//! 3. The serial's region is below the sharpness threshold or smeared by motion: BLURRY (a
//!    blurred read is no evidence, so blur wins over MISMATCH). Where the streak was undone the
//!    smear measure's lower end is [`DEBLURRED_SMEAR_MIN`]; above that end, a region smeared
//!    along its lines still counts where the second reading read the very serial the first did
//!    (letter-spaced print scores so unmoved).
//! 4. Compare the learned reading with the reported serial ([`super::serial::compare`]): MATCH
//!    only if the full serials are equal (or the label shows only the short serial and it equals
//!    the reported one's), every character was read with at least the minimum confidence, and the
//!    second, independent reading (Tesseract's, at two scales) does not contradict it: a
//!    contradiction is a sure reading of another serial beyond look-alikes (both scales read the
//!    same serial); an unreadable or unsure second reading is none. Look-alikes the grammar cannot settle, a contradicted read
//!    and low confidence are INCONCLUSIVE. A different serial is MISMATCH only when read surely
//!    and corroborated: the second reading reads that same other serial, up to look-alikes
//!    (or, in rule 5, a code holds another serial).
//! 5. The label's codes ([`Evidence::codes`], exact reads: a check digit or Reed–Solomon) weigh
//!    on the text's decision ([`weigh_codes`]); a code never turns a MISMATCH of the text into a
//!    MATCH, and a code alone never MATCHes:
//!    - two codes hold different serials: INCONCLUSIVE (`BARCODE_DISAGREES`);
//!    - the printed serial is unread or blurred: INCONCLUSIVE (`BARCODE_ONLY`) if the code holds
//!      the reported serial (NOT_FOUND stays NOT_FOUND, `BARCODE_ONLY` added, where no serial
//!      field was found at all), MISMATCH (`BARCODE_DIFFERS`) if it holds another and the photo
//!      shows one label;
//!    - the text read differs from the code's serial beyond look-alikes: INCONCLUSIVE
//!      (`BARCODE_DISAGREES`), a relabelled or tampered device;
//!    - the text read is the code's serial up to look-alikes and the code holds the reported
//!      serial: a MATCH gains `BARCODE_AGREES`; an INCONCLUSIVE owed only to look-alikes, low
//!      confidence or unstable reads becomes MATCH (`BARCODE_SETTLES_LOOKALIKES`) when every read
//!      of the value is the code's serial up to look-alikes;
//!    - the same, but the code holds a different serial: MISMATCH (`BARCODE_DIFFERS`), unless the
//!      text's INCONCLUSIVE comes from another label or serial on the photo.
//! 6. More text than is read, in lines or in their length ([`Evidence::lines_unread`]): any
//!    verdict but BLURRY becomes INCONCLUSIVE (`TOO_MUCH_TEXT`), since a serial may sit on a line
//!    not read.

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, FieldRead};

use super::serial::{
    Comparison, FullSerial, LabelSerial, MatchKind, compare, differs_beyond_lookalikes,
};

/// The answer for one photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The label proves the reported serial.
    Match,
    /// The label shows a different serial.
    Mismatch,
    /// The photo (or the serial on it) is too blurred to read.
    Blurry,
    /// Sharp enough, but no serial field on it.
    NotFound,
    /// A human should look.
    Inconclusive,
}

impl Verdict {
    /// The name used on the wire and in output (`MATCH`, `NOT_FOUND`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "MATCH",
            Verdict::Mismatch => "MISMATCH",
            Verdict::Blurry => "BLURRY",
            Verdict::NotFound => "NOT_FOUND",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// Machine-readable reasons behind a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The full serial on the label equals the reported one.
    FullSerialEqual,
    /// The label's short serial equals the reported serial's short serial.
    ShortSerialEqual,
    /// A serial was read and differs from the reported one.
    SerialDiffers,
    /// The only differences are look-alike characters the grammar cannot settle.
    ConfusableCharacters,
    /// At least one character was read with low confidence.
    LowConfidence,
    /// Two independent reads of the value disagree.
    UnstableRead,
    /// The photo shows two or more different serials.
    MultipleSerials,
    /// A serial caption was read but not a valid serial next to it, or the serial read agrees
    /// with the reported one except in its model or feature suffix (read in part: a value cut
    /// off before its model).
    SerialUnreadable,
    /// The serial's region is below the sharpness threshold.
    RegionBlurry,
    /// No serial was read and the whole photo is below the sharpness threshold
    /// ([`Thresholds::photo_blur_min`]).
    PhotoBlurry,
    /// Text was found but no serial field.
    NoSerialField,
    /// No text lines were found at all.
    NoText,
    /// The photo shows more labels or serial captions than serials read: one went unread.
    UnreadSerialField,
    /// The text (or the serial's region) is smeared by motion: its sharpness across the text and
    /// along it differ beyond [`SMEAR_RANGE`].
    MotionBlur,
    /// The photo holds more text than is read ([`Evidence::lines_unread`]): a serial may sit on
    /// a line not read.
    TooMuchText,
    /// The serial read on the label and a code on it both equal the reported serial.
    BarcodeAgrees,
    /// The serial read differs from the reported one only by look-alikes (or was read unsure),
    /// and a code on the label holds exactly the reported serial.
    BarcodeSettlesLookalikes,
    /// A code's serial differs from the serial read beyond look-alikes, or two codes differ: a
    /// relabelled or tampered device.
    BarcodeDisagrees,
    /// A code holds a serial other than the reported one.
    BarcodeDiffers,
    /// Only a code holds the reported serial; the printed serial is unread or blurred.
    BarcodeOnly,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 20] = [
        Reason::FullSerialEqual,
        Reason::ShortSerialEqual,
        Reason::SerialDiffers,
        Reason::ConfusableCharacters,
        Reason::LowConfidence,
        Reason::UnstableRead,
        Reason::MultipleSerials,
        Reason::SerialUnreadable,
        Reason::RegionBlurry,
        Reason::PhotoBlurry,
        Reason::NoSerialField,
        Reason::NoText,
        Reason::UnreadSerialField,
        Reason::MotionBlur,
        Reason::TooMuchText,
        Reason::BarcodeAgrees,
        Reason::BarcodeSettlesLookalikes,
        Reason::BarcodeDisagrees,
        Reason::BarcodeDiffers,
        Reason::BarcodeOnly,
    ];

    /// The reason's name everywhere labelcheck writes one: text and JSON output, annotated
    /// photos, the review page, logs (`short_serial_equal`, ...); the same as its JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FullSerialEqual => "full_serial_equal",
            Reason::ShortSerialEqual => "short_serial_equal",
            Reason::SerialDiffers => "serial_differs",
            Reason::ConfusableCharacters => "confusable_characters",
            Reason::LowConfidence => "low_confidence",
            Reason::UnstableRead => "unstable_read",
            Reason::MultipleSerials => "multiple_serials",
            Reason::SerialUnreadable => "serial_unreadable",
            Reason::RegionBlurry => "region_blurry",
            Reason::PhotoBlurry => "photo_blurry",
            Reason::NoSerialField => "no_serial_field",
            Reason::NoText => "no_text",
            Reason::UnreadSerialField => "unread_serial_field",
            Reason::MotionBlur => "motion_blur",
            Reason::TooMuchText => "too_much_text",
            Reason::BarcodeAgrees => "barcode_agrees",
            Reason::BarcodeSettlesLookalikes => "barcode_settles_lookalikes",
            Reason::BarcodeDisagrees => "barcode_disagrees",
            Reason::BarcodeDiffers => "barcode_differs",
            Reason::BarcodeOnly => "barcode_only",
        }
    }
}

/// The range of [`super::sharpness::smear`] (sharpness along a text crop over across it) that sharp
/// print keeps. Measured on testdata: 0.30–6.6 for every legible photo that is not smeared;
/// 0.11–0.14 for text smeared along its lines by motion (the three mild-blur photos whose serial
/// OCR misreads or cannot read), 40–56 for text smeared across them. Outside it, the text is
/// BLURRY whatever OCR made of it.
pub const SMEAR_RANGE: std::ops::RangeInclusive<f64> = 0.2..=15.0;

/// The lower end of [`SMEAR_RANGE`] for crops whose motion streak was undone
/// ([`Evidence::streak_px`]): deconvolution restores the letters before it restores the measure.
pub const DEBLURRED_SMEAR_MIN: f64 = 0.1;

/// Whether `smear` is outside the range sharp print keeps, the lower end relaxed to
/// [`DEBLURRED_SMEAR_MIN`] when the streak was undone.
fn smeared(smear: Option<f64>, deblurred: bool) -> bool {
    let min = if deblurred {
        DEBLURRED_SMEAR_MIN
    } else {
        *SMEAR_RANGE.start()
    };
    smear.is_some_and(|s| s < min || s > *SMEAR_RANGE.end())
}

/// Whether `field`'s serial counts although its region's smear is under [`SMEAR_RANGE`]: the
/// smear is no lower than [`DEBLURRED_SMEAR_MIN`], and a second, independent reading read the
/// very serial the first did. Letter-spaced and monospaced print is sharper across its lines
/// than along them, unmoved: on the tuning split and a fresh draw of the generator (seed
/// 9100009), four photos blurred by defocus alone scored 0.15–0.18 and were BLURRY or
/// INCONCLUSIVE with their serial read exactly; text smeared along its lines by motion scores
/// 0.11–0.14 on testdata, so the measure cannot tell them apart. A smeared read is no evidence
/// alone; two independent readers that read the same serial through the smear are.
fn read_through_smear(field: &FieldRead) -> bool {
    let Some(serial) = field.serial.as_ref() else {
        return false;
    };
    field
        .region_smear
        .is_some_and(|s| (DEBLURRED_SMEAR_MIN..*SMEAR_RANGE.start()).contains(&s))
        && field.others.iter().flatten().any(|other| other == serial)
}

/// Lowest coarse sharpness ([`Evidence::photo_coarse_blur`], squared gray levels at a 160 px
/// long side) of a photo answered NOT_FOUND; below it the photo is BLURRY. Sensor grain can
/// score a photo blurred beyond reading as sharp at 1280 px (up to 2,294 on tuning's
/// blurred-illegible photos). Of tuning's blurred-illegible photos answered NOT_FOUND without
/// it, five score 27–55 at 160 px, one 76 and five (smeared along one direction only) over 150;
/// tuning's no-serial and out-of-frame photos answered NOT_FOUND score 105 and up. The
/// threshold sits between 55 and 105 (their geometric middle is 76, a little under it).
pub const COARSE_BLUR_MIN: f64 = 70.0;

/// Lowest [`Evidence::photo_smear`] of a photo answered NOT_FOUND; below it the photo is BLURRY
/// (smeared by motion along one direction). On tuning, the motion-blurred illegible photos
/// answered NOT_FOUND without it score 0.02–0.25; every no-serial, out-of-frame and occluded
/// photo answered NOT_FOUND scores 0.35 and up. The threshold sits between them, nearer the
/// smeared ones: a sharp photo that MATCHes scored 0.29.
pub const PHOTO_SMEAR_MIN: f64 = 0.28;

/// Whether the photo as a whole is blurred at the coarse scale ([`COARSE_BLUR_MIN`]) or smeared
/// along one direction ([`PHOTO_SMEAR_MIN`]).
fn coarse_blurry(evidence: &Evidence) -> bool {
    evidence
        .photo_coarse_blur
        .is_some_and(|b| b < COARSE_BLUR_MIN)
        || evidence.photo_smear.is_some_and(|s| s < PHOTO_SMEAR_MIN)
}

/// Lowest [`Evidence::photo_peak_blur`] (squared gray levels: the third sharpest 64 px tile of
/// the 1280 px view, scored by its least sharp direction, [`super::blur::peak_sharpness`]) at
/// which a photo under [`Thresholds::photo_blur_min`] is taken for flat rather than blurred:
/// part of it is sharp every way, as print is, so its low mean comes from featureless housing or
/// background (a label mostly out of frame), and the photo goes on to the text's rules. On
/// testdata, the tuning split and three fresh draws of the generator (seeds 9100009, 9100011,
/// 9100017), the 165 photos under the photo floor score: 152 at most where defocus or motion
/// blurred them (a small label smeared 31 px, its QR code still sharp across the motion), 150 at
/// most for mild blur, and 277 and 353 for the two sharp photos whose label is out of frame but
/// for a corner.
/// The threshold sits between 152 and 277 (their geometric middle is 205, a little over it). Two
/// more out-of-frame photos stay BLURRY: one shows no label at all (1), one a strip of label
/// under a tile wide (70). The rule only chooses among BLURRY, NOT_FOUND and INCONCLUSIVE: no
/// serial was read.
pub const PEAK_SHARP_MIN: f64 = 200.0;

/// Whether the photo is blurred as a whole: its mean sharpness is under
/// [`Thresholds::photo_blur_min`] and either no part of it is as sharp as print
/// ([`PEAK_SHARP_MIN`]; a report stored before the peak was measured counts as none) or it is
/// blurred at the coarse scale or smeared along one direction ([`coarse_blurry`]).
fn photo_blurred(evidence: &Evidence, t: &Thresholds) -> bool {
    evidence.photo_blur < t.photo_blur_min
        && (evidence.photo_peak_blur.is_none_or(|p| p < PEAK_SHARP_MIN) || coarse_blurry(evidence))
}

/// Lowest character confidence (0–100) of a second read that can make the second reading sure
/// ([`sure_second_reading`]): a sure second reading of another serial rules out MATCH; an unsure
/// one is no evidence either way.
pub const SECOND_READING_SURE: f32 = 60.0;

/// Thresholds the decision uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Minimum sharpness of the serial region: Laplacian variance of the contrast-stretched
    /// value crop at 32 px text height (squared gray levels).
    pub region_blur_min: f64,
    /// Minimum normalised sharpness of the whole photo when no text is found (squared gray
    /// levels at 1280 px long side).
    pub photo_blur_min: f64,
    /// Minimum confidence (0–100) of every character of the learned reading of a serial that may
    /// MATCH.
    pub min_char_confidence: f32,
}

impl Default for Thresholds {
    /// Calibrated on testdata (`docs/accuracy.md`, "Calibration").
    fn default() -> Self {
        Thresholds {
            region_blur_min: 150.0,
            photo_blur_min: 60.0,
            min_char_confidence: 60.0,
        }
    }
}

/// Highest sharpness threshold accepted ([`Thresholds::region_blur_min`],
/// [`Thresholds::photo_blur_min`]), squared gray levels.
pub const MAX_BLUR_MIN: f64 = 1e6;

/// One of the [`Thresholds`], by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// [`Thresholds::region_blur_min`].
    RegionBlurMin,
    /// [`Thresholds::photo_blur_min`].
    PhotoBlurMin,
    /// [`Thresholds::min_char_confidence`].
    MinCharConfidence,
}

impl Threshold {
    /// Its command-line flag, without the dashes.
    pub fn flag(self) -> &'static str {
        match self {
            Threshold::RegionBlurMin => "region-blur-min",
            Threshold::PhotoBlurMin => "photo-blur-min",
            Threshold::MinCharConfidence => "min-char-confidence",
        }
    }

    /// The largest value accepted: a request's sharpness thresholds stop at [`MAX_BLUR_MIN`];
    /// a re-scoring may set any finite sharpness (1e9 counts every region as blurred).
    fn max(self, only_raise: bool) -> f64 {
        match self {
            Threshold::RegionBlurMin | Threshold::PhotoBlurMin if only_raise => MAX_BLUR_MIN,
            Threshold::RegionBlurMin | Threshold::PhotoBlurMin => f64::MAX,
            Threshold::MinCharConfidence => 100.0,
        }
    }
}

/// New values for some of the [`Thresholds`]; `None` keeps the base value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThresholdOverrides {
    /// New [`Thresholds::region_blur_min`].
    pub region_blur_min: Option<f64>,
    /// New [`Thresholds::photo_blur_min`].
    pub photo_blur_min: Option<f64>,
    /// New [`Thresholds::min_char_confidence`].
    pub min_char_confidence: Option<f32>,
}

/// A threshold value [`Thresholds::overridden`] refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRefused {
    /// Which threshold.
    pub threshold: Threshold,
    /// Why, in words naming the value and the range.
    pub reason: String,
}

impl Thresholds {
    /// These thresholds with `overrides` applied: the one place thresholds are validated, for
    /// `labelcheck rescore`'s flags and a request's options alike. A value must be finite, not
    /// negative, and a confidence at most 100. With `only_raise` (a request), it must also be
    /// no lower than this threshold's own value (a request may tighten the server's thresholds,
    /// never loosen them), and a sharpness at most [`MAX_BLUR_MIN`].
    pub fn overridden(
        self,
        overrides: ThresholdOverrides,
        only_raise: bool,
    ) -> Result<Thresholds, ThresholdRefused> {
        let check = |threshold: Threshold, base: f64, value: f64| {
            let floor = if only_raise { base } else { 0.0 };
            let max = threshold.max(only_raise);
            if value.is_finite() && (floor..=max).contains(&value) {
                return Ok(value);
            }
            let range = if max == f64::MAX {
                format!("is not a finite number of at least {floor}")
            } else {
                format!("is outside {floor}..={max}")
            };
            let why = if only_raise {
                " (a request may only raise it)"
            } else {
                ""
            };
            Err(ThresholdRefused {
                threshold,
                reason: format!("{value} {range}{why}"),
            })
        };
        let mut t = self;
        if let Some(v) = overrides.region_blur_min {
            t.region_blur_min = check(Threshold::RegionBlurMin, self.region_blur_min, v)?;
        }
        if let Some(v) = overrides.photo_blur_min {
            t.photo_blur_min = check(Threshold::PhotoBlurMin, self.photo_blur_min, v)?;
        }
        if let Some(v) = overrides.min_char_confidence {
            let base = f64::from(self.min_char_confidence);
            t.min_char_confidence = check(Threshold::MinCharConfidence, base, f64::from(v))? as f32;
        }
        Ok(t)
    }
}

/// The decision and the field it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Which part matched, for MATCH.
    pub match_kind: Option<MatchKind>,
    /// Index into [`Evidence::fields`] of the field the verdict rests on.
    pub field: Option<usize>,
}

fn decision(verdict: Verdict, reasons: Vec<Reason>, field: Option<usize>) -> Decision {
    Decision {
        verdict,
        reasons,
        match_kind: None,
        field,
    }
}

/// Decides the verdict from the evidence (rules in the module documentation).
pub fn decide(evidence: &Evidence, reported: &FullSerial, t: &Thresholds) -> Decision {
    let text = decide_on_lines_read(evidence, reported, t);
    let mut d = weigh_codes(evidence, reported, text);
    if evidence.lines_unread > 0 && d.verdict != Verdict::Blurry {
        d.verdict = Verdict::Inconclusive;
        d.match_kind = None;
        d.reasons.insert(0, Reason::TooMuchText);
    }
    d
}

/// Reasons of a text decision that a code holding the reported serial may settle: the serial was
/// read, equal to the reported one up to look-alikes, only not surely enough.
const SETTLEABLE: [Reason; 5] = [
    Reason::FullSerialEqual,
    Reason::ShortSerialEqual,
    Reason::ConfusableCharacters,
    Reason::LowConfidence,
    Reason::UnstableRead,
];

/// Reasons that say the serial read equals the reported one: kept only on a MATCH.
const EQUAL: [Reason; 2] = [Reason::FullSerialEqual, Reason::ShortSerialEqual];

/// Reasons of a text decision that say the photo holds another label or serial than the one read.
const OTHER_LABEL: [Reason; 2] = [Reason::MultipleSerials, Reason::UnreadSerialField];

/// The text's decision weighed against the codes on the label (rule 5 of the module
/// documentation).
fn weigh_codes(evidence: &Evidence, reported: &FullSerial, text: Decision) -> Decision {
    let mut serials: Vec<FullSerial> = Vec::new();
    for s in evidence
        .codes
        .iter()
        .filter_map(|c| c.serial_against(reported))
    {
        if !serials.contains(&s) {
            serials.push(s);
        }
    }
    let Some(code) = serials.first() else {
        return text;
    };
    let with = |verdict: Verdict, reason: Reason, match_kind: Option<MatchKind>| {
        // The text's reasons follow, but a verdict other than MATCH never says "equal".
        let mut reasons = vec![reason];
        reasons.extend(
            text.reasons
                .iter()
                .filter(|r| verdict == Verdict::Match || !EQUAL.contains(r)),
        );
        Decision {
            verdict,
            reasons,
            match_kind,
            field: text.field,
        }
    };
    if serials.len() > 1 {
        return with(Verdict::Inconclusive, Reason::BarcodeDisagrees, None);
    }
    let holds_reported = code == reported;
    let field = text.field.and_then(|i| evidence.fields.get(i));
    let read = field.and_then(|f| f.serial.as_ref());
    // A blurred read is no evidence: the printed serial counts as unread.
    let Some(read) = read.filter(|_| text.verdict != Verdict::Blurry) else {
        return if holds_reported && text.verdict == Verdict::NotFound {
            // No serial field printed (or found) at all: the code is noted, the label still
            // shows no serial.
            let mut d = text;
            d.reasons.push(Reason::BarcodeOnly);
            d
        } else if holds_reported {
            with(Verdict::Inconclusive, Reason::BarcodeOnly, None)
        } else if evidence.labels_seen <= 1 {
            with(Verdict::Mismatch, Reason::BarcodeDiffers, None)
        } else {
            with(Verdict::Inconclusive, Reason::BarcodeDiffers, None)
        };
    };
    let within_lookalikes = |s: &LabelSerial| !matches!(compare(s, code), Comparison::Mismatch);
    if !within_lookalikes(read) {
        return with(Verdict::Inconclusive, Reason::BarcodeDisagrees, None);
    }
    let other_label = text.reasons.iter().any(|r| OTHER_LABEL.contains(r));
    if !holds_reported {
        // The label's exact serial is another device's, whatever OCR made of its look-alikes.
        return match text.verdict {
            Verdict::Mismatch => text,
            Verdict::Inconclusive if other_label => text,
            _ => with(Verdict::Mismatch, Reason::BarcodeDiffers, None),
        };
    }
    match text.verdict {
        Verdict::Match => {
            let mut d = text;
            d.reasons.push(Reason::BarcodeAgrees);
            d
        }
        Verdict::Inconclusive if text.reasons.iter().all(|r| SETTLEABLE.contains(r)) => {
            // Every read of the value is the code's serial up to look-alikes, and at least two
            // reads were made of it: a legible printed serial the code settles.
            let reads: Vec<&LabelSerial> = field
                .map(|f| f.others.iter().flatten().collect())
                .unwrap_or_default();
            if reads.is_empty() || !reads.iter().all(|s| within_lookalikes(s)) {
                return text;
            }
            let kind = match read {
                LabelSerial::Full(_) => MatchKind::FullSerial,
                LabelSerial::Short(_) => MatchKind::ShortSerial,
            };
            with(Verdict::Match, Reason::BarcodeSettlesLookalikes, Some(kind))
        }
        _ => text,
    }
}

/// The second reading's serial when it is sure: the same serial read by two second reads (two
/// scales: Tesseract's misreads are often confident but seldom repeat at another scale), each
/// with every character at least [`SECOND_READING_SURE`]; or, where only one second read was
/// made (evidence stored before there were two), that read when it is that confident.
fn sure_second_reading(field: &FieldRead) -> Option<&LabelSerial> {
    // Each parsed read, if its characters are confident enough (confidences not stored count
    // as confident).
    let reads: Vec<Option<&LabelSerial>> = field
        .others
        .iter()
        .enumerate()
        .map(|(i, read)| {
            let confident = field
                .others_min_confidence
                .get(i)
                .is_none_or(|&c| c >= SECOND_READING_SURE);
            read.as_ref().filter(|_| confident)
        })
        .collect();
    if reads.len() == 1 {
        return reads[0];
    }
    reads
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.filter(|s| reads[i + 1..].contains(&Some(*s))))
}

/// [`decide`] on the lines that were read, as if they were all the photo holds: no serial read,
/// a label left unread, two serials, the chosen field blurred, then the chosen field's serial
/// against the reported one.
fn decide_on_lines_read(evidence: &Evidence, reported: &FullSerial, t: &Thresholds) -> Decision {
    // The fields whose first read parsed, with that serial.
    let readable: Vec<(usize, &LabelSerial)> = evidence
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((i, f.serial.as_ref()?)))
        .collect();
    if readable.is_empty() {
        return nothing_read(evidence, t);
    }
    if let Some(d) = another_serial_possible(evidence, &readable) {
        return d;
    }
    // Prefer the full serial if the label shows both forms.
    let (first, base) = readable[0];
    let (chosen, serial) = readable
        .iter()
        .copied()
        .find(|(_, s)| matches!(s, LabelSerial::Full(_)))
        .unwrap_or((first, base));
    let field = &evidence.fields[chosen];
    if field.region_blur < t.region_blur_min {
        return decision(Verdict::Blurry, vec![Reason::RegionBlurry], Some(chosen));
    }
    if smeared(field.region_smear, evidence.streak_px.is_some()) && !read_through_smear(field) {
        return decision(Verdict::Blurry, vec![Reason::MotionBlur], Some(chosen));
    }
    let confident = field.min_confidence >= t.min_char_confidence;
    match compare(serial, reported) {
        Comparison::Match(kind) => equal_serial(field, chosen, kind, confident, reported),
        Comparison::Confusable { .. } => decision(
            Verdict::Inconclusive,
            vec![Reason::ConfusableCharacters],
            Some(chosen),
        ),
        Comparison::PartlyRead => decision(
            Verdict::Inconclusive,
            vec![Reason::SerialUnreadable],
            Some(chosen),
        ),
        Comparison::Mismatch => other_serial(field, chosen, confident, reported),
    }
}

/// No field's reading parsed as a serial: BLURRY when the photo, the text or a field is blurred
/// or smeared; INCONCLUSIVE when a caption or a field was seen; NOT_FOUND otherwise.
fn nothing_read(evidence: &Evidence, t: &Thresholds) -> Decision {
    let first_field = (!evidence.fields.is_empty()).then_some(0);
    if photo_blurred(evidence, t) {
        return decision(Verdict::Blurry, vec![Reason::PhotoBlurry], first_field);
    }
    if evidence.lines == 0 {
        return not_found(evidence, Reason::NoText);
    }
    let text_blurry = evidence.text_blur.is_some_and(|b| b < t.region_blur_min);
    let field_blurry = evidence
        .fields
        .iter()
        .any(|f| f.region_blur < t.region_blur_min);
    if field_blurry || text_blurry {
        return decision(Verdict::Blurry, vec![Reason::RegionBlurry], first_field);
    }
    // Text smeared by motion; or a streak was undone and still no serial read: a retake.
    if evidence.streak_px.is_some()
        || smeared(evidence.text_smear, false)
        || evidence
            .fields
            .iter()
            .any(|f| smeared(f.region_smear, false))
    {
        return decision(Verdict::Blurry, vec![Reason::MotionBlur], first_field);
    }
    if evidence.caption_seen || first_field.is_some() {
        return decision(
            Verdict::Inconclusive,
            vec![Reason::SerialUnreadable],
            first_field,
        );
    }
    not_found(evidence, Reason::NoSerialField)
}

/// NOT_FOUND for `reason`, or BLURRY when the photo is blurred at the coarse scale
/// ([`coarse_blurry`]).
fn not_found(evidence: &Evidence, reason: Reason) -> Decision {
    if coarse_blurry(evidence) {
        decision(Verdict::Blurry, vec![Reason::PhotoBlurry], None)
    } else {
        decision(Verdict::NotFound, vec![reason], None)
    }
}

/// INCONCLUSIVE when the photo may hold a serial other than the one read: a label whose serial
/// was left unread (one may be a different one), or two different serials read (two reads of
/// the same device, full and short or twice, are one serial).
fn another_serial_possible(
    evidence: &Evidence,
    readable: &[(usize, &LabelSerial)],
) -> Option<Decision> {
    if evidence.labels_seen > readable.len() {
        let mut d = decision(
            Verdict::Inconclusive,
            vec![Reason::UnreadSerialField],
            Some(readable[0].0),
        );
        if let Some(i) = evidence.fields.iter().position(|f| f.serial.is_none()) {
            d.field = Some(i);
        }
        return Some(d);
    }
    let (first, base) = readable[0];
    let same_device = |a: &LabelSerial, b: &LabelSerial| match (a, b) {
        (LabelSerial::Full(x), LabelSerial::Full(y)) => x == y,
        _ => a.short() == b.short(),
    };
    readable
        .iter()
        .any(|&(_, other)| !same_device(base, other))
        .then(|| {
            decision(
                Verdict::Inconclusive,
                vec![Reason::MultipleSerials],
                Some(first),
            )
        })
}

/// The serial read equals the reported one: MATCH when every character is confident and the
/// second reading does not contradict it; else INCONCLUSIVE.
fn equal_serial(
    field: &FieldRead,
    chosen: usize,
    kind: MatchKind,
    confident: bool,
    reported: &FullSerial,
) -> Decision {
    let mut reasons = vec![match kind {
        MatchKind::FullSerial => Reason::FullSerialEqual,
        MatchKind::ShortSerial => Reason::ShortSerialEqual,
    }];
    // The second reading contradicts when it is a sure reading ([`sure_second_reading`]) of
    // another serial, beyond look-alikes wherever they stand and beyond a serial read in part
    // ([`differs_beyond_lookalikes`]). An unreadable or unsure one neither confirms nor
    // contradicts.
    let contradicted =
        sure_second_reading(field).is_some_and(|s| differs_beyond_lookalikes(s, reported));
    if !confident {
        reasons.push(Reason::LowConfidence);
    }
    if contradicted {
        reasons.push(Reason::UnstableRead);
    }
    if confident && !contradicted {
        Decision {
            verdict: Verdict::Match,
            reasons,
            match_kind: Some(kind),
            field: Some(chosen),
        }
    } else {
        decision(Verdict::Inconclusive, reasons, Some(chosen))
    }
}

/// Whether `second` reads the serial `first` holds where `first` differs from `reported`: where
/// they differ in the device's own part (date, letters, short serial), the same date, letters and
/// short serial (a model garbled in the second reading does not matter there); where they differ
/// only in the model or suffix, the same full serial up to look-alikes the grammar cannot settle;
/// where either is a short serial only, the same short serial.
fn reads_the_same(second: &LabelSerial, first: &LabelSerial, reported: &FullSerial) -> bool {
    fn own(f: &FullSerial) -> (&str, &str, &str) {
        (&f.date, &f.letters, &f.short)
    }
    let same = |c: Comparison| matches!(c, Comparison::Match(_) | Comparison::Confusable { .. });
    match (second, first) {
        (LabelSerial::Full(s), LabelSerial::Full(f)) if own(f) != own(reported) => own(s) == own(f),
        (_, LabelSerial::Full(full)) => same(compare(second, full)),
        (LabelSerial::Full(full), LabelSerial::Short(_)) => same(compare(first, full)),
        (LabelSerial::Short(a), LabelSerial::Short(b)) => a == b,
    }
}

/// The serial read differs from the reported one. A MISMATCH tells a rightful owner their
/// device is wrong: the other serial must be read surely and corroborated by the second
/// reading, which must read that same serial (up to look-alikes, [`reads_the_same`]) and so
/// differ from the reported serial beyond look-alikes too (a code can corroborate it as well:
/// see [`weigh_codes`]); else INCONCLUSIVE. A second reading that differs from both is a misread
/// of one of them, no corroboration.
fn other_serial(
    field: &FieldRead,
    chosen: usize,
    confident: bool,
    reported: &FullSerial,
) -> Decision {
    let corroborated = field.others.iter().flatten().any(|s| {
        matches!(compare(s, reported), Comparison::Mismatch)
            && field
                .serial
                .as_ref()
                .is_some_and(|first| reads_the_same(s, first, reported))
    });
    if confident && corroborated {
        decision(Verdict::Mismatch, vec![Reason::SerialDiffers], Some(chosen))
    } else {
        let mut reasons = vec![Reason::SerialDiffers];
        reasons.push(if confident {
            Reason::UnstableRead
        } else {
            Reason::LowConfidence
        });
        decision(Verdict::Inconclusive, reasons, Some(chosen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_overrides_are_validated_in_one_place() {
        let base = Thresholds::default();
        let raise = ThresholdOverrides {
            region_blur_min: Some(base.region_blur_min * 2.0),
            min_char_confidence: Some(90.0),
            ..Default::default()
        };
        let lower = ThresholdOverrides {
            region_blur_min: Some(1.0),
            ..Default::default()
        };
        let t = base.overridden(raise, true).expect("raising is allowed");
        assert_eq!(
            (t.region_blur_min, t.min_char_confidence),
            (base.region_blur_min * 2.0, 90.0)
        );
        assert_eq!(t.photo_blur_min, base.photo_blur_min);
        // Lowering: refused to a request, allowed to a re-scoring.
        let refused = base.overridden(lower, true).expect_err("request lowers");
        assert_eq!(refused.threshold, Threshold::RegionBlurMin);
        assert!(refused.reason.contains("only raise"), "{}", refused.reason);
        assert_eq!(
            base.overridden(lower, false)
                .expect("rescore")
                .region_blur_min,
            1.0
        );
        for bad in [
            ThresholdOverrides {
                photo_blur_min: Some(f64::NAN),
                ..Default::default()
            },
            ThresholdOverrides {
                photo_blur_min: Some(-1.0),
                ..Default::default()
            },
            ThresholdOverrides {
                region_blur_min: Some(f64::INFINITY),
                ..Default::default()
            },
            ThresholdOverrides {
                min_char_confidence: Some(100.5),
                ..Default::default()
            },
        ] {
            assert!(base.overridden(bad, false).is_err(), "{bad:?}");
        }
        // A request's sharpness stops at MAX_BLUR_MIN; a re-scoring's does not.
        let huge = ThresholdOverrides {
            region_blur_min: Some(MAX_BLUR_MIN * 2.0),
            ..Default::default()
        };
        assert!(base.overridden(huge, true).is_err());
        assert_eq!(
            base.overridden(huge, false)
                .expect("rescore")
                .region_blur_min,
            MAX_BLUR_MIN * 2.0
        );
    }
    use crate::pipeline::barcode::CodeRead;
    use crate::pipeline::serial::{parse_full, parse_reported};

    #[test]
    fn a_reason_has_one_name_in_text_and_json() {
        for reason in Reason::ALL {
            assert_eq!(
                serde_json::to_value(reason)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.as_str()),
                Some(reason.as_str()),
                "{reason:?}"
            );
        }
    }

    const REPORTED: &str = "DS-2CD2143G2-I20230415AAWRL12345678";
    /// A neighbour of [`REPORTED`] (last digit +1).
    const NEIGHBOUR: &str = "DS-2CD2143G2-I20230415AAWRL12345679";

    fn field(text: &str, second: &str, confidence: f32, blur: f64) -> FieldRead {
        let read = |t: &str| crate::pipeline::serial::find_in_text(t).into_iter().next();
        FieldRead {
            serial: read(text),
            others: vec![read(second)],
            raw: text.into(),
            others_raw: vec![second.into()],
            others_min_confidence: vec![confidence],
            min_confidence: confidence,
            region_blur: blur,
            region_smear: Some(1.0),
            bbox: (0.0, 0.0, 10.0, 10.0),
        }
    }

    fn evidence(fields: Vec<FieldRead>) -> Evidence {
        Evidence {
            fields,
            caption_seen: true,
            labels_seen: 1,
            lines: 10,
            lines_unread: 0,
            text_blur: Some(2000.0),
            text_smear: Some(1.0),
            streak_px: None,
            photo_blur: 500.0,
            photo_coarse_blur: Some(500.0),
            photo_peak_blur: Some(2000.0),
            photo_smear: Some(0.5),
            codes: Vec::new(),
        }
    }

    fn verdict(fields: Vec<FieldRead>) -> Verdict {
        let reported = parse_reported(REPORTED).expect("reported");
        decide(&evidence(fields), &reported, &Thresholds::default()).verdict
    }

    /// The decision over the two readings, as a table: (the learned reading, its lowest
    /// confidence, the second reading, its lowest confidence) → verdict and first reason.
    #[test]
    fn the_two_readings_decide_as_the_table_says() {
        use Reason::*;
        use Verdict::*;
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let table: [(&str, f32, &str, f32, Verdict, Reason); 17] = [
            // Both readers read the reported serial: MATCH.
            (REPORTED, 95.0, REPORTED, 95.0, Match, FullSerialEqual),
            (
                "L12345678",
                95.0,
                "L12345678",
                95.0,
                Match,
                ShortSerialEqual,
            ),
            // The second reading unreadable, unsure, or a look-alike: no contradiction.
            (REPORTED, 95.0, "", 0.0, Match, FullSerialEqual),
            (REPORTED, 95.0, NEIGHBOUR, 40.0, Match, FullSerialEqual),
            (REPORTED, 95.0, LOOKALIKE, 95.0, Match, FullSerialEqual),
            // ...or the value read in part (its model cut short): still none.
            (
                REPORTED,
                95.0,
                "DS-2CD2143G-I20230415AAWRL12345678",
                95.0,
                Match,
                FullSerialEqual,
            ),
            // A sure second reading of another serial: never MATCH.
            (
                REPORTED,
                95.0,
                NEIGHBOUR,
                95.0,
                Inconclusive,
                FullSerialEqual,
            ),
            (
                REPORTED,
                95.0,
                "L12345679",
                95.0,
                Inconclusive,
                FullSerialEqual,
            ),
            // An unsure learned reading: never MATCH.
            (
                REPORTED,
                40.0,
                REPORTED,
                95.0,
                Inconclusive,
                FullSerialEqual,
            ),
            // Another serial, read surely and corroborated by the second reading (that same
            // serial, whole or its short serial): MISMATCH.
            (NEIGHBOUR, 95.0, NEIGHBOUR, 95.0, Mismatch, SerialDiffers),
            (NEIGHBOUR, 95.0, "L12345679", 40.0, Mismatch, SerialDiffers),
            // ...its model garbled by the second reading: the device's own part is what differs.
            (
                NEIGHBOUR,
                95.0,
                "DDS-2CDU2143G2-I20230415AAWRL12345679",
                95.0,
                Mismatch,
                SerialDiffers,
            ),
            // Not corroborated (the second reading unreadable, the reported serial, or a third
            // serial: a misread of one of the two), or unsure: INCONCLUSIVE.
            (
                NEIGHBOUR,
                95.0,
                "L12345670",
                95.0,
                Inconclusive,
                SerialDiffers,
            ),
            // Another model read, and a third model in the second reading: INCONCLUSIVE.
            (
                "DS-2CD2143G3-I20230415AAWRL12345678",
                95.0,
                "DS-2CD2143G5-I20230415AAWRL12345678",
                95.0,
                Inconclusive,
                SerialDiffers,
            ),
            (NEIGHBOUR, 95.0, "", 0.0, Inconclusive, SerialDiffers),
            (NEIGHBOUR, 95.0, REPORTED, 95.0, Inconclusive, SerialDiffers),
            (
                NEIGHBOUR,
                40.0,
                NEIGHBOUR,
                95.0,
                Inconclusive,
                SerialDiffers,
            ),
        ];
        for (i, (first, conf, second, second_conf, want, reason)) in table.into_iter().enumerate() {
            let mut f = field(first, second, conf, 2000.0);
            f.others_min_confidence = vec![second_conf];
            let d = decide(&evidence(vec![f]), &reported, &t);
            assert_eq!(
                (d.verdict, d.reasons.first().copied()),
                (want, Some(reason)),
                "row {i}: {first} / {second}: {:?}",
                d.reasons
            );
        }
    }

    /// With two second reads (two scales), only the same other serial read by both contradicts
    /// the learned reading; one confident misread of Tesseract does not.
    #[test]
    fn a_sure_second_reading_is_the_same_serial_at_two_scales() {
        let reported = parse_reported(REPORTED).expect("reported");
        let find = |t: &str| crate::pipeline::serial::find_in_text(t).into_iter().next();
        let decided = |seconds: [(&str, f32); 2]| {
            let mut f = field(REPORTED, "", 95.0, 2000.0);
            f.others = seconds.iter().map(|(t, _)| find(t)).collect();
            f.others_raw = seconds.iter().map(|(t, _)| t.to_string()).collect();
            f.others_min_confidence = seconds.iter().map(|(_, c)| *c).collect();
            decide(&evidence(vec![f]), &reported, &Thresholds::default()).verdict
        };
        use Verdict::*;
        assert_eq!(
            decided([(NEIGHBOUR, 95.0), (NEIGHBOUR, 90.0)]),
            Inconclusive
        );
        // The same other serial twice, once unsure: no sure reading, no contradiction.
        assert_eq!(decided([(NEIGHBOUR, 95.0), (NEIGHBOUR, 40.0)]), Match);
        assert_eq!(
            decided([(NEIGHBOUR, 60.0), (NEIGHBOUR, 60.0)]),
            Inconclusive
        );
        assert_eq!(decided([(NEIGHBOUR, 95.0), ("", 0.0)]), Match);
        assert_eq!(decided([(NEIGHBOUR, 95.0), (REPORTED, 95.0)]), Match);
        assert_eq!(decided([(NEIGHBOUR, 95.0), ("L12345670", 95.0)]), Match);
        assert_eq!(decided([(REPORTED, 95.0), (REPORTED, 95.0)]), Match);
    }

    /// A sure second reading that differs from the learned one only by look-alikes contradicts
    /// nothing, wherever they stand (`0IWR` or `OIWR` for `DIWR`); one
    /// that differs in a digit does.
    #[test]
    fn a_second_reading_differing_only_by_lookalikes_contradicts_nothing() {
        const BLOCK: &str = "DS-2CD2027G2-LU20220127DIWR382676451";
        let reported = parse_reported(BLOCK).expect("reported");
        let find = |t: &str| crate::pipeline::serial::find_in_text(t).into_iter().next();
        let decided = |second: &str| {
            let mut f = field(BLOCK, "", 95.0, 2000.0);
            f.others = vec![find(second), find(second)];
            f.others_raw = vec![second.to_string(), second.to_string()];
            f.others_min_confidence = vec![95.0, 95.0];
            decide(&evidence(vec![f]), &reported, &Thresholds::default()).verdict
        };
        use Verdict::*;
        assert_eq!(decided("DS-2CD2027G2-LU202201270IWR382676451"), Match);
        assert_eq!(decided("DS-2CD2027G2-LU20220127OIWR382676451"), Match);
        assert_eq!(decided("DS-2CD2027G2-LU20220127DLWR382676451"), Match);
        // Another digit, another device: a contradiction, whatever else is a look-alike.
        assert_eq!(
            decided("DS-2CD2027G2-LU20220127DIWR382676452"),
            Inconclusive
        );
        assert_eq!(
            decided("DS-2CD2027G2-LU202201270IWR382676459"),
            Inconclusive
        );
        assert_eq!(
            decided("DS-2CD2027G2-LU20220128DIWR382676451"),
            Inconclusive
        );
        // Another letter beyond look-alikes.
        assert_eq!(
            decided("DS-2CD2027G2-LU20220127DIMR382676451"),
            Inconclusive
        );
    }

    /// The read failures seen on unseen label photos, each as OCR text: never MATCH, and never
    /// MISMATCH where the text is the reported serial read in part or with look-alikes.
    #[test]
    fn read_failures_are_inconclusive_never_match_nor_mismatch() {
        const RECORDER: &str = "DS-7608NI-K2/8P0820200101CCRRD12345678WCVU";
        let decide_on = |reported: &str, read: &str| {
            let reported = parse_reported(reported).expect("reported");
            let f = field(read, read, 95.0, 2000.0);
            decide(&evidence(vec![f]), &reported, &Thresholds::default())
        };
        let cases = [
            // `-I2023` read `-12023` at the model/date seam.
            (REPORTED, "DS-2CD2143G2-120230415AAWRL12345678"),
            // The short serial's first letter read as its look-alike digit.
            (REPORTED, "DS-2CD2143G2-I20230415AAWR112345678"),
            (
                "DS-2CD2143G2-I20230415AAWRZ12345678",
                "DS-2CD2143G2-I20230415AAWR212345678",
            ),
            // `-IS` read `-1S` in the model.
            (
                "DS-2CD2043G2-IS20230415AAWRL12345678",
                "DS-2CD2043G2-1S20230415AAWRL12345678",
            ),
            // A value cut off before its model: the rest is the reported serial.
            (RECORDER, "NXI-K2/8P0820200101CCRRD12345678WCVU"),
            (RECORDER, "NI-K2/8P0820200101CCRRD12345678WCVU"),
            // The suffix lost, or another field's letters glued on as one.
            (RECORDER, "DS-7608NI-K2/8P0820200101CCRRD12345678"),
            (REPORTED, "DS-2CD2143G2-I20230415AAWRL12345678WR"),
        ];
        for (reported, read) in cases {
            let d = decide_on(reported, read);
            assert_eq!(
                d.verdict,
                Verdict::Inconclusive,
                "{read} for {reported}: {d:?}"
            );
        }
        // The same cut-off value with a neighbour's short serial is still a MISMATCH.
        let d = decide_on(RECORDER, "NXI-K2/8P0820200101CCRRD12345679WCVU");
        assert_eq!(d.verdict, Verdict::Mismatch, "{d:?}");
        // The verification code's caption glued to the digits ends the value: the serial before
        // it is whole.
        let d = decide_on(REPORTED, "DS-2CD2143G2-I20230415AAWRL12345678VC");
        assert_eq!(d.verdict, Verdict::Match, "{d:?}");
    }

    #[test]
    fn a_verification_code_after_the_serial_is_not_glued_to_it() {
        for read in [
            "DS-2CD2143G2-I20230415AAWRL12345678 VC: KETPWX",
            "DS-2CD2143G2-I20230415AAWRL12345678 KETPWX",
            "DS-2CD2143G2-I20230415AAWRL12345678 VC KETPWX",
        ] {
            assert_eq!(
                verdict(vec![field(read, read, 95.0, 2000.0)]),
                Verdict::Match,
                "{read}"
            );
            let neighbour = read.replace("12345678 ", "12345679 ");
            assert_eq!(
                verdict(vec![field(&neighbour, &neighbour, 95.0, 2000.0)]),
                Verdict::Mismatch,
                "{neighbour}"
            );
        }
    }

    #[test]
    fn neighbour_is_mismatch_blur_wins_and_two_serials_are_inconclusive() {
        assert_eq!(
            verdict(vec![field(NEIGHBOUR, NEIGHBOUR, 95.0, 2000.0)]),
            Verdict::Mismatch
        );
        assert_eq!(
            verdict(vec![field(NEIGHBOUR, NEIGHBOUR, 95.0, 100.0)]),
            Verdict::Blurry
        );
        assert_eq!(
            verdict(vec![field(NEIGHBOUR, NEIGHBOUR, 30.0, 2000.0)]),
            Verdict::Inconclusive
        );
        let two = vec![
            field(REPORTED, REPORTED, 95.0, 2000.0),
            field(NEIGHBOUR, NEIGHBOUR, 95.0, 2000.0),
        ];
        assert_eq!(verdict(two), Verdict::Inconclusive);
        // Two labels in the photo but one serial read: the other may differ.
        let reported = parse_reported(REPORTED).expect("reported");
        let mut e = evidence(vec![field(REPORTED, REPORTED, 95.0, 2000.0)]);
        e.labels_seen = 2;
        assert_eq!(
            decide(&e, &reported, &Thresholds::default()).verdict,
            Verdict::Inconclusive
        );
        // The same device shown as full and short serial is one serial.
        let same = vec![
            field(REPORTED, REPORTED, 95.0, 2000.0),
            field("L12345678", "L12345678", 95.0, 2000.0),
        ];
        assert_eq!(verdict(same), Verdict::Match);
    }

    #[test]
    fn motion_smear_is_blurry_whatever_was_read() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        // Nothing read on text smeared along its lines: BLURRY, not NOT_FOUND.
        let mut e = evidence(vec![]);
        e.caption_seen = false;
        e.text_smear = Some(0.12);
        let d = decide(&e, &reported, &t);
        assert_eq!(
            (d.verdict, d.reasons),
            (Verdict::Blurry, vec![Reason::MotionBlur])
        );
        e.text_smear = Some(40.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.text_smear = Some(1.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        // A confident read of a different serial from a smeared region is no MISMATCH, and an
        // equal one no MATCH, when the second reading does not read it too, or reads another.
        for text in [NEIGHBOUR, REPORTED] {
            for second in ["", "S/N: ???", "L12345670"] {
                let d = decide_smeared(text, second, 0.1, None);
                assert_eq!(
                    (d.verdict, d.reasons),
                    (Verdict::Blurry, vec![Reason::MotionBlur])
                );
            }
        }
    }

    #[test]
    fn a_mildly_smeared_read_counts_when_the_second_reading_reads_the_same_serial() {
        let decided = |text: &str, second: &str, smear: f64| {
            decide_smeared(text, second, smear, None).verdict
        };
        // Between the deblurred floor and the sharp one, two readers that agree are evidence.
        assert_eq!(decided(REPORTED, REPORTED, 0.15), Verdict::Match);
        assert_eq!(decided(NEIGHBOUR, NEIGHBOUR, 0.15), Verdict::Mismatch);
        // The second reading unread, or reading the serial otherwise: still BLURRY.
        assert_eq!(decided(REPORTED, "", 0.15), Verdict::Blurry);
        assert_eq!(decided(REPORTED, NEIGHBOUR, 0.15), Verdict::Blurry);
        assert_eq!(decided(REPORTED, "L12345678", 0.15), Verdict::Blurry);
        // Below the deblurred floor, or smeared across the lines: BLURRY, agreeing or not.
        assert_eq!(decided(REPORTED, REPORTED, 0.05), Verdict::Blurry);
        assert_eq!(decided(REPORTED, REPORTED, 40.0), Verdict::Blurry);
    }

    /// The decision on one confident read of `text`, the second reading `second`, whose value
    /// crop has `smear`, with the motion `streak` undone or not.
    fn decide_smeared(text: &str, second: &str, smear: f64, streak: Option<f32>) -> Decision {
        let reported = parse_reported(REPORTED).expect("reported");
        let mut f = field(text, second, 95.0, 2000.0);
        f.region_smear = Some(smear);
        let mut e = evidence(vec![f]);
        e.streak_px = streak;
        decide(&e, &reported, &Thresholds::default())
    }

    #[test]
    fn a_streak_undone_relaxes_the_smear_floor_but_never_the_comparison() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let decided = |text: &str, smear: f64, streak: Option<f32>| {
            decide_smeared(text, text, smear, streak).verdict
        };
        // Deblurred crops keep a lower smear than sharp print: between the floors they count,
        // without a streak only where the second reading reads the same serial (above).
        assert_eq!(decided(REPORTED, 0.15, Some(7.0)), Verdict::Match);
        assert_eq!(decided(NEIGHBOUR, 0.15, Some(7.0)), Verdict::Mismatch);
        assert_eq!(
            decide_smeared(REPORTED, "", 0.15, Some(7.0)).verdict,
            Verdict::Match
        );
        assert_eq!(
            decide_smeared(REPORTED, "", 0.15, None).verdict,
            Verdict::Blurry
        );
        // Below the relaxed floor it is still a retake.
        assert_eq!(decided(REPORTED, 0.05, Some(7.0)), Verdict::Blurry);
        assert_eq!(decided(NEIGHBOUR, 0.05, Some(7.0)), Verdict::Blurry);
        // Nothing read even with the streak undone: BLURRY, whatever the measure says now.
        let mut e = evidence(vec![field("S/N: ???", "", 90.0, 2000.0)]);
        e.streak_px = Some(7.0);
        let d = decide(&e, &reported, &t);
        assert_eq!(
            (d.verdict, d.reasons),
            (Verdict::Blurry, vec![Reason::MotionBlur])
        );
    }

    #[test]
    fn nothing_read() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let mut e = evidence(vec![]);
        e.caption_seen = false;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        e.text_blur = Some(10.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.lines = 0;
        e.photo_blur = 5.0;
        e.photo_peak_blur = Some(50.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        // A sharp photo of mostly flat housing: low on the mean, sharp where the label is.
        e.photo_peak_blur = Some(2000.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        // ... unless it is smeared along one direction or blurred at the coarse scale.
        e.photo_smear = Some(0.1);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.photo_smear = Some(0.5);
        e.photo_coarse_blur = Some(30.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.photo_coarse_blur = Some(500.0);
        // A report stored before the peak was measured decides as before.
        e.photo_peak_blur = None;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.photo_blur = 500.0;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        e.photo_peak_blur = Some(50.0);
        // Noise can form "lines" on a blurred photo: the photo's own score still decides.
        e.lines = 7;
        e.text_blur = Some(1000.0);
        e.photo_blur = 20.0;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        // Grain can score a blurred photo sharp at 1280 px; the coarse score still sees the blur,
        // with lines found or none.
        e.photo_blur = 500.0;
        e.photo_coarse_blur = Some(30.0);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.lines = 0;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        // A report stored before the coarse score was measured decides as before.
        e.photo_coarse_blur = None;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        e.photo_coarse_blur = Some(500.0);
        // Smeared along one direction by motion: BLURRY too.
        e.photo_smear = Some(0.1);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Blurry);
        e.photo_smear = Some(0.5);
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::NotFound);
        let mut e = evidence(vec![field("S/N: ???", "", 90.0, 2000.0)]);
        e.caption_seen = true;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Inconclusive);
        let _ = parse_full(REPORTED, true);
    }

    #[test]
    fn lines_left_unread_rule_out_match_mismatch_and_not_found() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let unread = |mut e: Evidence| {
            e.lines_unread = 5;
            let d = decide(&e, &reported, &t);
            (d.verdict, d.reasons.first().copied(), d.match_kind)
        };
        let too_much = (Verdict::Inconclusive, Some(Reason::TooMuchText), None);
        assert_eq!(
            unread(evidence(vec![field(REPORTED, REPORTED, 95.0, 2000.0)])),
            too_much
        );
        assert_eq!(
            unread(evidence(vec![field(NEIGHBOUR, NEIGHBOUR, 95.0, 2000.0)])),
            too_much
        );
        let mut nothing = evidence(vec![]);
        nothing.caption_seen = false;
        assert_eq!(unread(nothing.clone()), too_much);
        // Blur still wins: a retake is the answer either way.
        nothing.text_blur = Some(10.0);
        assert_eq!(unread(nothing).0, Verdict::Blurry);
    }

    /// A QR code holding `serial`.
    fn qr(serial: &str) -> CodeRead {
        CodeRead {
            symbology: crate::pipeline::barcode::Symbology::Qr,
            bbox: (0.0, 0.0, 10.0, 10.0),
            serial: Some(serial.into()),
        }
    }

    /// The reported serial with one model look-alike (`-I` read `-1`), which the grammar cannot
    /// settle.
    const LOOKALIKE: &str = "DS-2CD2143G2-120230415AAWRL12345678";
    /// Another device altogether.
    const OTHER: &str = "DS-7608NI-K2/8P0820200101CCRRD12345678WCVU";

    #[test]
    fn codes_weigh_on_the_text_as_the_table_says() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let sharp = |first: &str, second: &str| field(first, second, 95.0, 2000.0);
        let unsure = |first: &str, second: &str| field(first, second, 30.0, 2000.0);
        let blurred = |first: &str| field(first, first, 95.0, 50.0);
        let unread = || field("S/N: ???", "", 90.0, 2000.0);
        use Reason::*;
        use Verdict::*;
        // (fields, codes, verdict, first reason)
        let table: Vec<(Vec<FieldRead>, Vec<&str>, Verdict, Reason)> = vec![
            // Text and code both the reported serial.
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![REPORTED],
                Match,
                FullSerialEqual,
            ),
            (
                vec![sharp("L12345678", "L12345678")],
                vec![REPORTED],
                Match,
                ShortSerialEqual,
            ),
            // Look-alikes the grammar cannot settle, settled by the code.
            (
                vec![sharp(LOOKALIKE, LOOKALIKE)],
                vec![REPORTED],
                Match,
                BarcodeSettlesLookalikes,
            ),
            (
                vec![sharp(LOOKALIKE, REPORTED)],
                vec![REPORTED],
                Match,
                BarcodeSettlesLookalikes,
            ),
            (
                vec![unsure(REPORTED, REPORTED)],
                vec![REPORTED],
                Match,
                BarcodeSettlesLookalikes,
            ),
            // ...but only a value read twice, every read the code's serial up to look-alikes.
            (
                vec![sharp(LOOKALIKE, "")],
                vec![REPORTED],
                Inconclusive,
                ConfusableCharacters,
            ),
            (
                vec![sharp(REPORTED, NEIGHBOUR)],
                vec![REPORTED],
                Inconclusive,
                FullSerialEqual,
            ),
            // Text beyond look-alikes from the code: tampered or relabelled.
            (
                vec![sharp(NEIGHBOUR, NEIGHBOUR)],
                vec![REPORTED],
                Inconclusive,
                BarcodeDisagrees,
            ),
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![NEIGHBOUR],
                Inconclusive,
                BarcodeDisagrees,
            ),
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![OTHER],
                Inconclusive,
                BarcodeDisagrees,
            ),
            // Two codes that disagree.
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![REPORTED, NEIGHBOUR],
                Inconclusive,
                BarcodeDisagrees,
            ),
            // A code alone: never MATCH.
            (vec![unread()], vec![REPORTED], Inconclusive, BarcodeOnly),
            (
                vec![blurred(REPORTED)],
                vec![REPORTED],
                Inconclusive,
                BarcodeOnly,
            ),
            (vec![], vec![REPORTED], Inconclusive, BarcodeOnly),
            // A code alone of another serial: MISMATCH.
            (vec![unread()], vec![NEIGHBOUR], Mismatch, BarcodeDiffers),
            (
                vec![blurred(REPORTED)],
                vec![NEIGHBOUR],
                Mismatch,
                BarcodeDiffers,
            ),
            // The text read the reported serial up to look-alikes; the exact code says otherwise.
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![LOOKALIKE_CODE],
                Mismatch,
                BarcodeDiffers,
            ),
            // The text's own MISMATCH stays one.
            (
                vec![sharp(NEIGHBOUR, NEIGHBOUR)],
                vec![NEIGHBOUR],
                Mismatch,
                SerialDiffers,
            ),
            // No code with a serial: the text decides as before.
            (
                vec![sharp(REPORTED, REPORTED)],
                vec![],
                Match,
                FullSerialEqual,
            ),
            (
                vec![sharp(LOOKALIKE, LOOKALIKE)],
                vec![],
                Inconclusive,
                ConfusableCharacters,
            ),
        ];
        for (i, (fields, codes, want, first)) in table.into_iter().enumerate() {
            let mut e = evidence(fields);
            e.codes = codes.iter().map(|c| qr(c)).collect();
            let d = decide(&e, &reported, &t);
            assert_eq!(
                (d.verdict, d.reasons.first().copied()),
                (want, Some(first)),
                "row {i}: {:?}",
                d.reasons
            );
            if want == Match && !e.codes.is_empty() {
                assert!(
                    d.reasons.contains(&BarcodeAgrees)
                        || d.reasons.contains(&BarcodeSettlesLookalikes),
                    "row {i}"
                );
            }
        }
    }

    /// A code holding the reported serial with its model look-alike swapped the other way
    /// (`-1` in the code where the device reports `-I`): exact, so another serial.
    const LOOKALIKE_CODE: &str = LOOKALIKE;

    #[test]
    fn a_code_never_lifts_a_mismatch_and_unread_lines_still_rule_out_match() {
        let reported = parse_reported(REPORTED).expect("reported");
        let t = Thresholds::default();
        let mut e = evidence(vec![field(NEIGHBOUR, NEIGHBOUR, 95.0, 2000.0)]);
        e.codes = vec![qr(REPORTED)];
        assert_ne!(decide(&e, &reported, &t).verdict, Verdict::Match);
        let mut e = evidence(vec![field(REPORTED, REPORTED, 95.0, 2000.0)]);
        e.codes = vec![qr(REPORTED)];
        e.lines_unread = 3;
        let d = decide(&e, &reported, &t);
        assert_eq!(
            (d.verdict, d.reasons[0]),
            (Verdict::Inconclusive, Reason::TooMuchText)
        );
        // Two labels, one read: a code of the read one settles nothing about the other.
        let mut e = evidence(vec![field(LOOKALIKE, LOOKALIKE, 95.0, 2000.0)]);
        e.codes = vec![qr(REPORTED)];
        e.labels_seen = 2;
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Inconclusive);
        // No serial field or caption on the label at all: still NOT_FOUND, the code noted.
        let mut e = evidence(vec![]);
        e.caption_seen = false;
        e.codes = vec![qr(REPORTED)];
        let d = decide(&e, &reported, &t);
        assert_eq!(
            (d.verdict, d.reasons),
            (
                Verdict::NotFound,
                vec![Reason::NoSerialField, Reason::BarcodeOnly]
            )
        );
        // ...and a code of another device there is a MISMATCH.
        e.codes = vec![qr(NEIGHBOUR)];
        assert_eq!(decide(&e, &reported, &t).verdict, Verdict::Mismatch);
        // A code that holds no serial weighs nothing.
        let mut e = evidence(vec![field(LOOKALIKE, LOOKALIKE, 95.0, 2000.0)]);
        e.codes = vec![CodeRead {
            serial: None,
            ..qr(REPORTED)
        }];
        assert_eq!(
            decide(&e, &reported, &t).reasons,
            vec![Reason::ConfusableCharacters]
        );
    }
}
