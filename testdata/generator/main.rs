//! Generates `testdata/`: realistic, seeded phone photos of device labels with a ground-truth
//! manifest.
//!
//! ```text
//! cargo run --release --example gen_testdata -- [--set testdata|validation|tuning|sweep|tampered]
//!     [--seed N] [--count N] [--out DIR] [--only I,J,..] [--verify] [--lines]
//! ```
//! `testdata` (the default) is the committed CI fixture. The wider sets (`wide.rs`) go to
//! `target/labelsets/<set>/` unless `--out` says otherwise: `validation` (600 photos by default;
//! measured, never tuned against), `tuning` (a split to fit on), `sweep` (look-alike labels) and
//! `training` (photos the OCR model is trained on, `training/`). `--lines` also writes
//! `DIR/lines.jsonl`: every piece of text drawn on each photo and where it lands.
//! Each set's `verification_codes.csv` lists the secret codes its labels print.
//! The same seed gives byte-identical files (`--verify` regenerates photos in memory and compares
//! them with the SHA-256 recorded in `DIR/manifest.csv`, and the codes with that file). Each photo draws from its own RNG
//! (ChaCha8 seeded by the seed and its index) and from position hashes, so the thread count does
//! not matter.

// Pixel loops index several buffers in step; ranges read more clearly there than zips.
#![allow(clippy::needless_range_loop)]

mod label;
mod photo;
mod serials;
mod wide;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use label::{CAPTIONS, LabelSpec, Layout};
use serials::Device;

const DEFAULT_SEED: u64 = 20_260_415;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    FullMatch,
    ShortMatch,
    Neighbour,
    Transposed,
    OtherDevice,
    Blurred,
    MildBlur,
    NoSerial,
    TwoSerials,
    Rotated90,
    Rotated180,
    /// The verification code printed on the serial's own line (wider sets).
    CodeBesideSerial,
    /// The label's serial field outside the frame (wider sets).
    OutOfFrame,
    /// Tape or glare over the serial value (wider sets).
    Occluded,
    /// The printed serial one look-alike away from the reported one (the sweep).
    LookAlike,
    /// The text shows the reported serial, a code on the label a neighbour's (the tampered set).
    Tampered,
    /// The label shows the reported serial; a slip or sticker laid over or beside it shows
    /// another device's (wider sets and the slips set).
    Slip,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::FullMatch => "full_match",
            Case::ShortMatch => "short_match",
            Case::Neighbour => "neighbour",
            Case::Transposed => "transposed",
            Case::OtherDevice => "other_device",
            Case::Blurred => "blurred_illegible",
            Case::MildBlur => "mild_blur",
            Case::NoSerial => "no_serial",
            Case::TwoSerials => "two_serials",
            Case::Rotated90 => "rotated_90",
            Case::Rotated180 => "rotated_180",
            Case::CodeBesideSerial => "code_beside_serial",
            Case::OutOfFrame => "out_of_frame",
            Case::Occluded => "occluded",
            Case::LookAlike => "lookalike",
            Case::Tampered => "tampered",
            Case::Slip => "slip",
        }
    }

    /// The right verdict; `A|B` where either is right.
    fn expected(self) -> &'static str {
        match self {
            Case::FullMatch
            | Case::ShortMatch
            | Case::MildBlur
            | Case::Rotated90
            | Case::Rotated180
            | Case::CodeBesideSerial => "MATCH",
            Case::OutOfFrame => "NOT_FOUND|INCONCLUSIVE",
            Case::Occluded => "INCONCLUSIVE|NOT_FOUND|BLURRY",
            Case::LookAlike | Case::Tampered => "MISMATCH|INCONCLUSIVE",
            Case::Neighbour | Case::Transposed | Case::OtherDevice => "MISMATCH",
            Case::Blurred => "BLURRY",
            Case::NoSerial => "NOT_FOUND",
            Case::TwoSerials | Case::Slip => "INCONCLUSIVE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg,
    Png,
    Webp,
}

