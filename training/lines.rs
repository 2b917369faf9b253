//! Makes the OCR model's training lines: line crops cut by labelcheck's own locator and crop code
//! and padded as its engine pads them, each with its ground-truth text, as Tesseract's training
//! tools want them (`NAME.png`, `NAME.gt.txt` and a one-line `NAME.box` in WordStr form).
//!
//! ```text
//! cargo run --release --example training_lines -- --photos DIR --synthetic N --seed S --out OUT
//! ```
//! - `--photos DIR`: a generated label set made with `--lines` (`DIR/manifest.csv` and
//!   `DIR/lines.jsonl`). Every line the locator finds on a legible photo is matched to the text the
//!   generator drew there; a line that holds exactly whole pieces of text is kept, cut upright at
//!   the zooms the pipeline reads at, labelled with those texts. A serial value after its caption
//!   is also kept as the pipeline cuts it (from midway between the caption and the value).
//! - `--synthetic N`: N more lines drawn here from the serial grammar, with look-alike characters
//!   substituted at random positions (so a model learns glyphs, not the grammar's habits), every
//!   caption spelling and the other fields printed on labels; each drawn in a random installed
//!   font, degraded (blur, noise, JPEG), found by the locator and cut like a photo's line.
//!
//! - `--detector MODEL_DIR`: photo lines are the learned detector's (as the pipeline reads them)
//!   instead of the locator's, and every crop is written as cut, unpadded: the learned
//!   recogniser's fine-tuning lines (`training/finetune_rec.sh`).
//!
//! Seeded (ChaCha8): the same arguments give the same files.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ab_glyph::{FontArc, PxScale};
use image::{GrayImage, Luma};
use labelcheck::engines::EnginePair;
use labelcheck::engines::tesseract::{LineMode, pad_for_reading};
use labelcheck::pipeline::decode::{DecodeLimits, decode};
use labelcheck::pipeline::detect::find_lines_learned;
use labelcheck::pipeline::locate::{LINE_START_MARGIN, TextLine, cut_line, find_lines};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Zooms the pipeline cuts a serial value at (the line, then two re-reads).
const ZOOMS: [f32; 3] = [1.0, 0.8, 1.25];
/// Cases whose text is hidden or illegible: their lines are not used.
const SKIPPED_CASES: [&str; 3] = ["blurred_illegible", "occluded", "out_of_frame"];

struct Args {
    photos: Option<PathBuf>,
    detector: Option<PathBuf>,
    hold_from: usize,
    synthetic: usize,
    seed: u64,
    out: PathBuf,
}

fn parse_args() -> Args {
    let mut args = Args {
        photos: None,
        detector: None,
        hold_from: usize::MAX,
        synthetic: 0,
        seed: 1,
        out: PathBuf::from("target/training/lines"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} takes a value"));
        match a.as_str() {
            "--photos" => args.photos = Some(PathBuf::from(value())),
            "--detector" => args.detector = Some(PathBuf::from(value())),
            "--hold-from" => args.hold_from = value().parse().expect("--hold-from takes an index"),
            "--synthetic" => args.synthetic = value().parse().expect("--synthetic takes a count"),
            "--seed" => args.seed = value().parse().expect("--seed takes a number"),
            "--out" => args.out = PathBuf::from(value()),
            other => panic!("unknown argument {other}; see training/lines.rs"),
        }
    }
    args
}

/// One piece of text drawn on a photo (`lines.jsonl`, written by the generator).
#[derive(serde::Deserialize)]
struct PhotoText {
    text: String,
    from: [f64; 2],
    to: [f64; 2],
    size: f64,
}

#[derive(serde::Deserialize)]
struct PhotoTexts {
    photo: String,
    texts: Vec<PhotoText>,
}

/// A training line: its crop and text.
struct Sample {
    crop: GrayImage,
    text: String,
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.out).expect("create the output folder");
    let mut written = 0;
    // The learned recogniser's lines are written as cut; Tesseract's padded as its engine pads.
    let pad = args.detector.is_none();
    if let Some(dir) = &args.photos {
        let (train, held): (Vec<_>, Vec<_>) = photo_samples(dir, args.detector.as_deref())
            .into_iter()
            .partition(|(index, _)| *index < args.hold_from);
        let strip = |v: Vec<(usize, Sample)>| v.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
        written += write_samples(&args.out, "photo", &strip(train), pad);
        written += write_samples(&args.out, "eval", &strip(held), pad);
    }
    if args.synthetic > 0 {
        let held_out: &[&str] = if pad { &[] } else { &HELD_OUT_FONTS };
        let fonts = installed_fonts(held_out);
        let samples: Vec<Sample> = (0..args.synthetic)
            .into_par_iter()
            .filter_map(|i| synthetic_line(args.seed, i, &fonts))
            .collect();
        written += write_samples(&args.out, "synth", &samples, pad);
    }
    println!("wrote {written} lines to {}", args.out.display());
}

