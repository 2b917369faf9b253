//! Hikvision-style serial numbers for the test photos.
//!
//! Full serial = model (+ 2-digit channel count on recorders) + production date YYYYMMDD + 4 letters
//! + 9-character short serial (a letter or digit, then 8 digits) (+ feature suffix on recorders).

use rand::Rng;
use rand::seq::IndexedRandom;

/// A device and its serial.
#[derive(Debug, Clone)]
pub struct Device {
    pub model: String,
    pub product_line: &'static str,
    pub full: String,
    pub short: String,
}

const CAMERAS: &[&str] = &[
    "DS-2CD2143G2-I",
    "DS-2CD2043G2-IU",
    "DS-2CD2387G2-LU",
    "DS-2CD2T47G2-L",
    "DS-2CD1023G0E-I",
    "DS-2DE4425IW-DE",
    "DS-2CD2347G2-LU",
    "DS-2CD2563G2-IS",
];
const CAMERA_LINES: &[&str] = &[
    "Network Camera",
    "IP Camera",
    "Network Dome Camera",
    "Network Bullet Camera",
];
/// (model, channels, suffixes)
const RECORDERS: &[(&str, &str, &[&str])] = &[
    ("DS-7608NI-K2/8P", "08", &["WCVU", "WCVE", ""]),
    ("DS-7616NI-K2", "16", &["WCVU", ""]),
    ("DS-7604NI-K1/4P", "04", &["WCVU", "BAWR"]),
    ("DS-7732NI-I4/16P", "32", &["WCVU", "WCVE"]),
    ("DS-7204HQHI-K1", "04", &["WCVU", ""]),
];
const RECORDER_LINES: &[&str] = &["Network Video Recorder", "Digital Video Recorder", "NVR"];
const LETTERS4: &[&str] = &["AAWR", "CCRR", "CCWR", "AACH", "BBWR", "CCCH", "AAWRJ"];

fn letters<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
        .collect()
}

fn digits<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A fresh 9-character short serial: a letter or digit, then 8 digits.
pub fn short_serial<R: Rng>(rng: &mut R) -> String {
    let first = if rng.random_bool(0.75) {
        // Real short serials favour letters other than the confusable O/I.
        *b"ABCDEFGHJKLMNPQRSTUVWXYZ".choose(rng).unwrap_or(&b'L') as char
    } else {
        char::from(b'0' + rng.random_range(1..10u8))
    };
    format!("{first}{}", digits(rng, 8))
}

fn date<R: Rng>(rng: &mut R) -> String {
    let year = rng.random_range(2018..=2025);
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    format!("{year:04}{month:02}{day:02}")
}

/// A random camera or recorder with a serial.
pub fn device<R: Rng>(rng: &mut R) -> Device {
    let short = short_serial(rng);
    with_short(rng, &short)
}

/// A random device whose short serial is `short`.
pub fn with_short<R: Rng>(rng: &mut R, short: &str) -> Device {
    from_lists(rng, short, CAMERAS, RECORDERS, LETTERS4)
}

/// Models beyond testdata's, for the wider sets: other lines, `IDS-` families, slashes and more
/// look-alike characters in the model.
const WIDE_CAMERAS: &[&str] = &[
    "DS-2CD2146G2-ISU",
    "DS-2CD1043G2-LIUF",
    "DS-2CD2T86G2-ISU/SL",
    "DS-2CD3056G2-IS",
    "IDS-2CD7A46G0-IZHS",
    "DS-2DE2A404IW-DE3",
    "DS-2CD2H43G2-IZS",
    "DS-2CD2027G2-LU",
    "DS-2CD2183G2-IU",
    "DS-2CV2Q21G1-IDW",
];
const WIDE_RECORDERS: &[(&str, &str, &[&str])] = &[
    ("DS-7732NXI-K4", "32", &["WCVU", "BAWR", ""]),
    ("DS-7104NI-Q1/M", "04", &["", "WCVU"]),
    ("DS-9632NI-M8", "32", &["WCVU", ""]),
    ("IDS-7208HUHI-M2/S", "08", &["WCVU", "BAWR"]),
    ("DS-7616NXI-I2/16S", "16", &["WCVE", ""]),
];
const WIDE_LETTERS4: &[&str] = &[
    "AAWR", "CCRR", "ABWR", "CCDR", "AGWR", "DIWR", "BBQR", "CCTH",
];