/// One planned photo: its case, format, size and EXIF orientation.
#[derive(Debug, Clone, Copy)]
struct Plan {
    case: Case,
    format: Format,
    size: (usize, usize),
    exif: u16,
}

/// The fixed list of photos. Photo 0 is the 12 MP and photo 1 the 2 MP benchmark input.
fn plan() -> Vec<Plan> {
    use Case::*;
    let counts = [
        (FullMatch, 12),
        (ShortMatch, 10),
        (Neighbour, 10),
        (Transposed, 6),
        (OtherDevice, 6),
        (Blurred, 10),
        (MildBlur, 8),
        (NoSerial, 6),
        (TwoSerials, 6),
        (Rotated90, 6),
        (Rotated180, 4),
    ];
    // Sizes cycle through this list (4:3 phone resolutions), weighted towards the small ones that
    // keep the set under 30 MB; the first entries pin the benchmark photos.
    let sizes = [
        (4032, 3024),
        (1600, 1200),
        (1280, 960),
        (2048, 1536),
        (1280, 960),
        (1600, 1200),
        (2592, 1944),
        (1280, 960),
        (1920, 1440),
        (1280, 960),
        (1600, 1200),
        (3264, 2448),
        (1280, 960),
        (2048, 1536),
    ];
    let mut cases = Vec::new();
    // Interleave cases so each size sees every case.
    let mut remaining: Vec<(Case, usize)> = counts.to_vec();
    while remaining.iter().any(|(_, n)| *n > 0) {
        for (case, n) in remaining.iter_mut() {
            if *n > 0 {
                cases.push(*case);
                *n -= 1;
            }
        }
    }
    let mut plans: Vec<Plan> = cases
        .iter()
        .enumerate()
        .map(|(i, &case)| {
            let (w, h) = sizes[i % sizes.len()];
            // Every fifth photo is portrait, as phones hold them.
            let size = if i % 5 == 3 { (h, w) } else { (w, h) };
            Plan {
                case,
                format: Format::Jpeg,
                size,
                exif: 1,
            }
        })
        .collect();
    // A few phones store the sensor's pixels and record the rotation in EXIF.
    for (i, exif) in [(12usize, 6u16), (25, 8), (38, 3), (51, 6)] {
        if let Some(p) = plans.get_mut(i) {
            p.exif = exif;
        }
    }
    // Photo 11 pinned to 12 MP (second large sample); PNG and WebP samples at the end.
    plans.push(Plan {
        case: FullMatch,
        format: Format::Png,
        size: (1280, 960),
        exif: 1,
    });
    plans.push(Plan {
        case: ShortMatch,
        format: Format::Webp,
        size: (1280, 960),
        exif: 1,
    });
    plans
}

/// Ground truth for one photo (one manifest row).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Row {
    photo: String,
    reported_serial: String,
    printed_serial: String,
    expected_verdict: String,
    case: String,
    blur_kind: String,
    blur_strength_px: String,
    width: usize,
    height: usize,
    rotation_deg: String,
    exif_orientation: u16,
    format: String,
    jpeg_quality: String,
    label_coverage: String,
    serial_cap_px: String,
    serial_box: String,
    caption: String,
    layout: String,
    font: String,
    sha256: String,
    /// Wider sets only: label colour(s) (`white`, `silver`, `yellow`, `black`, `grey-print`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label_colour: Option<String>,
    /// Wider sets only: print variations (`thermal+spaced+...`, `plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    print: Option<String>,
    /// Wider sets only: perspective tilt, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tilt_deg: Option<String>,
    /// Wider sets only: exposure gain (below 1 is low light, above over-exposed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exposure: Option<String>,
}

struct Sticker {
    spec: LabelSpec,
    device: Device,
}