/// Writes each sample as `PREFIX-NNNNNN.png` with its `.gt.txt` and WordStr `.box`; returns how
/// many. `pad`: padded exactly as the Tesseract engine pads a crop before reading it (the learned
/// reader takes the crop as cut).
fn write_samples(out: &Path, prefix: &str, samples: &[Sample], pad: bool) -> usize {
    for (i, s) in samples.iter().enumerate() {
        let name = out.join(format!("{prefix}-{i:06}"));
        let crop = if pad {
            pad_for_reading(&s.crop, LineMode::Raw).0
        } else {
            s.crop.clone()
        };
        crop.save(name.with_extension("png"))
            .expect("write a line image");
        std::fs::write(name.with_extension("gt.txt"), format!("{}\n", s.text)).expect("gt");
        let (w, h) = crop.dimensions();
        let mut f = std::fs::File::create(name.with_extension("box")).expect("box");
        writeln!(f, "WordStr 0 0 {w} {h} 0 #{}", s.text).expect("box");
        writeln!(f, "\t {w} 0 {} {h} 0", w + 1).expect("box");
    }
    samples.len()
}

/// The training lines of every legible photo of a generated set, each with its photo's index
/// (the number its file name starts with). With `detector` (a model folder), the lines are the
/// learned detector's on the locator's region, as the pipeline finds them.
fn photo_samples(dir: &Path, detector: Option<&Path>) -> Vec<(usize, Sample)> {
    let mut cases = std::collections::HashMap::new();
    let mut reader = csv::Reader::from_path(dir.join("manifest.csv")).expect("manifest.csv");
    for row in reader.records() {
        let row = row.expect("manifest row");
        cases.insert(row[0].to_string(), row[4].to_string());
    }
    let lines = std::fs::read_to_string(dir.join("lines.jsonl"))
        .expect("lines.jsonl (make the set with --lines)");
    let photos: Vec<PhotoTexts> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a lines.jsonl row"))
        .filter(|p: &PhotoTexts| {
            cases
                .get(&p.photo)
                .is_some_and(|c| !SKIPPED_CASES.contains(&c.as_str()))
        })
        .collect();
    let engines = || detector.map(|d| EnginePair::open(d).expect("open the model folder"));
    photos
        .par_iter()
        .map_init(engines, |engine, p| {
            let bytes = std::fs::read(dir.join(&p.photo)).expect("read a photo");
            let gray = decode(&bytes, &DecodeLimits::default())
                .expect("decode a generated photo")
                .gray;
            let index: usize = p
                .photo
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut found = find_lines(&gray);
            if let Some(engine) = engine {
                found = find_lines_learned(&gray, &found, engine)
                    .expect("run the detector")
                    .unwrap_or_default();
            }
            found
                .iter()
                .flat_map(|line| line_samples(&gray, line, &p.texts))
                .map(|s| (index, s))
                .collect::<Vec<_>>()
        })
        .flatten_iter()
        .collect()
}

