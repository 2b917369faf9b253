//! Renders a device label (the sticker itself, flat and upright) as an RGB image.
//!
//! Content follows real Hikvision stickers: brand, product line, `Model:` line, the serial line in
//! one of several spellings (value on the same line or under the caption), a Code 128 barcode of
//! the serial, a QR code, a `Verification Code:` line, power and regulatory text.

use ab_glyph::{Font, FontArc, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;
use rand::Rng;
use rand::seq::IndexedRandom;

/// Font families bundled in `fonts/` (regular, bold, mono).
pub struct Fonts {
    pub families: Vec<Family>,
}

pub struct Family {
    pub name: &'static str,
    pub regular: FontArc,
    pub bold: FontArc,
    pub mono: FontArc,
}

fn load(dir: &std::path::Path, file: &str) -> FontArc {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FontArc::try_from_vec(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Fonts {
    pub fn load(dir: &std::path::Path) -> Fonts {
        let dejavu_mono = load(dir, "DejaVuSansMono.ttf");
        let liberation_mono = load(dir, "LiberationMono-Regular.ttf");
        Fonts {
            families: vec![
                Family {
                    name: "dejavu",
                    regular: load(dir, "DejaVuSans.ttf"),
                    bold: load(dir, "DejaVuSans-Bold.ttf"),
                    mono: dejavu_mono.clone(),
                },
                Family {
                    name: "dejavu-condensed",
                    regular: load(dir, "DejaVuSans.ttf"),
                    bold: load(dir, "DejaVuSansCondensed-Bold.ttf"),
                    mono: dejavu_mono,
                },
                Family {
                    name: "liberation",
                    regular: load(dir, "LiberationSans-Regular.ttf"),
                    bold: load(dir, "LiberationSans-Bold.ttf"),
                    mono: liberation_mono,
                },
            ],
        }
    }
}

/// Serial-line spellings seen on labels.
pub const CAPTIONS: &[&str] = &[
    "S/N:",
    "SN:",
    "Serial No.:",
    "SerialNo:",
    "Serial Number:",
    "S/N",
    "SN",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    OneColumn,
    TwoColumn,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::OneColumn => "one-column",
            Layout::TwoColumn => "two-column",
        }
    }
}

/// What a label says.
#[derive(Debug, Clone)]
pub struct LabelSpec {
    pub brand: &'static str,
    pub product_line: String,
    pub model: String,
    /// The printed serial (full or short), or `None` for a label with no serial field.
    pub serial: Option<String>,
    /// What the barcode encodes (normally the full serial).
    pub barcode: Option<String>,
    pub caption: &'static str,
    pub value_below: bool,
    pub verification_code: String,
    pub mac: Option<String>,
    pub power: &'static str,
    pub layout: Layout,
    pub silver: bool,
    pub family: usize,
    pub mono_serial: bool,
    pub qr: String,
}

/// A rendered label and where its serial field is.
pub struct RenderedLabel {
    pub image: RgbImage,
    /// Serial field (caption and value) as x0, y0, x1, y1 in label pixels.
    pub serial_box: Option<[f32; 4]>,
    /// Cap height of the serial value's letters, in label pixels.
    pub serial_cap_px: f32,
}

struct Canvas {
    image: RgbImage,
    ink: Rgb<u8>,
}

fn cap_height(font: &FontArc, scale: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(scale));
    let glyph = scaled.scaled_glyph('H');
    font.outline_glyph(glyph)
        .map(|g| g.px_bounds().height())
        .unwrap_or(scale * 0.7)
}