/// A random device from testdata's models or the wider lists (half each), for the wider sets.
pub fn wide_device<R: Rng>(rng: &mut R) -> Device {
    let short = short_serial(rng);
    if rng.random_bool(0.5) {
        from_lists(rng, &short, CAMERAS, RECORDERS, LETTERS4)
    } else {
        from_lists(rng, &short, WIDE_CAMERAS, WIDE_RECORDERS, WIDE_LETTERS4)
    }
}

/// A device with `short`, its model drawn from `cameras` (65%) or `recorders` (35%).
fn from_lists<R: Rng>(
    rng: &mut R,
    short: &str,
    cameras: &[&str],
    recorders: &[(&'static str, &'static str, &[&'static str])],
    letter_blocks: &[&str],
) -> Device {
    let letters4 = letter_blocks
        .choose(rng)
        .map(|s| &s[..4])
        .unwrap_or("AAWR")
        .to_string();
    if rng.random_bool(0.35) {
        let (model, channels, suffixes) = recorders.choose(rng).copied().unwrap_or(RECORDERS[0]);
        let suffix = suffixes.choose(rng).copied().unwrap_or("");
        Device {
            model: model.to_string(),
            product_line: RECORDER_LINES.choose(rng).copied().unwrap_or("NVR"),
            full: format!("{model}{channels}{}{letters4}{short}{suffix}", date(rng)),
            short: short.to_string(),
        }
    } else {
        let model = cameras.choose(rng).copied().unwrap_or(CAMERAS[0]);
        Device {
            model: model.to_string(),
            product_line: CAMERA_LINES
                .choose(rng)
                .copied()
                .unwrap_or("Network Camera"),
            full: format!("{model}{}{letters4}{short}", date(rng)),
            short: short.to_string(),
        }
    }
}

/// The same device with its short serial's last digit moved by ±1 (its neighbour on the line).
pub fn neighbour(device: &Device, up: bool) -> Device {
    let mut short: Vec<u8> = device.short.clone().into_bytes();
    let last = short.len() - 1;
    let d = short[last] - b'0';
    short[last] = b'0' + if up { (d + 1) % 10 } else { (d + 9) % 10 };
    replace_short(device, &String::from_utf8_lossy(&short))
}

/// The same device with two adjacent, different digits of the short serial swapped.
pub fn transposed<R: Rng>(device: &Device, rng: &mut R) -> Device {
    let mut short: Vec<u8> = device.short.clone().into_bytes();
    let candidates: Vec<usize> = (1..short.len() - 1)
        .filter(|&i| short[i] != short[i + 1])
        .collect();
    let i = candidates.choose(rng).copied().unwrap_or(1);
    if short[i] == short[i + 1] {
        short[i + 1] = b'0' + (short[i + 1] - b'0' + 3) % 10;
    } else {
        short.swap(i, i + 1);
    }
    replace_short(device, &String::from_utf8_lossy(&short))
}

fn replace_short(device: &Device, short: &str) -> Device {
    Device {
        full: device.full.replacen(&device.short, short, 1),
        short: short.to_string(),
        ..device.clone()
    }
}

/// A six-letter verification code (a secret printed on the label; never the serial).
pub fn verification_code<R: Rng>(rng: &mut R) -> String {
    letters(rng, 6)
}

/// A MAC address in Hikvision's OUI, printed on some labels.
pub fn mac<R: Rng>(rng: &mut R) -> String {
    let tail: Vec<String> = (0..3)
        .map(|_| format!("{:02X}", rng.random_range(0..=255u8)))
        .collect();
    format!("44:19:B6:{}", tail.join(":"))
}
