//! The wider label sets, drawn far more widely than testdata: `validation` (measured, never tuned
//! against), `tuning` (a split to fit rules on, beside testdata) and `sweep` (labels one look-alike
//! away from the reported serial, which must never MATCH).
//!
//! Type comes from 17 families in Debian font packages (`scripts/setup.sh` installs them; see
//! `testdata/generator/FONTS.md` for each licence): narrow and condensed sans, regular and bold,
//! monospace with dotted and slashed zeros, `I` with serifs and bare, `1` with and without a base.
//! Print varies size (capitals drawn 12–120 px in the photo, then shrunk with a label that must
//! shrink to fit its part of the frame: a photo marked legible may show them under 8 px),
//! letter-spacing, thermal-printer smear and dropouts, grey print, and white, silver, yellow and
//! black labels. Photography varies 0.8–12 MP, any rotation, perspective up to 35°, defocus,
//! motion and hand shake, low light, over-exposure, glare, JPEG quality 40–95 (4:2:0), and labels
//! partly out of frame.

use std::path::Path;

use image::{Rgb, RgbImage};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::label::{self, Family, Fonts, LabelSpec, Layout, Style};
use crate::serials::{self, Device};
use crate::{Case, Format, Row, hex, photo, photo_box, stored_bytes};

/// Which wider set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Validation,
    Tuning,
    Sweep,
    /// Labels whose text shows the reported serial and whose codes hold a neighbour's.
    Tampered,
    /// Drawn like tuning, with its own seed: the OCR model's training photos.
    Training,
    /// Labels showing the reported serial with a slip or sticker showing another device's.
    Slips,
}

impl Set {
    pub fn parse(name: &str) -> Option<Set> {
        match name {
            "validation" => Some(Set::Validation),
            "tuning" => Some(Set::Tuning),
            "sweep" => Some(Set::Sweep),
            "tampered" => Some(Set::Tampered),
            "training" => Some(Set::Training),
            "slips" => Some(Set::Slips),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Set::Validation => "validation",
            Set::Tuning => "tuning",
            Set::Sweep => "sweep",
            Set::Tampered => "tampered",
            Set::Training => "training",
            Set::Slips => "slips",
        }
    }

    /// Each set has its own seed, so no photo of one is a photo of another.
    pub fn default_seed(self) -> u64 {
        match self {
            Set::Validation => 7_100_001,
            Set::Tuning => 7_200_002,
            Set::Sweep => 7_300_003,
            Set::Tampered => 7_400_004,
            Set::Training => 7_500_005,
            Set::Slips => 7_600_006,
        }
    }
}

/// (name, regular, bold, serial face) under `/usr/share/fonts/`, and the Debian package.
const SYSTEM_FAMILIES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "dejavu-sans-condensed",
        "truetype/dejavu/DejaVuSansCondensed.ttf",
        "truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
        "truetype/dejavu/DejaVuSansMono.ttf",
        "fonts-dejavu-extra",
    ),
    (
        "liberation-sans-narrow",
        "truetype/liberation/LiberationSansNarrow-Regular.ttf",
        "truetype/liberation/LiberationSansNarrow-Bold.ttf",
        "truetype/liberation/LiberationMono-Regular.ttf",
        "fonts-liberation",
    ),
    (
        "nimbus-sans-narrow",
        "opentype/urw-base35/NimbusSansNarrow-Regular.otf",
        "opentype/urw-base35/NimbusSansNarrow-Bold.otf",
        "opentype/urw-base35/NimbusMonoPS-Regular.otf",
        "fonts-urw-base35",
    ),
    (
        "nimbus-sans",
        "opentype/urw-base35/NimbusSans-Regular.otf",
        "opentype/urw-base35/NimbusSans-Bold.otf",
        "opentype/urw-base35/NimbusMonoPS-Bold.otf",
        "fonts-urw-base35",
    ),
    (
        "urw-gothic",
        "opentype/urw-base35/URWGothic-Book.otf",
        "opentype/urw-base35/URWGothic-Demi.otf",
        "opentype/urw-base35/URWGothic-Demi.otf",
        "fonts-urw-base35",
    ),
    (
        "roboto",
        "truetype/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf",
        "truetype/roboto/unhinted/RobotoTTF/Roboto-Bold.ttf",
        "truetype/roboto/unhinted/RobotoTTF/Roboto-Medium.ttf",
        "fonts-roboto-unhinted",
    ),
    (
        "roboto-condensed",
        "truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
        "truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
        "truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
        "fonts-roboto-unhinted",
    ),
    (
        "open-sans-condensed",
        "truetype/open-sans/OpenSans-Regular.ttf",
        "truetype/open-sans/OpenSans-CondBold.ttf",
        "truetype/open-sans/OpenSans-CondBold.ttf",
        "fonts-open-sans",
    ),
    (
        "arimo-cousine",
        "truetype/croscore/Arimo-Regular.ttf",
        "truetype/croscore/Arimo-Bold.ttf",
        "truetype/croscore/Cousine-Regular.ttf",
        "fonts-croscore",
    ),
    (
        "go",
        "fonts-go/Go-Regular.ttf",
        "fonts-go/Go-Bold.ttf",
        "fonts-go/Go-Mono.ttf",
        "fonts-go",
    ),
    (
        "b612",
        "opentype/b612/B612-Regular.otf",
        "opentype/b612/B612-Bold.otf",
        "opentype/b612/B612Mono-Regular.otf",
        "fonts-b612",
    ),
    (
        "hack",
        "truetype/hack/Hack-Regular.ttf",
        "truetype/hack/Hack-Bold.ttf",
        "truetype/hack/Hack-Regular.ttf",
        "fonts-hack",
    ),
    (
        "jetbrains-mono",
        "truetype/jetbrains-mono/JetBrainsMono-Regular.ttf",
        "truetype/jetbrains-mono/JetBrainsMono-Bold.ttf",
        "truetype/jetbrains-mono/JetBrainsMono-Medium.ttf",
        "fonts-jetbrains-mono",
    ),
    (
        "fira-code",
        "truetype/firacode/FiraCode-Regular.ttf",
        "truetype/firacode/FiraCode-Bold.ttf",
        "truetype/firacode/FiraCode-Medium.ttf",
        "fonts-firacode",
    ),
    (
        "noto-sans-mono",
        "truetype/noto/NotoSansMono-Regular.ttf",
        "truetype/noto/NotoSansMono-Bold.ttf",
        "truetype/noto/NotoSansMono-Regular.ttf",
        "fonts-noto-mono",
    ),
    (
        "freefont",
        "truetype/freefont/FreeSans.ttf",
        "truetype/freefont/FreeSansBold.ttf",
        "truetype/freefont/FreeMono.ttf",
        "fonts-freefont-ttf",
    ),
    (
        "inconsolata",
        "truetype/inconsolata/Inconsolata.otf",
        "truetype/inconsolata/Inconsolata.otf",
        "truetype/inconsolata/Inconsolata.otf",
        "fonts-inconsolata",
    ),
];