impl Canvas {
    /// Draws `text` with its top at `y`, shrinking the size to fit `max_w`; returns (w, h) drawn.
    fn text(
        &mut self,
        font: &FontArc,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        max_w: f32,
    ) -> (f32, f32) {
        let mut size = size;
        let (mut w, mut h) = text_size(PxScale::from(size), font, text);
        if w as f32 > max_w {
            size *= max_w / w as f32;
            (w, h) = text_size(PxScale::from(size), font, text);
        }
        let ink = self.ink;
        draw_text_mut(
            &mut self.image,
            ink,
            x as i32,
            y as i32,
            PxScale::from(size),
            font,
            text,
        );
        let _ = h;
        (w as f32, size)
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb<u8>) {
        if w >= 1.0 && h >= 1.0 {
            draw_filled_rect_mut(
                &mut self.image,
                Rect::at(x as i32, y as i32).of_size(w as u32, h as u32),
                colour,
            );
        }
    }

    fn barcode(&mut self, data: &str, x: f32, y: f32, max_w: f32, h: f32) -> f32 {
        let Ok(code) = barcoders::sym::code128::Code128::new(format!("\u{0181}{data}")) else {
            return 0.0;
        };
        let modules = code.encode();
        let module_w = (max_w / modules.len() as f32).max(1.0);
        let ink = self.ink;
        let mut run_start = None;
        for (i, &m) in modules.iter().chain(std::iter::once(&0)).enumerate() {
            match (m, run_start) {
                (1, None) => run_start = Some(i),
                (0, Some(s)) => {
                    let x0 = x + s as f32 * module_w;
                    let x1 = x + i as f32 * module_w;
                    self.rect(x0.round(), y, (x1.round() - x0.round()).max(1.0), h, ink);
                    run_start = None;
                }
                _ => {}
            }
        }
        modules.len() as f32 * module_w
    }

    fn qr(&mut self, data: &str, x: f32, y: f32, size: f32) {
        let Ok(code) = qrcode::QrCode::new(data.as_bytes()) else {
            return;
        };
        let n = code.width();
        let colours = code.to_colors();
        let module = size / (n as f32 + 2.0);
        let ink = self.ink;
        for (i, c) in colours.iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (cx, cy) = ((i % n) as f32 + 1.0, (i / n) as f32 + 1.0);
                let x0 = (x + cx * module).round();
                let y0 = (y + cy * module).round();
                let x1 = (x + (cx + 1.0) * module).round();
                let y1 = (y + (cy + 1.0) * module).round();
                self.rect(x0, y0, x1 - x0, y1 - y0, ink);
            }
        }
    }
}