/// The samples one located line gives: none unless it holds whole pieces of text and nothing
/// cut; else the line as the pipeline first reads it, and a line with a serial caption or value
/// also at the re-reads' zooms, with the value after a caption cut as the pipeline cuts it.
fn line_samples(gray: &GrayImage, line: &TextLine, texts: &[PhotoText]) -> Vec<Sample> {
    let (s, c) = line.angle.sin_cos();
    let (u, n) = ((f64::from(c), f64::from(s)), (-f64::from(s), f64::from(c)));
    let (cx, cy) = (f64::from(line.centre.0), f64::from(line.centre.1));
    let half = f64::from(line.length) / 2.0;
    let along = |p: [f64; 2]| (p[0] - cx) * u.0 + (p[1] - cy) * u.1;
    let across = |p: [f64; 2]| (p[0] - cx) * n.0 + (p[1] - cy) * n.1;
    // Pieces on this line: centre near the line's axis, running along it.
    let mut members: Vec<(f64, f64, &PhotoText)> = Vec::new();
    let mut reading_sign = 0.0;
    for t in texts {
        let mid = [(t.from[0] + t.to[0]) / 2.0, (t.from[1] + t.to[1]) / 2.0];
        let (dx, dy) = (t.to[0] - t.from[0], t.to[1] - t.from[1]);
        let len = dx.hypot(dy).max(1e-6);
        let parallel = (dx * u.0 + dy * u.1) / len;
        let (a0, a1) = (along(t.from), along(t.to));
        let (lo, hi) = (a0.min(a1), a0.max(a1));
        if across(mid).abs() > 0.45 * t.size || hi < -half || lo > half {
            continue;
        }
        if parallel.abs() < 0.97 {
            return Vec::new();
        }
        let tol = 0.5 * t.size;
        // Partly on the line: the locator cut it, or the line runs into another piece.
        if lo < -half - tol || hi > half + tol {
            return Vec::new();
        }
        reading_sign = parallel.signum();
        members.push((lo, hi, t));
    }
    if members.is_empty() {
        return Vec::new();
    }
    let flip = reading_sign < 0.0;
    let size = members.iter().map(|m| m.2.size).fold(0.0, f64::max);
    let (lo, hi) = (
        members.iter().map(|m| m.0).fold(f64::MAX, f64::min),
        members.iter().map(|m| m.1).fold(f64::MIN, f64::max),
    );
    // The line must end where its text ends (nothing left out, no stray marks taken in).
    if (lo + half).abs() > 0.6 * size || (half - hi).abs() > 0.6 * size {
        return Vec::new();
    }
    // Reading order: along the line, reversed when the text runs the other way.
    members.sort_by(|a, b| (a.0 * reading_sign).total_cmp(&(b.0 * reading_sign)));
    let text = join(members.iter().map(|m| m.2.text.as_str()));
    if text.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let serial_line = members
        .iter()
        .any(|m| is_caption(&m.2.text) || looks_like_serial(&m.2.text));
    let zooms = if serial_line { &ZOOMS[..] } else { &ZOOMS[..1] };
    for &zoom in zooms {
        let (crop, k) = cut_line(gray, line, flip, zoom);
        out.push(Sample {
            crop: crop.clone(),
            text: text.clone(),
        });
        // A value after its caption, cut from midway between the two.
        if let Some(v) = members.iter().position(|m| is_caption(&m.2.text))
            && v + 1 < members.len()
        {
            let start = |m: &(f64, f64, &PhotoText)| {
                if flip { half - m.1 } else { m.0 + half }
            };
            let end = |m: &(f64, f64, &PhotoText)| {
                if flip { half - m.0 } else { m.1 + half }
            };
            // The crop starts LINE_START_MARGIN text heights before the line.
            let margin = f64::from(LINE_START_MARGIN * line.text_height);
            let x = ((end(&members[v]) + start(&members[v + 1])) / 2.0 + margin) * f64::from(k);
            let x = (x.max(0.0) as u32).min(crop.width().saturating_sub(8));
            let value =
                image::imageops::crop_imm(&crop, x, 0, crop.width() - x, crop.height()).to_image();
            out.push(Sample {
                crop: value,
                text: join(members[v + 1..].iter().map(|m| m.2.text.as_str())),
            });
        }
    }
    out
}

/// Whether a piece of text is a serial value: nine or more characters, capitals and digits
/// with dashes or slashes, at least eight digits.
fn looks_like_serial(text: &str) -> bool {
    text.len() >= 9
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '/')
        && text.chars().filter(char::is_ascii_digit).count() >= 8
}

/// Whether a piece of text is a serial caption (any spelling the labels use).
fn is_caption(text: &str) -> bool {
    let t = text.trim_end_matches([':', ' ']).to_ascii_uppercase();
    [
        "S/N",
        "SN",
        "SERIAL NO.",
        "SERIALNO",
        "SERIAL NUMBER",
        "SERIAL NO",
    ]
    .contains(&t.as_str())
}

