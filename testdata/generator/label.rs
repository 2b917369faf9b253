//! Renders a device label (the sticker itself, flat and upright) as an RGB image.
//!
//! Content follows real Hikvision stickers: brand, product line, `Model:` line, the serial line in
//! one of several spellings (value on the same line or under the caption), a Code 128 barcode of
//! the serial, a QR code, a `Verification Code:` line, power and regulatory text. A [`Style`]
//! widens the print for the validation sets (colours, letter-spacing, the verification code on
//! the serial's line, a wrapped model line, extra fields); its default draws testdata's labels.

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
    pub name: String,
    pub regular: FontArc,
    pub bold: FontArc,
    pub mono: FontArc,
}

/// Loads one font file; panics naming the file when it is missing or unreadable.
pub fn load(dir: &std::path::Path, file: &str) -> FontArc {
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
                    name: "dejavu".into(),
                    regular: load(dir, "DejaVuSans.ttf"),
                    bold: load(dir, "DejaVuSans-Bold.ttf"),
                    mono: dejavu_mono.clone(),
                },
                Family {
                    name: "dejavu-condensed".into(),
                    regular: load(dir, "DejaVuSans.ttf"),
                    bold: load(dir, "DejaVuSansCondensed-Bold.ttf"),
                    mono: dejavu_mono,
                },
                Family {
                    name: "liberation".into(),
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
    pub caption: String,
    pub value_below: bool,
    pub verification_code: String,
    pub mac: Option<String>,
    pub power: &'static str,
    pub layout: Layout,
    pub silver: bool,
    pub family: usize,
    pub mono_serial: bool,
    pub qr: String,
    pub style: Style,
}

/// Print variations beyond testdata's; the default is testdata's print.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// (background, ink) replacing the drawn white or silver sticker and dark ink.
    pub colours: Option<(Rgb<u8>, Rgb<u8>)>,
    /// Extra space between the serial value's characters, in ems.
    pub spacing: f32,
    /// The serial value's size relative to the body text (0 means testdata's).
    pub value_scale: f32,
    /// The verification code printed after the serial value, on its line.
    pub code_on_serial_line: bool,
    /// The model line wrapped after its last dash.
    pub wrap_model: bool,
    /// Further fields (P/N, power ratings, ...), one line each, after the power line.
    pub extra_fields: Vec<String>,
}

/// A rendered label and where its serial field is.
pub struct RenderedLabel {
    pub image: RgbImage,
    /// Serial field (caption and value) as x0, y0, x1, y1 in label pixels.
    pub serial_box: Option<[f32; 4]>,
    /// Cap height of the serial value's letters, in label pixels.
    pub serial_cap_px: f32,
    /// The serial value alone (no caption) as x0, y0, x1, y1 in label pixels.
    pub value_box: Option<[f32; 4]>,
    /// Every piece of text drawn, in drawing order (the OCR model's training truth).
    pub texts: Vec<TextItem>,
}

/// One piece of text drawn on a label: what it says and where, x0, y0, x1, y1 in label pixels
/// (y0 the top of the type size, y1 = y0 + size).
#[derive(Debug, Clone)]
pub struct TextItem {
    pub text: String,
    pub bbox: [f32; 4],
}