/// Renders the label `width` pixels wide.
pub fn render<R: Rng>(spec: &LabelSpec, fonts: &Fonts, width: u32, rng: &mut R) -> RenderedLabel {
    let family = &fonts.families[spec.family % fonts.families.len()];
    let w = width as f32;
    let margin = 0.05 * w;
    let body = w * rng.random_range(0.036..0.044);
    let small = w * rng.random_range(0.021..0.026);
    let gap = body * 0.45;
    let background = if spec.silver {
        let v = rng.random_range(192..214u8);
        Rgb([v, v + 2, v + 5])
    } else {
        let v = rng.random_range(238..252u8);
        Rgb([v, v, v - rng.random_range(0..6u8)])
    };
    let ink_v = rng.random_range(8..40u8);
    let ink = Rgb([ink_v, ink_v, ink_v + 4]);
    // Generous canvas height; cropped to the content at the end.
    let mut canvas = Canvas {
        image: RgbImage::from_pixel(width, (w * 1.6) as u32, background),
        ink,
    };

    let text_w = match spec.layout {
        Layout::OneColumn => w - 2.0 * margin,
        Layout::TwoColumn => w * 0.64 - margin,
    };
    let mut y = margin * 0.8;

    // Brand, sometimes in the brand's red.
    let brand_ink = if rng.random_bool(0.5) {
        Rgb([190, 25, 35])
    } else {
        ink
    };
    canvas.ink = brand_ink;
    let (_, brand_size) = canvas.text(&family.bold, spec.brand, margin, y, w * 0.085, text_w);
    canvas.ink = ink;
    y += brand_size * 1.05;
    let (_, s) = canvas.text(
        &family.regular,
        &spec.product_line,
        margin,
        y,
        body * 1.15,
        text_w,
    );
    y += s + gap;
    canvas.rect(margin, y, w - 2.0 * margin, (w * 0.003).max(1.0), ink);
    y += gap * 1.3;

    let top_of_fields = y;
    let (_, s) = canvas.text(
        &family.regular,
        &format!("Model: {}", spec.model),
        margin,
        y,
        body,
        text_w,
    );
    y += s + gap;

    let mut serial_box = None;
    let mut serial_cap_px = 0.0;
    if let Some(serial) = &spec.serial {
        let value_font = if spec.mono_serial {
            &family.mono
        } else {
            &family.regular
        };
        let caption_font = &family.regular;
        let y0 = y;
        let (x1, value_size) = if spec.value_below {
            let (cw, s) = canvas.text(caption_font, spec.caption, margin, y, body, text_w);
            y += s + gap * 0.5;
            let (vw, vs) = canvas.text(value_font, serial, margin, y, body * 1.08, text_w);
            y += vs;
            (margin + cw.max(vw), vs)
        } else {
            let (cw, _) = canvas.text(caption_font, spec.caption, margin, y, body, text_w);
            let x = margin + cw + body * 0.45;
            let (vw, vs) = canvas.text(value_font, serial, x, y, body, text_w - cw - body * 0.45);
            y += body.max(vs);
            (x + vw, vs)
        };
        serial_cap_px = cap_height(value_font, value_size);
        serial_box = Some([margin, y0, x1, y]);
        y += gap;
    }

    let (_, s) = canvas.text(
        &family.regular,
        &format!("Verification Code: {}", spec.verification_code),
        margin,
        y,
        body * 0.95,
        text_w,
    );
    y += s + gap;
    let (_, s) = canvas.text(&family.regular, spec.power, margin, y, body * 0.9, text_w);
    y += s + gap;
    if let Some(mac) = &spec.mac {
        let (_, s) = canvas.text(
            &family.regular,
            &format!("MAC: {mac}"),
            margin,
            y,
            body * 0.85,
            text_w,
        );
        y += s + gap;
    }

    let bar_h = w * 0.085;
    match spec.layout {
        Layout::TwoColumn => {
            let qr_size = (w * 0.30).min(y - top_of_fields);
            canvas.qr(&spec.qr, w - margin - qr_size, top_of_fields, qr_size);
            if let Some(data) = &spec.barcode {
                canvas.barcode(data, margin, y, w * rng.random_range(0.6..0.85), bar_h);
                y += bar_h + gap;
            }
        }
        Layout::OneColumn => {
            // Barcode on the left, QR code on the right of the same band.
            let qr_size = w * rng.random_range(0.16..0.22);
            if let Some(data) = &spec.barcode {
                canvas.barcode(data, margin, y, w * rng.random_range(0.5..0.6), bar_h);
            }
            canvas.qr(&spec.qr, w - margin - qr_size, y - gap * 0.5, qr_size);
            y += bar_h.max(qr_size - gap * 0.5) + gap;
        }
    }

    let marks = ["CE", "FC", "RoHS", "IP67"];
    let mut x = margin;
    for mark in marks.choose_multiple(rng, 3) {
        let (mw, _) = canvas.text(&family.bold, mark, x, y, body, text_w);
        x += mw + body;
    }
    y += body + gap * 0.6;
    for line in [
        "This device complies with part 15 of the FCC Rules.",
        "Hangzhou Hikvision Digital Technology Co., Ltd.   Made in China",
    ] {
        let (_, s) = canvas.text(&family.regular, line, margin, y, small, w - 2.0 * margin);
        y += s * 1.1;
    }
    y += margin * 0.7;
    let height = (y.ceil() as u32).min(canvas.image.height());
    let image = image::imageops::crop_imm(&canvas.image, 0, 0, width, height).to_image();
    RenderedLabel {
        image,
        serial_box,
        serial_cap_px,
    }
}