/// Pieces joined by one space, runs of spaces squeezed.
fn join<'a>(pieces: impl Iterator<Item = &'a str>) -> String {
    pieces
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Font folders the learned recogniser's fine-tuning lines leave out: `training/rec_fonts_check.py`
/// draws its held-out lines in them.
const HELD_OUT_FONTS: [&str; 2] = ["freefont", "inconsolata"];

/// Upright, non-symbol TrueType and OpenType fonts under `/usr/share/fonts`, in path order,
/// without those whose path holds one of `held_out`.
fn installed_fonts(held_out: &[&str]) -> Vec<FontArc> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("ttf") || x.eq_ignore_ascii_case("otf"))
            {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(Path::new("/usr/share/fonts"), &mut paths);
    paths.sort();
    let skip = [
        "Italic", "Oblique", "Emoji", "Symbol", "Math", "Dingbat", "Ital", "Light", "Thin",
    ];
    paths
        .into_iter()
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            !skip.iter().any(|s| name.contains(s))
                && !held_out.iter().any(|h| p.to_string_lossy().contains(h))
        })
        .filter_map(|p| FontArc::try_from_vec(std::fs::read(&p).ok()?).ok())
        .filter(|f| {
            // Must draw every character a label line uses.
            use ab_glyph::Font as _;
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/:."
                .chars()
                .all(|c| f.glyph_id(c).0 != 0)
        })
        .collect()
}

/// Characters a reader confuses with each other.
const LOOKALIKES: &[&str] = &["0ODQ", "1IL7T", "2Z", "5S", "8B", "6G", "4A", "UV", "MN"];

fn letter(rng: &mut ChaCha8Rng) -> char {
    char::from(b'A' + rng.random_range(0..26u8))
}
fn digit(rng: &mut ChaCha8Rng) -> char {
    char::from(b'0' + rng.random_range(0..10u8))
}
fn letters(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n).map(|_| letter(rng)).collect()
}
fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n).map(|_| digit(rng)).collect()
}

/// A model name in the serials' shape (`DS-2CD2143G2-IU`, `DS-7608NI-K2/8P`), random parts.
fn model(rng: &mut ChaCha8Rng) -> String {
    let family = *["DS", "DS", "DS", "IDS", "iDS"]
        .choose(rng)
        .unwrap_or(&"DS");
    let mut m = format!("{family}-{}", digit(rng));
    for _ in 0..rng.random_range(1..4) {
        let (a, b) = (rng.random_range(1..3), rng.random_range(1..5));
        m.push_str(&letters(rng, a));
        m.push_str(&digits(rng, b));
    }
    for _ in 0..rng.random_range(0..3) {
        m.push('-');
        let a = rng.random_range(1..4);
        m.push_str(&letters(rng, a));
        if rng.random_bool(0.3) {
            m.push_str(&digits(rng, 1));
            if rng.random_bool(0.5) {
                m.push('/');
                m.push_str(&digits(rng, 1));
                m.push(letter(rng));
            }
        }
    }
    m
}

/// A full serial: model (+ channels) + date + 4 letters + short serial (+ suffix).
fn full_serial(rng: &mut ChaCha8Rng) -> String {
    let mut s = model(rng);
    if rng.random_bool(0.2) {
        s.push_str(&digits(rng, 2));
    }
    s.push_str(&format!(
        "20{:02}{:02}{:02}",
        rng.random_range(10..30),
        rng.random_range(1..13),
        rng.random_range(1..29)
    ));
    s.push_str(&letters(rng, 4));
    s.push_str(&short_serial(rng));
    if rng.random_bool(0.15) {
        s.push_str(&letters(rng, 4));
    }
    s
}

fn short_serial(rng: &mut ChaCha8Rng) -> String {
    let first = if rng.random_bool(0.7) {
        letter(rng)
    } else {
        digit(rng)
    };
    format!("{first}{}", digits(rng, 8))
}

/// `text` with each character replaced by one of its look-alikes with probability `p`.
fn with_lookalikes(text: &str, p: f64, rng: &mut ChaCha8Rng) -> String {
    text.chars()
        .map(|c| {
            let group = LOOKALIKES.iter().find(|g| g.contains(c));
            match group {
                Some(g) if rng.random_bool(p) => {
                    let others: Vec<char> = g.chars().filter(|&o| o != c).collect();
                    *others.choose(rng).unwrap_or(&c)
                }
                _ => c,
            }
        })
        .collect()
}

/// A caption spelling, in a random case, with or without a colon.
fn caption(rng: &mut ChaCha8Rng) -> String {
    let base = *["S/N", "SN", "Serial No.", "SerialNo", "Serial Number"]
        .choose(rng)
        .unwrap_or(&"S/N");
    let cased = match rng.random_range(0..4) {
        0 => base.to_ascii_uppercase(),
        1 => base.to_ascii_lowercase(),
        _ => base.to_string(),
    };
    if rng.random_bool(0.6) {
        format!("{cased}:")
    } else {
        cased
    }
}