fn sticker<R: Rng>(rng: &mut R, device: &Device, printed: Option<String>) -> Sticker {
    let caption = CAPTIONS.choose(rng).unwrap_or(&"S/N:").to_string();
    let spec = LabelSpec {
        brand: "HIKVISION",
        product_line: device.product_line.to_string(),
        model: device.model.clone(),
        barcode: printed.as_ref().map(|_| device.full.clone()),
        serial: printed,
        caption,
        value_below: rng.random_bool(0.35),
        verification_code: serials::verification_code(rng),
        mac: rng.random_bool(0.4).then(|| serials::mac(rng)),
        power: [
            "Power: 12V DC 0.5A",
            "12V DC / PoE (802.3af)",
            "Power Supply: PoE 6.5W max",
            "DC 12V 1A",
        ]
        .choose(rng)
        .copied()
        .unwrap_or("DC 12V 1A"),
        layout: if rng.random_bool(0.5) {
            Layout::OneColumn
        } else {
            Layout::TwoColumn
        },
        silver: rng.random_bool(0.3),
        family: rng.random_range(0..3),
        mono_serial: rng.random_bool(0.4),
        qr: String::new(),
        style: label::Style::default(),
    };
    let qr = format!("{}:{}", device.full, spec.verification_code);
    Sticker {
        spec: LabelSpec { qr, ..spec },
        device: device.clone(),
    }
}

fn rotate_point((x, y): (f64, f64), angle: f64) -> (f64, f64) {
    let (s, c) = angle.sin_cos();
    (x * c - y * s, x * s + y * c)
}

/// Where one label lands: its quad (TL, TR, BR, BL) in upright photo pixels.
struct Placement {
    quad: [(f64, f64); 4],
    label_w: f64,
}

/// Chooses the label's on-photo width (px) and places it rotated, in perspective, inside `area`.
fn place<R: Rng>(
    rng: &mut R,
    area: (f64, f64, f64, f64),
    aspect: f64,
    mut label_w: f64,
    rotation: f64,
) -> Placement {
    let (ax, ay, aw, ah) = area;
    let (s, c) = (rotation.sin().abs(), rotation.cos().abs());
    loop {
        let label_h = label_w * aspect;
        let bw = label_w * c + label_h * s;
        let bh = label_w * s + label_h * c;
        if bw <= aw * 0.92 && bh <= ah * 0.92 {
            break;
        }
        label_w *= 0.95;
    }
    let label_h = label_w * aspect;
    let bw = label_w * c + label_h * s;
    let bh = label_w * s + label_h * c;
    let cx = ax + aw / 2.0 + rng.random_range(-0.5..0.5) * (aw * 0.94 - bw).max(0.0);
    let cy = ay + ah / 2.0 + rng.random_range(-0.5..0.5) * (ah * 0.94 - bh).max(0.0);
    let jitter = 0.035 * label_w.hypot(label_h) * 0.5;
    let keystone = rng.random_range(-0.06..0.06);
    let corners = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)];
    let mut quad = [(0.0, 0.0); 4];
    for (q, (u, v)) in quad.iter_mut().zip(corners) {
        // Keystone: the top edge narrower or wider than the bottom, as when the phone is tilted.
        let (x, y) = (u * label_w * (1.0 + keystone * v * 2.0), v * label_h);
        let (x, y) = rotate_point((x, y), rotation);
        *q = (
            cx + x + rng.random_range(-jitter..jitter),
            cy + y + rng.random_range(-jitter..jitter),
        );
    }
    Placement { quad, label_w }
}

struct Rendered {
    bytes: Vec<u8>,
    row: Row,
    /// The text drawn on the photo's labels (written to `lines.jsonl` with `--lines`).
    texts: Vec<PhotoText>,
    /// The verification codes printed on the photo's labels (`verification_codes.csv`).
    codes: Vec<String>,
}

/// One piece of text as it lands in the upright photo: the line through the middle of its type
/// size from where the text starts to where it ends, and the type size, photo pixels.
#[derive(Debug, Clone, serde::Serialize)]
struct PhotoText {
    text: String,
    from: [f64; 2],
    to: [f64; 2],
    size: f64,
}