/// The wider sets' type families, from the system's Debian font packages.
pub fn system_fonts() -> Fonts {
    let dir = Path::new("/usr/share/fonts");
    let families = SYSTEM_FAMILIES
        .iter()
        .map(|&(name, regular, bold, mono, package)| {
            for file in [regular, bold, mono] {
                assert!(
                    dir.join(file).exists(),
                    "{} is missing: install the Debian package {package} (scripts/setup.sh does)",
                    dir.join(file).display()
                );
            }
            Family {
                name: name.to_string(),
                regular: label::load(dir, regular),
                bold: label::load(dir, bold),
                mono: label::load(dir, mono),
            }
        })
        .collect();
    Fonts { families }
}

/// Every caption spelling, with and without colon, in mixed case.
const WIDE_CAPTIONS: &[&str] = &[
    "S/N:",
    "S/N",
    "SN:",
    "SN",
    "Serial No.:",
    "Serial No.",
    "SerialNo:",
    "SerialNo",
    "Serial Number:",
    "Serial Number",
    "s/n:",
    "Serial no.:",
    "SERIAL NO.:",
    "SERIAL NUMBER:",
    "Sn:",
    "serial number:",
    "S/N :",
    "SERIALNO:",
];

/// One planned photo of a wider set.
#[derive(Debug, Clone)]
pub struct WidePlan {
    case: Case,
    format: Format,
    size: (usize, usize),
    exif: u16,
    /// For the sweep: the printed serial (one look-alike away) and the device reported.
    sweep: Option<(String, Device)>,
}

/// The cases of the validation and tuning sets and how many photos of each per 600.
const CASE_MIX: &[(Case, usize)] = &[
    (Case::FullMatch, 80),
    (Case::ShortMatch, 70),
    (Case::MildBlur, 50),
    (Case::Rotated90, 30),
    (Case::Rotated180, 25),
    (Case::CodeBesideSerial, 35),
    (Case::Neighbour, 55),
    (Case::Transposed, 35),
    (Case::OtherDevice, 35),
    (Case::Blurred, 50),
    (Case::NoSerial, 35),
    (Case::TwoSerials, 30),
    (Case::OutOfFrame, 35),
    (Case::Occluded, 35),
];

/// Slip photos appended to the tuning and validation sets, per 600 photos.
const SLIPS_PER_600: usize = 30;

/// Phone resolutions from 0.8 to 12 MP, weighted towards the common small uploads.
const SIZES: &[((usize, usize), u32)] = &[
    ((1024, 768), 3),
    ((1280, 960), 4),
    ((1600, 1200), 4),
    ((2048, 1536), 2),
    ((2592, 1944), 1),
    ((3264, 2448), 1),
    ((4000, 3000), 1),
];

