//! The words of a device label, as OCR reads them (upper case): the serial's captions, the
//! other fields' words, and the words that show the text is the right way up. Every stage that
//! looks for a word of the label takes it from here.

/// Serial-field captions, spaces removed (`Serial Number`, `Serial No.`, `SerialNo`, `S/N`,
/// `SN`).
pub const SERIAL_CAPTIONS: &[&str] = &["SERIALNUMBER", "SERIALNO.", "SERIALNO", "S/N", "SN"];

/// The serial captions printed tight against their value (`S/N: L12345678`): a crop cut after
/// one may keep its end (`N`), read as the value's first letters.
pub const TIGHT_SERIAL_CAPTIONS: &[&str] = &["S/N", "SN"];

/// `S/N` as OCR reads it when the slash is blurred or thin: the slash taken for `I`, `J`, `L`, `1`
/// or `|`. Like `SN`, these count as a caption only standing alone or before punctuation.
pub const SERIAL_CAPTION_SLASH_MISREADS: &[&str] = &["SIN", "SJN", "SLN", "S1N", "S|N"];

/// Captions of the label's verification code (`VC` also as `V/C` and `V.C`). The code is a
/// secret: the text is cut where one starts ([`super::serial::before_verification_code`]).
pub const VERIFICATION_CAPTIONS: &[&str] = &["VERIFICATION", "VERIFY", "V/C", "V.C", "VC"];

/// The word of the model's line (`Model: DS-2CD2143G2-I`); one per label.
pub const MODEL_WORD: &str = "MODEL";

/// The word of the verification code's line; one per label.
pub const VERIFICATION_WORD: &str = "VERIFICATION";

/// Words of fields other than the serial (model, verification code, MAC, power, origin): a line
/// holding one never holds the serial value.
pub const OTHER_FIELD_WORDS: &[&str] = &[
    MODEL_WORD,
    VERIFICATION_WORD,
    "CODE",
    "MAC",
    "POWER",
    "MADE",
];

/// Words printed on device labels; reading some of them shows the text is the right way up.
pub const LABEL_WORDS: &[&str] = &[
    MODEL_WORD,
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
    VERIFICATION_WORD,
];