/// `texts` (label pixels) mapped into the photo by `to_photo`.
fn photo_texts(to_photo: &photo::Homography, texts: &[label::TextItem]) -> Vec<PhotoText> {
    texts
        .iter()
        .map(|t| {
            let [x0, y0, x1, y1] = t.bbox.map(f64::from);
            let ym = (y0 + y1) / 2.0;
            let (a, b) = (to_photo.map(x0, ym), to_photo.map(x1, ym));
            let xm = (x0 + x1) / 2.0;
            let (top, bottom) = (to_photo.map(xm, y0), to_photo.map(xm, y1));
            PhotoText {
                text: t.text.clone(),
                from: [a.0, a.1],
                to: [b.0, b.1],
                size: (top.0 - bottom.0).hypot(top.1 - bottom.1),
            }
        })
        .collect()
}

/// The box `b` (x0, y0, x1, y1 in label pixels) mapped into the photo and clipped to its frame.
fn photo_box(to_photo: &photo::Homography, b: [f32; 4], w: usize, h: usize) -> [f64; 4] {
    let [x0, y0, x1, y1] = b;
    let pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        .map(|(x, y)| to_photo.map(f64::from(x), f64::from(y)));
    let bx0 = pts.iter().map(|p| p.0).fold(f64::MAX, f64::min).max(0.0);
    let by0 = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min).max(0.0);
    let bx1 = pts
        .iter()
        .map(|p| p.0)
        .fold(f64::MIN, f64::max)
        .min(w as f64);
    let by1 = pts
        .iter()
        .map(|p| p.1)
        .fold(f64::MIN, f64::max)
        .min(h as f64);
    [bx0, by0, bx1, by1]
}

/// The upright photo stored as the phone would: its pixels turned so that applying the EXIF
/// orientation makes them upright again, encoded. Returns (stored width, height, bytes).
fn stored_bytes(
    upright: image::RgbImage,
    format: Format,
    exif: u16,
    quality: i32,
) -> (usize, usize, Vec<u8>) {
    let stored = match exif {
        6 => image::imageops::rotate270(&upright),
        8 => image::imageops::rotate90(&upright),
        3 => image::imageops::rotate180(&upright),
        _ => upright,
    };
    let bytes = match format {
        Format::Jpeg => {
            let jpeg = photo::encode_jpeg(&stored, quality);
            if exif != 1 {
                photo::with_exif(&jpeg, exif)
            } else {
                jpeg
            }
        }
        Format::Png => encode_with_image(&stored, image::ImageFormat::Png),
        Format::Webp => encode_with_image(&stored, image::ImageFormat::WebP),
    };
    (stored.width() as usize, stored.height() as usize, bytes)
}

/// The file beside the manifest listing each photo's verification codes (`photo,code`, one row
/// per label): the secrets that tests assert never leave labelcheck as text.
const CODES_FILE: &str = "verification_codes.csv";

/// [`CODES_FILE`]'s text for `rendered`, in photo order.
fn codes_csv(rendered: &[Rendered]) -> String {
    let mut out = String::from("photo,verification_code\n");
    for r in rendered {
        for code in &r.codes {
            let _ = writeln!(out, "{},{code}", r.row.photo);
        }
    }
    out
}