/// The plan of a wider set: `count` photos (the sweep's count is fixed by its serials).
pub fn plan(set: Set, seed: u64, count: usize) -> Vec<WidePlan> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5E_ED0F_9A7E);
    if set == Set::Sweep {
        return sweep_plan(&mut rng);
    }
    let mix: &[(Case, usize)] = match set {
        Set::Tampered => &[(Case::Tampered, 1)],
        Set::Slips => &[(Case::Slip, 1)],
        _ => CASE_MIX,
    };
    let total: usize = mix.iter().map(|(_, n)| n).sum();
    let mut cases = Vec::new();
    for &(case, n) in mix {
        cases.extend(std::iter::repeat_n(case, (n * count).div_ceil(total)));
    }
    cases.truncate(count.max(1));
    let plain = cases.len();
    // Interleave so that any prefix of the set has every case.
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| {
        let rank = cases[..i].iter().filter(|&&c| c == cases[i]).count();
        (rank * 1000) / cases.iter().filter(|&&c| c == cases[i]).count().max(1)
    });
    // Tuning and validation end with photos of the slips family (5% more), after the mix so
    // that the photos before them stay as they were drawn.
    if matches!(set, Set::Tuning | Set::Validation) {
        order.extend(plain..plain + (count * SLIPS_PER_600).div_ceil(600));
        cases.resize(order.len(), Case::Slip);
    }
    let weights: u32 = SIZES.iter().map(|(_, w)| w).sum();
    order
        .into_iter()
        .map(|i| {
            let mut pick = rng.random_range(0..weights);
            let mut size = SIZES[0].0;
            for &(s, w) in SIZES {
                if pick < w {
                    size = s;
                    break;
                }
                pick -= w;
            }
            let size = if rng.random_bool(0.25) {
                (size.1, size.0)
            } else {
                size
            };
            // Lossless uploads are rare and small (a screenshot, an app's re-encode).
            let format = match rng.random_range(0..100) {
                0..4 if size.0 * size.1 <= 2_000_000 => Format::Png,
                4..9 if size.0 * size.1 <= 2_000_000 => Format::Webp,
                _ => Format::Jpeg,
            };
            let exif = if format == Format::Jpeg && rng.random_bool(0.12) {
                *[3u16, 6, 8].choose(&mut rng).unwrap_or(&6)
            } else {
                1
            };
            WidePlan {
                case: cases[i],
                format,
                size,
                exif,
                sweep: None,
            }
        })
        .collect()
}

/// Look-alike groups of the sweep: each character may be printed as another of its group.
const LOOKALIKES: &[&str] = &["I1LT", "O0DQ", "Z2", "S5", "B8", "G6"];