struct Canvas {
    image: RgbImage,
    ink: Rgb<u8>,
    texts: Vec<TextItem>,
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
        self.texts.push(TextItem {
            text: text.to_string(),
            bbox: [x, y, x + w as f32, y + size],
        });
        (w as f32, size)
    }

    /// Like [`Canvas::text`] with `spacing` ems between characters; `spacing == 0` is `text`.
    #[allow(clippy::too_many_arguments)]
    fn spaced_text(
        &mut self,
        font: &FontArc,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        max_w: f32,
        spacing: f32,
    ) -> (f32, f32) {
        if spacing <= 0.0 {
            return self.text(font, text, x, y, size, max_w);
        }
        let width = |size: f32| {
            text.chars()
                .map(|c| text_size(PxScale::from(size), font, &c.to_string()).0 as f32)
                .sum::<f32>()
                + spacing * size * text.chars().count().saturating_sub(1) as f32
        };
        // Each glyph's measured width has a part that does not shrink with the size (rounding
        // up, one pixel), so one proportional step leaves a long value wider than `max_w` (up
        // to a character, and into a QR code beside it): shrink until it fits.
        let mut size = size;
        for _ in 0..32 {
            let wide = width(size);
            if wide <= max_w {
                break;
            }
            size *= max_w / wide;
        }
        let ink = self.ink;
        let mut cx = x;
        for c in text.chars() {
            let glyph = c.to_string();
            draw_text_mut(
                &mut self.image,
                ink,
                cx as i32,
                y as i32,
                PxScale::from(size),
                font,
                &glyph,
            );
            cx += text_size(PxScale::from(size), font, &glyph).0 as f32 + spacing * size;
        }
        self.texts.push(TextItem {
            text: text.to_string(),
            bbox: [x, y, cx - spacing * size, y + size],
        });
        (cx - x - spacing * size, size)
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
    let style = &spec.style;
    let (background, ink) = style.colours.unwrap_or((background, ink));
    // Generous canvas height; cropped to the content at the end.
    let mut canvas = Canvas {
        image: RgbImage::from_pixel(width, (w * 1.6) as u32, background),
        ink,
        texts: Vec::new(),
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
    let model_lines = match spec.model.rfind('-') {
        Some(dash) if style.wrap_model => vec![
            format!("Model: {}", &spec.model[..=dash]),
            spec.model[dash + 1..].to_string(),
        ],
        _ => vec![format!("Model: {}", spec.model)],
    };
    for line in &model_lines {
        let (_, s) = canvas.text(&family.regular, line, margin, y, body, text_w);
        y += s + gap;
    }

    let mut serial_box = None;
    let mut value_box = None;
    let mut serial_cap_px = 0.0;
    if let Some(serial) = &spec.serial {
        let value_font = if spec.mono_serial {
            &family.mono
        } else {
            &family.regular
        };
        let caption_font = &family.regular;
        let scale = if style.value_scale > 0.0 {
            style.value_scale
        } else {
            1.0
        };
        // The verification code after the value takes part of the line's width.
        let code = style
            .code_on_serial_line
            .then(|| format!("VC: {}", spec.verification_code));
        let code_w = code.as_ref().map_or(0.0, |c| {
            text_size(PxScale::from(body), caption_font, c).0 as f32 + body
        });
        let y0 = y;
        let mut caption_w = 0.0f32;
        // Beside its caption the value gets what the caption and the code leave of the line;
        // where they leave none (a long caption and code at a large size), the value goes below
        // the caption. (Any wider rule would redraw photos of the sets measured so far.)
        let caption_fit =
            (text_size(PxScale::from(body), caption_font, &spec.caption).0 as f32).min(text_w);
        let below = spec.value_below || text_w - caption_fit - body * 0.45 - code_w <= 0.0;
        let (value_x, value_y, vw, value_size) = if below {
            let (cw, s) = canvas.text(caption_font, &spec.caption, margin, y, body, text_w);
            caption_w = cw;
            y += s + gap * 0.5;
            let (vw, vs) = canvas.spaced_text(
                value_font,
                serial,
                margin,
                y,
                body * 1.08 * scale,
                text_w - code_w,
                style.spacing,
            );
            let value_y = y;
            y += vs;
            (margin, value_y, vw, vs)
        } else {
            let (cw, _) = canvas.text(caption_font, &spec.caption, margin, y, body, text_w);
            let x = margin + cw + body * 0.45;
            let (vw, vs) = canvas.spaced_text(
                value_font,
                serial,
                x,
                y,
                body * scale,
                text_w - cw - body * 0.45 - code_w,
                style.spacing,
            );
            let value_y = y;
            y += body.max(vs);
            (x, value_y, vw, vs)
        };
        // A caption under which the value is printed may be the wider of the two.
        let mut x1 = (value_x + vw).max(margin + caption_w);
        if let Some(code) = &code {
            let (w, _) = canvas.text(caption_font, code, x1 + body, value_y, body, code_w);
            x1 += body + w;
        }
        serial_cap_px = cap_height(value_font, value_size);
        serial_box = Some([margin, y0, x1.max(margin), y]);
        value_box = Some([value_x, value_y, value_x + vw, value_y + value_size]);
        y += gap;
    }

    if !(style.code_on_serial_line && spec.serial.is_some()) {
        let (_, s) = canvas.text(
            &family.regular,
            &format!("Verification Code: {}", spec.verification_code),
            margin,
            y,
            body * 0.95,
            text_w,
        );
        y += s + gap;
    }
    let (_, s) = canvas.text(&family.regular, spec.power, margin, y, body * 0.9, text_w);
    y += s + gap;
    for field in &style.extra_fields {
        let (_, s) = canvas.text(&family.regular, field, margin, y, body * 0.85, text_w);
        y += s + gap;
    }
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
        value_box,
        texts: canvas.texts,
    }
}

/// A slip of paper or a sticker carrying another device's serial, as installers leave them on
/// or beside a label: `<caption> <serial>` on one line in `font`, and, when `barcode`, that
/// serial's Code 128 under it. `width` px wide; the serial's box is its `serial_box`.
pub fn render_slip<R: Rng>(
    caption: &str,
    serial: &str,
    font: &FontArc,
    barcode: bool,
    width: u32,
    rng: &mut R,
) -> RenderedLabel {
    let w = width as f32;
    let margin = w * 0.05;
    let size = w * rng.random_range(0.05..0.07);
    let bar_h = if barcode { size * 2.2 } else { 0.0 };
    let height =
        (margin * 2.0 + size * 1.3 + if barcode { size * 0.5 + bar_h } else { 0.0 }) as u32;
    let paper = *[
        Rgb([250, 249, 244]),
        Rgb([255, 242, 150]),
        Rgb([236, 240, 245]),
    ]
    .choose(rng)
    .unwrap_or(&Rgb([250, 249, 244]));
    let ink = *[Rgb([20, 20, 24]), Rgb([25, 35, 110])]
        .choose(rng)
        .unwrap_or(&Rgb([20, 20, 24]));
    let mut canvas = Canvas {
        image: RgbImage::from_pixel(width, height.max(8), paper),
        ink,
        texts: Vec::new(),
    };
    let line = format!("{caption} {serial}");
    let (tw, th) = canvas.text(font, &line, margin, margin, size, w - 2.0 * margin);
    if barcode {
        canvas.barcode(
            serial,
            margin,
            margin + th * 1.3 + size * 0.5,
            w - 2.0 * margin,
            bar_h,
        );
    }
    RenderedLabel {
        image: canvas.image,
        serial_box: Some([margin, margin, margin + tw, margin + th]),
        serial_cap_px: cap_height(font, th),
        value_box: None,
        texts: canvas.texts,
    }
}