fn photo_rng(seed: u64, index: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn file_name(index: usize, case: Case, format: Format) -> String {
    let ext = match format {
        Format::Jpeg => "jpg",
        Format::Png => "png",
        Format::Webp => "webp",
    };
    format!("{index:03}_{}.{ext}", case.name())
}

/// Renders photo `index` of the plan.
fn render(seed: u64, index: usize, plan: &Plan, fonts: &label::Fonts) -> Rendered {
    let mut rng = photo_rng(seed, index);
    let case = plan.case;
    let device = serials::device(&mut rng);
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
    let mut stickers = Vec::new();
    match case {
        Case::Neighbour => {
            let n = serials::neighbour(&device, rng.random_bool(0.5));
            stickers.push(sticker(&mut rng, &n, Some(printed_of(&n))));
        }
        Case::Transposed => {
            let t = serials::transposed(&device, &mut rng);
            stickers.push(sticker(&mut rng, &t, Some(printed_of(&t))));
        }
        Case::OtherDevice => {
            let other = serials::device(&mut rng);
            stickers.push(sticker(&mut rng, &other, Some(printed_of(&other))));
        }
        Case::NoSerial => stickers.push(sticker(&mut rng, &device, None)),
        Case::TwoSerials => {
            stickers.push(sticker(&mut rng, &device, Some(printed_of(&device))));
            let other = if rng.random_bool(0.5) {
                serials::neighbour(&device, true)
            } else {
                serials::device(&mut rng)
            };
            stickers.push(sticker(&mut rng, &other, Some(printed_of(&other))));
        }
        _ => stickers.push(sticker(&mut rng, &device, Some(printed_of(&device)))),
    }

    let (w, h) = plan.size;
    let mut canvas = photo::background(w, h, &mut rng);
    let rotation_deg: f64 = match case {
        Case::Rotated90 => {
            *[90.0, -90.0].choose(&mut rng).unwrap_or(&90.0) + rng.random_range(-6.0..6.0)
        }
        Case::Rotated180 => 180.0 + rng.random_range(-6.0..6.0),
        _ if rng.random_bool(0.7) => rng.random_range(-8.0..8.0),
        _ => rng.random_range(-15.0..15.0),
    };
    let legible = !matches!(case, Case::Blurred);
    let frame_area = (w * h) as f64;
    let coverage_target = match stickers.len() {
        1 => rng.random_range(0.15..0.8),
        _ => rng.random_range(0.15..0.35),
    };
    // Areas: one label uses the whole frame; two labels split it side by side.
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
    let mut caps = Vec::new();
    let mut coverage = 0.0;
    let mut glare_spots = Vec::new();
    for (sticker, area) in stickers.iter().zip(&areas) {
        // A first render at a nominal width gives the aspect ratio and the serial's cap height.
        let layout_rng = rng.clone();
        let nominal = label::render(&sticker.spec, fonts, 1600, &mut layout_rng.clone());
        let aspect = f64::from(nominal.image.height()) / 1600.0;
        let mut label_w = (coverage_target * frame_area / aspect).sqrt();
        // Legible photos keep the serial's capitals at least 14 px tall in the photo.
        let cap_at = |lw: f64| f64::from(nominal.serial_cap_px) * lw / 1600.0;
        if legible && nominal.serial_cap_px > 0.0 && cap_at(label_w) < 14.0 {
            label_w = 14.0 / f64::from(nominal.serial_cap_px) * 1600.0;
        }
        let placement = place(&mut rng, *area, aspect, label_w, rotation_deg.to_radians());
        // Render again at ~1.3× the on-photo size, with the same random draws, for clean edges.
        let canvas_w = ((placement.label_w * 1.3) as u32).clamp(400, 3200);
        let mut draw_rng = layout_rng;
        let rendered = label::render(&sticker.spec, fonts, canvas_w, &mut draw_rng);
        rng = draw_rng;
        photo::place_label(&mut canvas, &rendered.image, placement.quad);
        let (lw, lh) = (
            f64::from(rendered.image.width()),
            f64::from(rendered.image.height()),
        );
        let to_photo = photo::Homography::from_points(
            [(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)],
            placement.quad,
        );
        coverage += placement.label_w * placement.label_w * aspect / frame_area;
        if let Some(b) = rendered.serial_box {
            serial_boxes.push(photo_box(&to_photo, b, w, h));
            caps.push(f64::from(rendered.serial_cap_px) * placement.label_w / lw);
        }
        // Candidate glare spot on the label, away from its serial field.
        let centre = to_photo.map(
            lw * rng.random_range(0.15..0.85),
            lh * rng.random_range(0.15..0.85),
        );
        glare_spots.push((centre, placement.label_w));
    }

    photo::uneven_light(&mut canvas, &mut rng);
    if rng.random_bool(0.55)
        && let Some(&((gx, gy), lw)) = glare_spots.first()
    {
        let r = lw * rng.random_range(0.06..0.14);
        // Keep clear of the serial field on photos that should be legible.
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
                rng.random_range(50.0..120.0),
            );
        }
    }

    let cap = caps.iter().copied().fold(f64::MAX, f64::min);
    let cap = if cap == f64::MAX { 20.0 } else { cap };
    let (blur_kind, blur_strength) = match case {
        Case::Blurred if rng.random_bool(0.5) => ("defocus", cap * rng.random_range(0.9..1.5)),
        Case::Blurred => ("motion", cap * rng.random_range(2.0..3.2)),
        Case::MildBlur if rng.random_bool(0.5) => ("defocus", cap * rng.random_range(0.10..0.18)),
        Case::MildBlur => ("motion", cap * rng.random_range(0.2..0.35)),
        _ => ("defocus", rng.random_range(0.5..1.0)),
    };
    match blur_kind {
        "motion" => photo::motion(
            &mut canvas,
            blur_strength as f32,
            rng.random_range(0.0..std::f32::consts::PI),
        ),
        _ => photo::defocus(&mut canvas, blur_strength as f32),
    }
    let lossless = plan.format != Format::Jpeg;
    let sigma = if lossless {
        0.6
    } else {
        rng.random_range(1.0..3.0)
    };
    photo::sensor_noise(&mut canvas, sigma, rng.random());
    let upright = photo::quantise(&canvas);

    let quality = rng.random_range(60..=95);
    let (stored_w, stored_h, bytes) = stored_bytes(upright, plan.format, plan.exif, quality);

    let first = &stickers[0];
    let printed: Vec<String> = stickers
        .iter()
        .filter_map(|s| s.spec.serial.clone())
        .collect();
    let fmt_box = |b: &[f64; 4]| format!("{:.0} {:.0} {:.0} {:.0}", b[0], b[1], b[2], b[3]);
    let row = Row {
        photo: file_name(index, plan.case, plan.format),
        reported_serial: device.full.clone(),
        printed_serial: printed.join("|"),
        expected_verdict: case.expected().to_string(),
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
            .map(|s| s.spec.caption.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        layout: first.spec.layout.name().to_string(),
        font: fonts.families[first.spec.family % fonts.families.len()]
            .name
            .clone(),
        sha256: hex(&Sha256::digest(&bytes)),
        label_colour: None,
        print: None,
        tilt_deg: None,
        exposure: None,
    };
    let _ = &first.device;
    Rendered {
        bytes,
        row,
        texts: Vec::new(),
        codes: stickers
            .iter()
            .map(|s| s.spec.verification_code.clone())
            .collect(),
    }
}