/// Every serial one look-alike away from `text` that the grammar still accepts as a serial
/// (`valid`), with the position changed.
fn one_lookalike_away(text: &str, valid: impl Fn(&str) -> bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        for group in LOOKALIKES.iter().filter(|g| g.contains(c)) {
            for alt in group.chars().filter(|&a| a != c) {
                let mut v = chars.clone();
                v[i] = alt;
                let s: String = v.into_iter().collect();
                if valid(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// The sweep: for each of a fixed list of devices, every grammatical one-look-alike variant of
/// its full serial and of its short serial is printed on a label and photographed cleanly.
fn sweep_plan(rng: &mut ChaCha8Rng) -> Vec<WidePlan> {
    let mut plans = Vec::new();
    for _ in 0..6 {
        let device = serials::wide_device(rng);
        let full_ok = |s: &str| labelcheck::pipeline::serial::parse_reported(s).is_ok();
        let short_ok = |s: &str| {
            s.len() == 9
                && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && s.chars().skip(1).all(|c| c.is_ascii_digit())
        };
        let mut variants = one_lookalike_away(&device.full, full_ok);
        variants.extend(one_lookalike_away(&device.short, short_ok));
        for printed in variants {
            let size = *[(1280, 960), (1600, 1200)]
                .choose(rng)
                .unwrap_or(&(1280, 960));
            plans.push(WidePlan {
                case: Case::LookAlike,
                format: Format::Jpeg,
                size,
                exif: 1,
                sweep: Some((printed, device.clone())),
            });
        }
    }
    plans
}

/// The file name of photo `index`.
pub fn file_name(index: usize, plan: &WidePlan) -> String {
    crate::file_name(index, plan.case, plan.format)
}

/// Label colours: (background, ink, name).
fn colours<R: Rng>(rng: &mut R) -> (Rgb<u8>, Rgb<u8>, &'static str) {
    let v = |rng: &mut R, a: u8, b: u8| rng.random_range(a..b);
    match rng.random_range(0..100) {
        0..50 => {
            let (b, i) = (v(rng, 236, 252), v(rng, 8, 40));
            (Rgb([b, b, b - 3]), Rgb([i, i, i + 4]), "white")
        }
        50..68 => {
            let (b, i) = (v(rng, 180, 212), v(rng, 8, 36));
            (Rgb([b, b + 2, b + 6]), Rgb([i, i, i + 4]), "silver")
        }
        68..80 => {
            let i = v(rng, 10, 40);
            (
                Rgb([238, v(rng, 196, 222), v(rng, 40, 90)]),
                Rgb([i, i, i]),
                "yellow",
            )
        }
        80..90 => {
            let (b, i) = (v(rng, 18, 45), v(rng, 200, 240));
            (Rgb([b, b, b + 3]), Rgb([i, i, i]), "black")
        }
        _ => {
            let (b, i) = (v(rng, 232, 250), v(rng, 95, 140));
            (Rgb([b, b, b]), Rgb([i, i, i]), "grey-print")
        }
    }
}

/// Thermal-printer faults on the label image: dead heating dots leave light lines along the feed
/// (`dropouts` of them), and ink smears along the feed by up to `smear` pixels.
fn thermal<R: Rng>(img: &mut RgbImage, background: Rgb<u8>, rng: &mut R) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let smear = rng.random_range(0.0..(w as f32 / 500.0).max(1.0)).round() as usize;
    if smear > 0 {
        let src = img.clone();
        for y in 0..h {
            for x in 0..w {
                // The darker of the pixel and its neighbours up the feed: ink dragged along.
                let mut best = *src.get_pixel(x as u32, y as u32);
                for d in 1..=smear.min(y) {
                    let p = *src.get_pixel(x as u32, (y - d) as u32);
                    let lum = |q: Rgb<u8>| u32::from(q[0]) + u32::from(q[1]) + u32::from(q[2]);
                    let bg_dark = lum(background) < 300;
                    if (lum(p) < lum(best)) != bg_dark {
                        best = p;
                    }
                }
                img.put_pixel(x as u32, y as u32, best);
            }
        }
    }
    for _ in 0..rng.random_range(1..5) {
        let x0 = rng.random_range(0..w);
        let width = rng.random_range(1..=(w / 400).max(1));
        for x in x0..(x0 + width).min(w) {
            for y in 0..h {
                img.put_pixel(x as u32, y as u32, background);
            }
        }
    }
}

/// Tape over part of the serial value (label pixels): a light, all but opaque strip.
fn tape<R: Rng>(img: &mut RgbImage, value: [f32; 4], rng: &mut R) {
    let vw = value[2] - value[0];
    let start = value[0] + vw * rng.random_range(0.0..0.3);
    let end = (start + vw * rng.random_range(0.6..1.0)).min(value[2] + vw * 0.05);
    let pad = (value[3] - value[1]) * 0.6;
    let tint = [
        rng.random_range(225..245u8),
        rng.random_range(220..240),
        rng.random_range(200..235),
    ];
    let alpha = rng.random_range(0.97..1.0f32);
    let (y0, y1) = (
        (value[1] - pad).max(0.0) as u32,
        ((value[3] + pad) as u32).min(img.height()),
    );
    for y in y0..y1 {
        for x in (start.max(0.0) as u32)..(end as u32).min(img.width()) {
            let p = img.get_pixel_mut(x, y);
            for k in 0..3 {
                p[k] = (f32::from(p[k]) * (1.0 - alpha) + f32::from(tint[k]) * alpha) as u8;
            }
        }
    }
}

fn sticker<R: Rng>(
    rng: &mut R,
    device: &Device,
    printed: Option<String>,
    fonts: &Fonts,
) -> (LabelSpec, &'static str, bool) {
    let (background, ink, colour) = colours(rng);
    let thermal_print = rng.random_bool(0.3);
    let mut extra_fields = Vec::new();
    if rng.random_bool(0.35) {
        extra_fields.push(format!(
            "P/N: {}",
            rng.random_range(302_000_000..303_999_999u32)
        ));
    }
    if rng.random_bool(0.3) {
        extra_fields.push("Input: 100-240VAC 50/60Hz".to_string());
    }
    let style = Style {
        colours: Some((background, ink)),
        spacing: if rng.random_bool(0.3) {
            rng.random_range(0.04..0.3)
        } else {
            0.0
        },
        value_scale: rng.random_range(0.8..1.4),
        code_on_serial_line: rng.random_bool(0.05),
        wrap_model: rng.random_bool(0.15),
        extra_fields,
    };
    let spec = LabelSpec {
        brand: ["HIKVISION", "HIKVISION", "HiLook", "HIKVISION"]
            .choose(rng)
            .unwrap_or(&"HIKVISION"),
        product_line: device.product_line.to_string(),
        model: device.model.clone(),
        barcode: printed.as_ref().map(|_| device.full.clone()),
        serial: printed,
        caption: WIDE_CAPTIONS.choose(rng).unwrap_or(&"S/N:").to_string(),
        value_below: rng.random_bool(0.35),
        verification_code: serials::verification_code(rng),
        mac: rng.random_bool(0.4).then(|| serials::mac(rng)),
        power: [
            "Power: 12V DC 0.5A",
            "12V DC / PoE (802.3af)",
            "Power Supply: PoE 6.5W max",
            "DC 12V 1A",
            "48V DC 1.5A",
        ]
        .choose(rng)
        .unwrap_or(&"DC 12V 1A"),
        layout: if rng.random_bool(0.5) {
            Layout::OneColumn
        } else {
            Layout::TwoColumn
        },
        silver: false,
        family: rng.random_range(0..fonts.families.len()),
        mono_serial: rng.random_bool(0.45),
        qr: String::new(),
        style,
    };
    let qr = format!(
        "{}\r\n{}\r\n{}",
        device.full, spec.verification_code, device.model
    );
    (LabelSpec { qr, ..spec }, colour, thermal_print)
}

/// Makes `spec`'s codes (QR code and barcode) hold a neighbour of `device` while its text keeps
/// `device`'s serial.
fn tamper(rng: &mut ChaCha8Rng, spec: &mut LabelSpec, device: &Device) {
    let other = serials::neighbour(device, rng.random_bool(0.5));
    spec.qr = spec.qr.replacen(&device.full, &other.full, 1);
    spec.barcode = Some(other.full.clone());
}

/// The quad (TL, TR, BR, BL) of a `label_w` × `label_w * aspect` label centred at `centre`,
/// turned by `rotation` radians and tilted `tilt` radians away from the camera about an axis at
/// `axis` radians (a pinhole camera at 1.2 label widths).
fn quad(
    centre: (f64, f64),
    label_w: f64,
    aspect: f64,
    rotation: f64,
    tilt: f64,
    axis: f64,
) -> [(f64, f64); 4] {
    let label_h = label_w * aspect;
    let dist = 1.2 * label_w.max(label_h);
    let (sa, ca) = axis.sin_cos();
    let (st, ct) = tilt.sin_cos();
    [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)].map(|(u, v)| {
        let (x, y) = (u * label_w, v * label_h);
        // Coordinates along and across the tilt axis; the across part leans away in depth.
        let (a, b) = (x * ca + y * sa, -x * sa + y * ca);
        let (b, z) = (b * ct, b * st);
        let (x, y) = (a * ca - b * sa, a * sa + b * ca);
        let f = dist / (dist + z);
        let (x, y) = (x * f, y * f);
        let (s, c) = rotation.sin_cos();
        (centre.0 + x * c - y * s, centre.1 + x * s + y * c)
    })
}

fn bounds(q: &[(f64, f64); 4]) -> (f64, f64, f64, f64) {
    let xs = q.iter().map(|p| p.0);
    let ys = q.iter().map(|p| p.1);
    (
        xs.clone().fold(f64::MAX, f64::min),
        ys.clone().fold(f64::MAX, f64::min),
        xs.fold(f64::MIN, f64::max),
        ys.fold(f64::MIN, f64::max),
    )
}

/// Renders photo `index` of a wider set.
pub fn render(seed: u64, index: usize, plan: &WidePlan, fonts: &Fonts) -> crate::Rendered {
    let mut rng = crate::photo_rng(seed, index);
    let case = plan.case;
    let device = match &plan.sweep {
        Some((_, reported)) => reported.clone(),
        None => serials::wide_device(&mut rng),
    };
    let print_full = match case {
        Case::FullMatch | Case::OtherDevice | Case::TwoSerials => true,
        Case::ShortMatch => false,
        _ => rng.random_bool(0.6),
    };
    let printed_of = |d: &Device| {
        if print_full {
            d.full.clone()
        } else {
            d.short.clone()
        }
    };
    let mut labels: Vec<(Device, Option<String>)> = match case {
        Case::Neighbour => {
            let n = serials::neighbour(&device, rng.random_bool(0.5));
            vec![(n.clone(), Some(printed_of(&n)))]
        }
        Case::Transposed => {
            let t = serials::transposed(&device, &mut rng);
            vec![(t.clone(), Some(printed_of(&t)))]
        }
        Case::OtherDevice => {
            let o = serials::wide_device(&mut rng);
            vec![(o.clone(), Some(printed_of(&o)))]
        }
        Case::NoSerial => vec![(device.clone(), None)],
        Case::TwoSerials => {
            let other = if rng.random_bool(0.5) {
                serials::neighbour(&device, true)
            } else {
                serials::wide_device(&mut rng)
            };
            vec![
                (device.clone(), Some(printed_of(&device))),
                (other.clone(), Some(printed_of(&other))),
            ]
        }
        Case::LookAlike => {
            let printed = plan
                .sweep
                .as_ref()
                .map(|(p, _)| p.clone())
                .unwrap_or_default();
            // The barcode encodes the printed (look-alike) serial's full form.
            let full = if printed.len() == 9 {
                device.full.replacen(&device.short, &printed, 1)
            } else {
                printed.clone()
            };
            vec![(
                Device {
                    full,
                    ..device.clone()
                },
                Some(printed),
            )]
        }
        _ => vec![(device.clone(), Some(printed_of(&device)))],
    };
    let stickers: Vec<(LabelSpec, &'static str, bool)> = labels
        .drain(..)
        .map(|(d, printed)| {
            let (mut spec, colour, thermal_print) = sticker(&mut rng, &d, printed, fonts);
            if case == Case::CodeBesideSerial {
                spec.style.code_on_serial_line = true;
            }
            if case == Case::Tampered {
                tamper(&mut rng, &mut spec, &d);
            }
            if case == Case::LookAlike {
                spec.style.spacing = 0.0;
                spec.style.colours = spec.style.colours.filter(|_| colour != "grey-print");
            }
            (spec, colour, thermal_print && case != Case::LookAlike)
        })
        .collect();

    let (w, h) = plan.size;
    let mut canvas = photo::background(w, h, &mut rng);
    let near_upright = |rng: &mut ChaCha8Rng| rng.random_range(-10.0..10.0);
    let rotation_deg: f64 = match case {
        Case::Rotated90 => {
            *[90.0, -90.0].choose(&mut rng).unwrap_or(&90.0) + near_upright(&mut rng)
        }
        Case::Rotated180 => 180.0 + near_upright(&mut rng),
        Case::LookAlike => rng.random_range(-5.0..5.0),
        _ => match rng.random_range(0..100) {
            0..45 => near_upright(&mut rng),
            45..75 => rng.random_range(-30.0..30.0),
            _ => rng.random_range(-180.0..180.0),
        },
    };
    let tilt_deg: f64 = match case {
        Case::LookAlike => rng.random_range(0.0..10.0),
        _ if rng.random_bool(0.5) => rng.random_range(0.0..15.0),
        _ => rng.random_range(15.0..35.0),
    };
    let tilt_axis = rng.random_range(0.0..std::f64::consts::PI);
    let legible = !matches!(case, Case::Blurred);
    // The serial's capitals in the photo: 12–120 px, log-uniform (18–40 px in the sweep).
    let cap_target = match case {
        Case::LookAlike => rng.random_range(18.0f64..40.0),
        _ => (rng.random_range(12.0f64.ln()..120.0f64.ln())).exp(),
    };
    let areas: Vec<(f64, f64, f64, f64)> = if stickers.len() == 1 {
        vec![(0.0, 0.0, w as f64, h as f64)]
    } else if w >= h {
        vec![
            (0.0, 0.0, w as f64 / 2.0, h as f64),
            (w as f64 / 2.0, 0.0, w as f64 / 2.0, h as f64),
        ]
    } else {
        vec![
            (0.0, 0.0, w as f64, h as f64 / 2.0),
            (0.0, h as f64 / 2.0, w as f64, h as f64 / 2.0),
        ]
    };

    let mut serial_boxes = Vec::new();
    let mut value_boxes = Vec::new();
    let mut texts = Vec::new();
    let mut caps = Vec::new();
    let mut coverage = 0.0;
    let mut glare_spots = Vec::new();
    // Whether tape hides the serial value; an occluded photo without tape gets glare over it.
    let mut taped = false;
    // Each label's quad in the photo and its width.
    let mut placed: Vec<([(f64, f64); 4], f64)> = Vec::new();
    for ((spec, colour, thermal_print), &(ax, ay, aw, ah)) in stickers.iter().zip(&areas) {
        let layout_rng = rng.clone();
        let nominal = label::render(spec, fonts, 1600, &mut layout_rng.clone());
        let aspect = f64::from(nominal.image.height()) / 1600.0;
        let cap_per_w = f64::from(nominal.serial_cap_px.max(1.0)) / 1600.0;
        let mut label_w = if nominal.serial_cap_px > 0.0 {
            cap_target / cap_per_w
        } else {
            (rng.random_range(0.15..0.6) * aw * ah / aspect).sqrt()
        };
        let rotation = rotation_deg.to_radians();
        let tilt = tilt_deg.to_radians();
        // Shrink until the label fits its area (out-of-frame photos are pushed out below).
        loop {
            let (x0, y0, x1, y1) = bounds(&quad(
                (0.0, 0.0),
                label_w,
                aspect,
                rotation,
                tilt,
                tilt_axis,
            ));
            if (x1 - x0) <= aw * 0.94 && (y1 - y0) <= ah * 0.94 {
                break;
            }
            label_w *= 0.95;
        }
        let (x0, y0, x1, y1) = bounds(&quad(
            (0.0, 0.0),
            label_w,
            aspect,
            rotation,
            tilt,
            tilt_axis,
        ));
        let slack = (aw - (x1 - x0), ah - (y1 - y0));
        let mut centre = (
            ax + aw / 2.0 + rng.random_range(-0.45..0.45) * slack.0.max(0.0),
            ay + ah / 2.0 + rng.random_range(-0.45..0.45) * slack.1.max(0.0),
        );
        let canvas_w = ((label_w * 1.3) as u32).clamp(400, 3200);
        let mut draw_rng = layout_rng;
        let mut rendered = label::render(spec, fonts, canvas_w, &mut draw_rng);
        rng = draw_rng;
        let bg = spec.style.colours.map_or(Rgb([245, 245, 245]), |c| c.0);
        if *thermal_print {
            thermal(&mut rendered.image, bg, &mut rng);
        }
        if case == Case::Occluded
            && let Some(v) = rendered.value_box
            && rng.random_bool(0.6)
        {
            tape(&mut rendered.image, v, &mut rng);
            taped = true;
        }
        let (lw, lh) = (
            f64::from(rendered.image.width()),
            f64::from(rendered.image.height()),
        );
        let mut q = quad(centre, label_w, aspect, rotation, tilt, tilt_axis);
        if case == Case::OutOfFrame
            && let Some(b) = rendered.serial_box
        {
            // Push the label off the nearest frame edge until its serial field is out of frame.
            let to_photo =
                photo::Homography::from_points([(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)], q);
            let sb = photo_box(&to_photo, b, w, h);
            let (cx, cy) = ((sb[0] + sb[2]) / 2.0, (sb[1] + sb[3]) / 2.0);
            let margin = 4.0;
            let moves = [
                (-(sb[2] + margin), 0.0, cx),
                (w as f64 - sb[0] + margin, 0.0, w as f64 - cx),
                (0.0, -(sb[3] + margin), cy),
                (0.0, h as f64 - sb[1] + margin, h as f64 - cy),
            ];
            let (dx, dy, _) = moves.iter().copied().fold((0.0, 0.0, f64::MAX), |best, m| {
                if m.2 < best.2 { m } else { best }
            });
            centre = (centre.0 + dx, centre.1 + dy);
            q = quad(centre, label_w, aspect, rotation, tilt, tilt_axis);
        }
        photo::place_label(&mut canvas, &rendered.image, q);
        placed.push((q, label_w));
        let to_photo =
            photo::Homography::from_points([(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)], q);
        coverage += label_w * label_w * aspect / (w * h) as f64;
        texts.extend(crate::photo_texts(&to_photo, &rendered.texts));
        if let Some(b) = rendered.serial_box {
            serial_boxes.push(photo_box(&to_photo, b, w, h));
            caps.push(f64::from(rendered.serial_cap_px) * label_w / lw);
        }
        if let Some(v) = rendered.value_box {
            value_boxes.push(photo_box(&to_photo, v, w, h));
        }
        let spot = to_photo.map(
            lw * rng.random_range(0.15..0.85),
            lh * rng.random_range(0.15..0.85),
        );
        glare_spots.push((spot, label_w));
        let _ = colour;
    }

    let mut slip_serial = None;
    if case == Case::Slip
        && let Some(&(label_quad, label_w)) = placed.first()
    {
        let other = if rng.random_bool(0.5) {
            serials::neighbour(&device, rng.random_bool(0.5))
        } else {
            serials::wide_device(&mut rng)
        };
        let family = &fonts.families[rng.random_range(0..fonts.families.len())];
        let font = [&family.regular, &family.bold, &family.mono]
            .choose(&mut rng)
            .map(|f| (*f).clone())
            .unwrap_or_else(|| family.regular.clone());
        let caption = *["Serial No.:", "S/N:", "SN:", "Serial Number:"]
            .choose(&mut rng)
            .unwrap_or(&"S/N:");
        let slip = Slip {
            caption,
            serial: &other.full,
            font: &font,
            barcode: rng.random_bool(0.6),
        };
        let keep_clear: Vec<[f64; 4]> = serial_boxes.clone();
        if place_slip(
            &mut canvas,
            &mut rng,
            &slip,
            (label_quad, label_w),
            (rotation_deg, tilt_deg, tilt_axis),
            &keep_clear,
            &mut texts,
            &mut caps,
        ) {
            slip_serial = Some(other.full.clone());
        }
    }

    photo::uneven_light(&mut canvas, &mut rng);
    // Glare: away from the serial on legible photos; over the value on occluded ones (when no tape).
    let glare_over_value = case == Case::Occluded && !taped;
    if glare_over_value && let Some(v) = value_boxes.first() {
        let r = ((v[2] - v[0]).max(v[3] - v[1]) * rng.random_range(0.35..0.6)) as f32;
        photo::glare(
            &mut canvas,
            ((v[0] + v[2]) / 2.0) as f32,
            ((v[1] + v[3]) / 2.0) as f32,
            r,
            rng.random_range(230.0..320.0),
        );
    } else if rng.random_bool(0.45)
        && let Some(&((gx, gy), lw)) = glare_spots.first()
    {
        let r = lw * rng.random_range(0.05..0.14);
        let clear = serial_boxes.iter().all(|b| {
            let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
            let dx = (gx - cx).abs() - (b[2] - b[0]) / 2.0;
            let dy = (gy - cy).abs() - (b[3] - b[1]) / 2.0;
            dx.max(dy) > 2.5 * r
        });
        if clear || !legible {
            photo::glare(
                &mut canvas,
                gx as f32,
                gy as f32,
                r as f32,
                rng.random_range(50.0..140.0),
            );
        }
    }
    // Exposure: low light (dark and noisy), over-exposed, or normal.
    let (gain, noise): (f32, f32) = match rng.random_range(0..100) {
        _ if case == Case::LookAlike => (1.0, rng.random_range(1.0..2.5)),
        0..18 => (rng.random_range(0.35..0.6), rng.random_range(4.0..10.0)),
        18..28 => (rng.random_range(1.25..1.6), rng.random_range(1.0..3.0)),
        _ => (1.0, rng.random_range(1.0..3.5)),
    };
    // Glare that hides the serial is a blown highlight: dimming the photo must not bring the
    // print back.
    let gain = if glare_over_value {
        gain.max(1.0)
    } else {
        gain
    };
    photo::expose(&mut canvas, gain);

    let cap = caps.iter().copied().fold(f64::MAX, f64::min);
    let cap = if cap == f64::MAX { 20.0 } else { cap };
    let (blur_kind, blur_strength) = match case {
        Case::Blurred if rng.random_bool(0.5) => ("defocus", cap * rng.random_range(0.9..1.5)),
        Case::Blurred => ("motion", cap * rng.random_range(2.0..3.2)),
        Case::MildBlur => match rng.random_range(0..3) {
            0 => ("defocus", cap * rng.random_range(0.08..0.18)),
            1 => ("motion", cap * rng.random_range(0.15..0.35)),
            _ => ("shake", cap * rng.random_range(0.1..0.25)),
        },
        Case::LookAlike => ("defocus", rng.random_range(0.4..0.9)),
        _ => ("defocus", rng.random_range(0.4..1.2)),
    };
    match blur_kind {
        "motion" => photo::motion(
            &mut canvas,
            blur_strength as f32,
            rng.random_range(0.0..std::f32::consts::PI),
        ),
        "shake" => {
            // Hand shake: two short streaks at different angles.
            let a = rng.random_range(0.0..std::f32::consts::PI);
            photo::motion(&mut canvas, blur_strength as f32, a);
            photo::motion(
                &mut canvas,
                (blur_strength * 0.6) as f32,
                a + rng.random_range(0.8..2.3),
            );
        }
        _ => photo::defocus(&mut canvas, blur_strength as f32),
    }
    let lossless = plan.format != Format::Jpeg;
    photo::sensor_noise(
        &mut canvas,
        if lossless { noise.min(1.5) } else { noise },
        rng.random(),
    );
    let upright = photo::quantise(&canvas);
    let quality = match case {
        Case::LookAlike => rng.random_range(80..=95),
        _ => rng.random_range(40..=95),
    };
    let (stored_w, stored_h, bytes) = stored_bytes(upright, plan.format, plan.exif, quality);

    let first = &stickers[0].0;
    let mut printed: Vec<String> = stickers.iter().filter_map(|s| s.0.serial.clone()).collect();
    let slip_missing = case == Case::Slip && slip_serial.is_none();
    if slip_missing {
        eprintln!("gen_testdata: photo {index}: no place for the slip; the label alone");
    }
    printed.extend(slip_serial);
    let fmt_box = |b: &[f64; 4]| format!("{:.0} {:.0} {:.0} {:.0}", b[0], b[1], b[2], b[3]);
    let row = Row {
        photo: file_name(index, plan),
        reported_serial: device.full.clone(),
        printed_serial: printed.join("|"),
        // A slip that found no place leaves the label alone in the photo.
        expected_verdict: if slip_missing {
            "MATCH".to_string()
        } else {
            case.expected().to_string()
        },
        case: case.name().to_string(),
        blur_kind: blur_kind.to_string(),
        blur_strength_px: format!("{blur_strength:.2}"),
        width: stored_w,
        height: stored_h,
        rotation_deg: format!("{rotation_deg:.1}"),
        exif_orientation: plan.exif,
        format: format!("{:?}", plan.format).to_lowercase(),
        jpeg_quality: if lossless {
            String::new()
        } else {
            quality.to_string()
        },
        label_coverage: format!("{coverage:.3}"),
        serial_cap_px: if caps.is_empty() {
            String::new()
        } else {
            format!("{cap:.1}")
        },
        serial_box: serial_boxes
            .iter()
            .map(fmt_box)
            .collect::<Vec<_>>()
            .join("|"),
        caption: stickers
            .iter()
            .map(|s| s.0.caption.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        layout: first.layout.name().to_string(),
        font: fonts.families[first.family % fonts.families.len()]
            .name
            .clone(),
        sha256: hex(&Sha256::digest(&bytes)),
        label_colour: Some(stickers.iter().map(|s| s.1).collect::<Vec<_>>().join("|")),
        print: Some(
            stickers
                .iter()
                .map(|(s, _, t)| {
                    let mut p = Vec::new();
                    if *t {
                        p.push("thermal");
                    }
                    if s.style.spacing > 0.0 {
                        p.push("spaced");
                    }
                    if s.style.code_on_serial_line {
                        p.push("code-on-serial-line");
                    }
                    if s.style.wrap_model {
                        p.push("wrapped-model");
                    }
                    if s.mono_serial {
                        p.push("mono-serial");
                    }
                    if p.is_empty() {
                        "plain".to_string()
                    } else {
                        p.join("+")
                    }
                })
                .collect::<Vec<_>>()
                .join("|"),
        ),
        tilt_deg: Some(format!("{tilt_deg:.1}")),
        exposure: Some(format!("{gain:.2}")),
    };
    let codes = stickers
        .iter()
        .map(|s| s.0.verification_code.clone())
        .collect();
    crate::Rendered {
        bytes,
        row,
        texts,
        codes,
    }
}

/// What a slip carries ([`label::render_slip`]).
struct Slip<'a> {
    caption: &'a str,
    serial: &'a str,
    font: &'a ab_glyph::FontArc,
    barcode: bool,
}

/// Lays `slip` over or beside the label at `label` (its quad and width), turned and tilted about
/// as the label is (`pose`: rotation and tilt in degrees, tilt axis in radians), clear of the
/// boxes in `keep_clear` and inside the frame, its serial's capitals at least 14 px tall. Adds
/// its text and serial capitals to `texts` and `caps`. Returns whether it found a place.
#[allow(clippy::too_many_arguments)]
fn place_slip(
    canvas: &mut photo::Plane,
    rng: &mut ChaCha8Rng,
    slip: &Slip<'_>,
    label: ([(f64, f64); 4], f64),
    pose: (f64, f64, f64),
    keep_clear: &[[f64; 4]],
    texts: &mut Vec<crate::PhotoText>,
    caps: &mut Vec<f64>,
) -> bool {
    let (label_quad, label_w) = label;
    let (w, h) = (canvas.w as f64, canvas.h as f64);
    let (lx0, ly0, lx1, ly1) = bounds(&label_quad);
    let rotation = (pose.0 + rng.random_range(-8.0..8.0)).to_radians();
    let tilt = pose.1.to_radians();
    let mut slip_w = label_w * rng.random_range(0.5..0.85);
    let canvas_w = ((slip_w * 1.3) as u32).clamp(300, 2400);
    let rendered = label::render_slip(
        slip.caption,
        slip.serial,
        slip.font,
        slip.barcode,
        canvas_w,
        rng,
    );
    let (sw, sh) = (
        f64::from(rendered.image.width()),
        f64::from(rendered.image.height()),
    );
    let aspect = sh / sw;
    let cap_per_w = f64::from(rendered.serial_cap_px) / sw;
    if cap_per_w * slip_w < 14.0 {
        slip_w = 14.0 / cap_per_w.max(1e-6);
    }
    // Over the label or anywhere in the frame, by turns; smaller after every 60 tries (its
    // capitals kept at 14 px or more).
    let min_w = 14.0 / cap_per_w.max(1e-6);
    for attempt in 0..240 {
        if attempt % 60 == 59 {
            slip_w = (slip_w * 0.8).max(min_w);
        }
        let over_label = attempt % 2 == 0;
        let centre = if over_label {
            (
                rng.random_range(lx0..lx1.max(lx0 + 1.0)),
                rng.random_range(ly0..ly1.max(ly0 + 1.0)),
            )
        } else {
            (rng.random_range(0.0..w), rng.random_range(0.0..h))
        };
        let q = quad(centre, slip_w, aspect, rotation, tilt, pose.2);
        let (x0, y0, x1, y1) = bounds(&q);
        let inside = x0 >= 2.0 && y0 >= 2.0 && x1 <= w - 2.0 && y1 <= h - 2.0;
        let clear = keep_clear
            .iter()
            .all(|b| x1 < b[0] - 4.0 || x0 > b[2] + 4.0 || y1 < b[1] - 4.0 || y0 > b[3] + 4.0);
        if inside && clear {
            photo::place_label(canvas, &rendered.image, q);
            let to_photo =
                photo::Homography::from_points([(0.0, 0.0), (sw, 0.0), (sw, sh), (0.0, sh)], q);
            texts.extend(crate::photo_texts(&to_photo, &rendered.texts));
            caps.push(f64::from(rendered.serial_cap_px) * slip_w / sw);
            return true;
        }
    }
    false
}
