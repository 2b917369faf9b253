//! The shape rules of `pipeline::glyph` on real fonts: every digit and capital of every font the
//! testdata labels use (regular, bold, condensed, mono), rendered at the crop sizes OCR sees (text
//! 26–40 px tall) and blurred as mildly blurred photos are, is handed to `settle_by_shape` as if
//! OCR had read it as a look-alike.
//!
//! Hard rule, because these rules can turn a MISMATCH into a MATCH: no glyph is ever settled into
//! another character (a rendered `8` never becomes `0`, a `7` never `1`, an `I` never `T`, …).
//! The rates at which the rules recognise what they are for (zeros, `1`, `I`, `T`) are printed.

use ab_glyph::{Font, FontArc, PxScale, ScaleFont};
use image::{GrayImage, Luma};
use imageproc::drawing::draw_text_mut;
use imageproc::filter::gaussian_blur_f32;
use labelcheck::pipeline::glyph::settle_by_shape;
use labelcheck::pipeline::ocr::LineRead;

const FONTS: &[&str] = &[
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationMono-Regular.ttf",
];
/// Cap heights in crop pixels: OCR crops put text at 32 px × zoom 0.8, 1.0 and 1.25.
const CAP_PX: &[f32] = &[22.0, 26.0, 32.0, 40.0];
/// Gaussian blur sigmas, px at crop scale (0 = sharp).
const SIGMAS: &[f32] = &[0.0, 0.8, 1.3, 1.8];
/// What OCR is pretended to have read for each rendered character.
const READ_AS: &[char] = &['1', 'I', '8', '6', '9', 'G', '3'];

fn font(file: &str) -> FontArc {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/generator/fonts")
        .join(file);
    FontArc::try_from_vec(std::fs::read(&path).expect("font")).expect("font parses")
}

/// `ch` rendered dark on light with cap height `cap` px, blurred by `sigma`, with margins; and
/// the x range its ink covers.
fn render(font: &FontArc, text: &str, cap: f32, sigma: f32) -> (GrayImage, i32, i32) {
    let h_outline = font
        .outline_glyph(font.as_scaled(PxScale::from(100.0)).scaled_glyph('H'))
        .expect("H");
    let scale = PxScale::from(cap * 100.0 / h_outline.px_bounds().height());
    let (w, h) = (
        (cap * 1.2 * text.len() as f32) as u32 + 20,
        (cap * 1.6) as u32 + 10,
    );
    let mut img = GrayImage::from_pixel(w, h, Luma([225]));
    draw_text_mut(
        &mut img,
        Luma([35]),
        10,
        (cap * 0.1) as i32,
        scale,
        font,
        text,
    );
    let (mut x0, mut x1) = (w as i32, 0);
    for (x, _, p) in img.enumerate_pixels() {
        if p[0] < 130 {
            x0 = x0.min(x as i32);
            x1 = x1.max(x as i32 + 1);
        }
    }
    if sigma > 0.0 {
        img = gaussian_blur_f32(&img, sigma);
    }
    (img, x0, x1)
}

/// What `settle_by_shape` makes of the glyph over `x0..x1` of `img` read as the two characters
/// `pair`, the first boxed over its left two thirds, the second from a sixth of its width on.
fn settled_twice(img: &GrayImage, pair: [char; 2], x0: i32, x1: i32) -> String {
    let third = (x1 - x0) / 3;
    let boxes = [(x0, x1 - third), (x0 + third / 2, x1)];
    let mut read = LineRead::of_boxes(&[
        (pair[0], boxes[0].0, boxes[0].1),
        (pair[1], boxes[1].0, boxes[1].1),
    ]);
    settle_by_shape(img, &mut read);
    read.text()
}

/// What `settle_by_shape` makes of one character read as `read_as` over `x0..x1` of `img`.
fn settled(img: &GrayImage, read_as: char, x0: i32, x1: i32) -> char {
    let mut read = LineRead::of_boxes(&[(read_as, x0, x1)]);
    settle_by_shape(img, &mut read);
    read.chars.first().map_or(' ', |c| c.ch)
}

#[test]
fn shape_rules_never_turn_one_character_into_another() {
    let fonts: Vec<(&str, FontArc)> = FONTS.iter().map(|f| (*f, font(f))).collect();
    let subjects: Vec<char> = ('0'..='9').chain('A'..='Z').collect();
    let mut wrong = Vec::new();
    // (rendered, read as) -> (settled to the rendered character, trials)
    let mut hits: std::collections::BTreeMap<(char, char), (u32, u32)> = Default::default();
    for (name, font) in &fonts {
        for &ch in &subjects {
            for &cap in CAP_PX {
                for &sigma in SIGMAS {
                    let (img, x0, x1) = render(font, &ch.to_string(), cap, sigma);
                    // The glyph read twice (two boxes over it, the second starting in the first
                    // half of the first): one zero if it is a zero, else both `?`; and where the
                    // rule does not apply, each character is held to the rule above.
                    for pair in [['O', '0'], ['6', '0'], ['G', '6'], ['8', '8'], ['1', '1']] {
                        let got = settled_twice(&img, pair, x0, x1);
                        let fine = if got.len() == 2 {
                            got.chars().zip(pair).all(|(g, read_as)| {
                                g == read_as || g == '?' || g == ch || (ch == 'O' && g == '0')
                            })
                        } else {
                            got == "0" && matches!(ch, '0' | 'O')
                        };
                        if !fine {
                            wrong.push(format!(
                                "{name} {ch:?} cap {cap} sigma {sigma}: read twice as \
                                 {pair:?}, settled to {got:?}"
                            ));
                        }
                    }
                    for &read_as in READ_AS {
                        let got = settled(&img, read_as, x0, x1);
                        let entry = hits.entry((ch, read_as)).or_default();
                        entry.1 += 1;
                        if got == ch {
                            entry.0 += 1;
                        }
                        // Settling may keep the read, say `?`, or name the true character; a
                        // zero may also stand for the letter O (the grammar tells them apart).
                        let fine =
                            got == read_as || got == '?' || got == ch || (ch == 'O' && got == '0');
                        if !fine {
                            wrong.push(format!(
                                "{name} {ch:?} cap {cap} sigma {sigma}: read {read_as:?} settled to {got:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    // An OCR box over two glyphs (blurred text is boxed badly) settles nothing.
    for (name, font) in &fonts {
        for pair in ["90", "09", "80", "08", "60", "06", "10", "01", "I0", "0I"] {
            for &cap in CAP_PX {
                for &sigma in SIGMAS {
                    let (img, x0, x1) = render(font, pair, cap, sigma);
                    for &read_as in READ_AS {
                        let got = settled(&img, read_as, x0, x1);
                        if got != read_as {
                            wrong.push(format!(
                                "{name} box over {pair:?} cap {cap} sigma {sigma}: \
                                 read {read_as:?} settled to {got:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    for ((ch, read_as), (right, of)) in &hits {
        if right > &0 && ch != read_as {
            println!("{ch:?} read as {read_as:?}: settled to {ch:?} in {right}/{of}");
        }
    }
    let mut kinds: std::collections::BTreeMap<String, u32> = Default::default();
    for w in &wrong {
        let key = w.split_once(' ').map_or(w.as_str(), |(_, k)| k);
        let key = format!("{} -> {}", &key[..3], &key[key.len() - 3..]);
        *kinds.entry(key).or_default() += 1;
    }
    println!("{kinds:?}");
    assert!(
        wrong.is_empty(),
        "{} wrong settlings:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