fn encode_with_image(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .unwrap_or_else(|e| panic!("encode {format:?}: {e}"));
    out.into_inner()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

struct Args {
    set: Option<wide::Set>,
    seed: Option<u64>,
    count: usize,
    out: Option<PathBuf>,
    only: Option<Vec<usize>>,
    verify: bool,
    lines: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        set: None,
        seed: None,
        count: 600,
        out: None,
        only: None,
        verify: false,
        lines: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--set" => {
                let name = it
                    .next()
                    .expect("--set takes testdata, validation, tuning, sweep or tampered");
                args.set = match name.as_str() {
                    "testdata" => None,
                    other => Some(wide::Set::parse(other).unwrap_or_else(|| {
                        panic!(
                            "unknown set {other}: testdata, validation, tuning, sweep or tampered"
                        )
                    })),
                };
            }
            "--seed" => {
                args.seed = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .expect("--seed takes a number"),
                )
            }
            "--count" => {
                args.count = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--count takes a number")
            }
            "--out" => args.out = Some(PathBuf::from(it.next().expect("--out takes a folder"))),
            "--only" => {
                let list = it.next().expect("--only takes indices like 0,3,7");
                args.only = Some(
                    list.split(',')
                        .map(|v| v.trim().parse().expect("index"))
                        .collect(),
                );
            }
            "--verify" => args.verify = true,
            "--lines" => args.lines = true,
            other => panic!(
                "unknown argument {other}; see the doc comment of testdata/generator/main.rs"
            ),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (out, count, render_one): (PathBuf, usize, Box<dyn Fn(usize) -> Rendered + Sync>) =
        match args.set {
            None => {
                let fonts = label::Fonts::load(&root.join("testdata/generator/fonts"));
                let plans = plan();
                let seed = args.seed.unwrap_or(DEFAULT_SEED);
                (
                    args.out.clone().unwrap_or_else(|| root.join("testdata")),
                    plans.len(),
                    Box::new(move |i| render(seed, i, &plans[i], &fonts)),
                )
            }
            Some(set) => {
                let fonts = wide::system_fonts();
                let seed = args.seed.unwrap_or(set.default_seed());
                let plans = wide::plan(set, seed, args.count);
                (
                    args.out
                        .clone()
                        .unwrap_or_else(|| root.join("target/labelsets").join(set.name())),
                    plans.len(),
                    Box::new(move |i| wide::render(seed, i, &plans[i], &fonts)),
                )
            }
        };
    let indices: Vec<usize> = args.only.clone().unwrap_or_else(|| (0..count).collect());
    let manifest_path = out.join("manifest.csv");

    if args.verify {
        let mut reader = csv::Reader::from_path(&manifest_path).expect("read manifest");
        let rows: Vec<Row> = reader
            .deserialize()
            .map(|r| r.expect("manifest row"))
            .collect();
        let mut all: Vec<Rendered> = indices
            .par_iter()
            .map(|&i| {
                let mut r = render_one(i);
                r.bytes = Vec::new();
                r
            })
            .collect();
        all.sort_by(|a, b| a.row.photo.cmp(&b.row.photo));
        let mut failures: Vec<String> = all
            .iter()
            .filter_map(|got| {
                let Some(want) = rows.iter().find(|r| r.photo == got.row.photo) else {
                    return Some(format!("{}: not in the manifest", got.row.photo));
                };
                (want.sha256 != got.row.sha256)
                    .then(|| format!("{}: {} != {}", want.photo, got.row.sha256, want.sha256))
            })
            .collect();
        let codes = std::fs::read_to_string(out.join(CODES_FILE)).unwrap_or_default();
        if args.only.is_none() && codes != codes_csv(&all) {
            failures.push(format!("{CODES_FILE}: not the codes the photos carry"));
        }
        if failures.is_empty() {
            println!(
                "verified {} photos: identical to {}",
                indices.len(),
                manifest_path.display()
            );
            return;
        }
        eprintln!("{}", failures.join("\n"));
        std::process::exit(1);
    }

    std::fs::create_dir_all(&out).expect("create output folder");
    let mut rendered: Vec<Rendered> = indices
        .par_iter()
        .map(|&i| {
            let r = render_one(i);
            std::fs::write(out.join(&r.row.photo), &r.bytes).expect("write photo");
            r
        })
        .collect();
    rendered.sort_by(|a, b| a.row.photo.cmp(&b.row.photo));
    if args.only.is_none() {
        let mut writer = csv::Writer::from_path(&manifest_path).expect("write manifest");
        for r in &rendered {
            writer.serialize(&r.row).expect("manifest row");
        }
        writer.flush().expect("flush manifest");
        std::fs::write(out.join(CODES_FILE), codes_csv(&rendered)).expect("write codes");
    }
    if args.lines {
        let mut out_lines = String::new();
        for r in &rendered {
            let row = serde_json::json!({"photo": r.row.photo, "texts": r.texts});
            out_lines.push_str(&row.to_string());
            out_lines.push('\n');
        }
        std::fs::write(out.join("lines.jsonl"), out_lines).expect("write lines.jsonl");
    }
    let total: usize = rendered.iter().map(|r| r.bytes.len()).sum();
    println!(
        "wrote {} photos, {:.1} MB, to {}",
        rendered.len(),
        total as f64 / 1e6,
        out.display()
    );
}