/// The text of one synthetic line.
fn line_text(rng: &mut ChaCha8Rng) -> String {
    let serial = |rng: &mut ChaCha8Rng| {
        let s = if rng.random_bool(0.6) {
            full_serial(rng)
        } else {
            short_serial(rng)
        };
        with_lookalikes(&s, 0.12, rng)
    };
    match rng.random_range(0..100) {
        0..30 => format!("{} {}", caption(rng), serial(rng)),
        30..55 => serial(rng),
        55..65 => format!("{} {} VC: {}", caption(rng), serial(rng), letters(rng, 6)),
        65..72 => format!("Verification Code: {}", letters(rng, 6)),
        72..80 => format!("Model: {}", with_lookalikes(&model(rng), 0.1, rng)),
        80..85 => [
            "100-240VAC 50/60Hz",
            "12V DC 1A",
            "12 VDC / PoE (802.3af)",
            "48V DC 0.5A",
        ]
        .choose(rng)
        .unwrap_or(&"12V DC")
        .to_string(),
        85..90 => {
            let mac: Vec<String> = (0..6)
                .map(|_| format!("{:02X}", rng.random_range(0..256u16)))
                .collect();
            format!(
                "MAC: {}",
                mac.join(if rng.random_bool(0.5) { ":" } else { "-" })
            )
        }
        90..94 => format!("P/N: {}", with_lookalikes(&digits(rng, 9), 0.1, rng)),
        _ => [
            "Network Camera",
            "Made in China",
            "Network Video Recorder",
            "HIKVISION",
        ]
        .choose(rng)
        .unwrap_or(&"Made in China")
        .to_string(),
    }
}

/// Line `i` of the synthetic set: drawn, degraded, found and cut like a photo's line.
fn synthetic_line(seed: u64, i: usize, fonts: &[FontArc]) -> Option<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
    let text = line_text(&mut rng);
    let font = fonts.choose(&mut rng)?;
    let size = rng.random_range(16.0f32..70.0);
    let scale = PxScale::from(size);
    let (w, h) = imageproc::drawing::text_size(scale, font, &text);
    let pad = (size * rng.random_range(0.6..1.5)) as u32;
    let angle = rng.random_range(-4.0f32..4.0).to_radians();
    // Room for the turned line's ends.
    let pad_y = pad + (w as f32 * angle.sin().abs() / 2.0).ceil() as u32;
    let (bg, ink) = (rng.random_range(170..255u8), rng.random_range(0..90u8));
    let mut img = GrayImage::from_pixel(w + 2 * pad, h + 2 * pad_y, Luma([bg]));
    imageproc::drawing::draw_text_mut(
        &mut img,
        Luma([ink]),
        pad as i32,
        pad_y as i32,
        scale,
        font,
        &text,
    );
    let img = imageproc::geometric_transformations::rotate_about_center(
        &img,
        angle,
        imageproc::geometric_transformations::Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Luma([bg])),
    );
    let sigma = rng.random_range(0.0f32..(size / 14.0));
    let mut img = if sigma > 0.3 {
        imageproc::filter::gaussian_blur_f32(&img, sigma)
    } else {
        img
    };
    let noise = rng.random_range(0.0f32..8.0);
    for v in img.iter_mut() {
        let n: f32 = rng.random_range(-1.0f32..1.0) * noise;
        *v = (f32::from(*v) + n).clamp(0.0, 255.0) as u8;
    }
    let mut jpeg = Vec::new();
    let quality = rng.random_range(40..95u8);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&img)
        .ok()?;
    let img = image::load_from_memory(&jpeg).ok()?.to_luma8();
    // The longest line the locator finds is the text; it must span the text, not a part.
    let line = find_lines(&img)
        .into_iter()
        .max_by(|a, b| a.length.total_cmp(&b.length))?;
    if line.length < 0.97 * w as f32 || line.length > 1.1 * w as f32 + size {
        return None;
    }
    let zoom = *ZOOMS.choose(&mut rng)?;
    let flip = line.angle.cos() < 0.0;
    let (crop, _) = cut_line(&img, &line, flip, zoom);
    Some(Sample { crop, text })
}
