//! Finding text lines on the label cheaply, without OCR.
//!
//! 1. Work at reduced resolution: the photo area-averaged to a [`WORK_LONG_SIDE`] px long side.
//! 2. Ink: pixels darker than their 25×25 neighbourhood mean by a margin (labels are light, print
//!    is dark), via an integral image.
//! 3. Character candidates: 8-connected ink components of character size and shape (barcode bars,
//!    QR blocks, label edges and housing texture fall out on size, elongation or fill). Once the
//!    text direction is known, runs of letters that blur has joined into one component join them
//!    if they lie along the text at a character's height.
//! 4. Text direction: the angle (0–180°, 1° then 0.25° steps) at which the candidates'
//!    centres, projected across the lines, pile up most sharply (sum of squared histogram
//!    counts). This handles skew, perspective within ±15° and labels turned 90°; 0° versus 180°
//!    is settled later by OCR confidence.
//! 5. Lines: each candidate is chained to its nearest neighbour ahead along the text that sits at
//!    a similar offset across it (judged locally, so perspective does not break lines) and has a
//!    similar size; a line is a chain, with its own slope fitted by least squares. Chains that
//!    interleave over the same words (letters broken into strokes by motion) are joined.
//! 6. Each line is cut out of the full-resolution photo, rotated upright and scaled so its text is
//!    [`LINE_TEXT_PX`] px tall ([`cut_line`]), ready for OCR.

use image::GrayImage;
use imageproc::region_labelling::{Connectivity, connected_components};

use super::blur::{NORMALIZED_LONG_SIDE, reference_downscale};

/// Long side of the working image, in pixels: the blur score's reference view, so one
/// downscale serves both.
pub const WORK_LONG_SIDE: u32 = NORMALIZED_LONG_SIDE;
/// Height of text in a line crop handed to OCR, in pixels (Tesseract reads best at 25–40 px).
pub const LINE_TEXT_PX: f32 = 32.0;
/// Ink added before the start of a line crop (in reading order), in text heights: the line's
/// chain of character candidates can stop short of its first characters (lower-case letters
/// after a capital, on tilted text: `Serial no.:` cut as `al no.:`), so the crop starts a little
/// earlier.
pub const LINE_START_MARGIN: f32 = 1.0;
/// Widest line crop [`cut_line`] makes, px (125 text heights at [`LINE_TEXT_PX`]).
pub const MAX_CROP_WIDTH_PX: u32 = 4000;
/// Neighbourhood for the ink threshold: (2R+1)² pixels at working resolution.
const INK_RADIUS: i64 = 12;

/// A text line in the upright photo, as a rotated rectangle.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// Direction of the text (the line's long axis), radians, in photo coordinates (y down).
    pub angle: f32,
    /// Centre, photo pixels.
    pub centre: (f32, f32),
    /// Length along the text direction, photo pixels.
    pub length: f32,
    /// Text height (median character extent across the line), photo pixels.
    pub text_height: f32,
    /// Number of character candidates in the line.
    pub chars: usize,
    /// Offset across the lines (for ordering lines top to bottom), photo pixels.
    pub across: f32,
}

impl TextLine {
    /// Axis-aligned bounding box `(x0, y0, x1, y1)` in photo pixels.
    pub fn bbox(&self) -> (f32, f32, f32, f32) {
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let (hl, hh) = (self.length / 2.0, self.text_height * 0.9);
        let corners = [(-hl, -hh), (hl, -hh), (hl, hh), (-hl, hh)]
            .map(|(u, v)| (self.centre.0 + u * c - v * s, self.centre.1 + u * s + v * c));
        let xs = corners.map(|p| p.0);
        let ys = corners.map(|p| p.1);
        let min = |a: [f32; 4]| a.iter().copied().fold(f32::MAX, f32::min);
        let max = |a: [f32; 4]| a.iter().copied().fold(f32::MIN, f32::max);
        (min(xs), min(ys), max(xs), max(ys))
    }
}

/// A connected ink component: its bounding box (inclusive, px) and pixel count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blob {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub count: u32,
}

impl Blob {
    fn w(&self) -> f32 {
        (self.x1 - self.x0 + 1) as f32
    }
    fn h(&self) -> f32 {
        (self.y1 - self.y0 + 1) as f32
    }
    fn centre(&self) -> (f32, f32) {
        (
            (self.x0 + self.x1) as f32 / 2.0 + 0.5,
            (self.y0 + self.y1) as f32 / 2.0 + 0.5,
        )
    }
}

/// Marks ink (255) where a pixel is darker than its local mean by `max(12, 12%)` gray levels.
pub fn ink_mask(gray: &GrayImage) -> GrayImage {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(gray.as_raw()[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let mut mask = GrayImage::new(w as u32, h as u32);
    let r = INK_RADIUS;
    for y in 0..h as i64 {
        let (ya, yb) = ((y - r).max(0) as usize, ((y + r + 1) as usize).min(h));
        for x in 0..w as i64 {
            let (xa, xb) = ((x - r).max(0) as usize, ((x + r + 1) as usize).min(w));
            let sum = integral[yb * (w + 1) + xb] + integral[ya * (w + 1) + xa]
                - integral[ya * (w + 1) + xb]
                - integral[yb * (w + 1) + xa];
            let mean = sum as f32 / ((yb - ya) * (xb - xa)) as f32;
            let v = f32::from(gray.as_raw()[y as usize * w + x as usize]);
            if v < mean - (mean * 0.12).max(12.0) {
                mask.as_mut()[y as usize * w + x as usize] = 255;
            }
        }
    }
    mask
}

/// The 8-connected components of the ink (255) in `mask`: the label image (0 = background,
/// component `k` is label `k + 1`) and each component's box and size.
pub(crate) fn components(
    mask: &GrayImage,
) -> (image::ImageBuffer<image::Luma<u32>, Vec<u32>>, Vec<Blob>) {
    let labels = connected_components(mask, Connectivity::Eight, image::Luma([0u8]));
    let mut out: Vec<Blob> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        if out.len() < l {
            out.resize(
                l,
                Blob {
                    x0: u32::MAX,
                    y0: u32::MAX,
                    x1: 0,
                    y1: 0,
                    count: 0,
                },
            );
        }
        let b = &mut out[l - 1];
        b.x0 = b.x0.min(x);
        b.y0 = b.y0.min(y);
        b.x1 = b.x1.max(x);
        b.y1 = b.y1.max(y);
        b.count += 1;
    }
    (labels, out)
}

/// Whether a component has the size and shape of a printed character at working resolution.
fn is_char(b: &Blob) -> bool {
    let (w, h) = (b.w(), b.h());
    let (long, short) = (w.max(h), w.min(h));
    let fill = b.count as f32 / (w * h);
    (5.0..=70.0).contains(&long)
        && long / short <= 7.0
        && b.count >= 6
        && (0.1..=0.95).contains(&fill)
}

/// Whether a component that is not a character could be a run of characters that blur has joined
/// (a blurred serial value often becomes a few such runs): longer than a character, but no more
/// than 400 px at working resolution, and not a thin line. Whether it lies along the text, at a
/// character's height, is judged once the text direction is known ([`run_item`]).
fn is_run(b: &Blob) -> bool {
    let (w, h) = (b.w(), b.h());
    let (long, short) = (w.max(h), w.min(h));
    short >= 6.0 && long <= 400.0 && long / short > 2.0 && b.count >= 30 && !is_char(b)
}

/// The candidate for a run of joined characters (see [`is_run`]) whose pixels, projected on the
/// text direction `(s, c)` = sin, cos, span at most 1.5 × `size` across the text and at least
/// twice that along it, with ink on a quarter of that rectangle or more (a rule, a border or a
/// barcode fails one of these).
fn run_item(extent: [f32; 4], count: u32, size: f32) -> Option<Item> {
    let [u0, u1, v0, v1] = extent;
    let (along, across) = (u1 - u0 + 1.0, v1 - v0 + 1.0);
    let fill = count as f32 / (along * across);
    (across >= 0.4 * size && across <= 1.5 * size && along >= 2.0 * across && fill >= 0.25).then(
        || Item {
            u: (u0 + u1) / 2.0,
            v: (v0 + v1) / 2.0,
            h: across,
            half: along / 2.0,
        },
    )
}

fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// Text direction in radians (0–π): where projected character centres pile up most sharply.
fn text_direction(chars: &[Blob], size: f32) -> f32 {
    let centres: Vec<(f32, f32)> = chars.iter().map(Blob::centre).collect();
    let bin = (size * 0.3).max(1.5);
    let score = |theta: f32| {
        let (s, c) = theta.sin_cos();
        let mut hist = std::collections::HashMap::<i32, u32>::new();
        for &(x, y) in &centres {
            *hist
                .entry(((-x * s + y * c) / bin).floor() as i32)
                .or_default() += 1;
        }
        hist.values()
            .map(|&n| u64::from(n) * u64::from(n))
            .sum::<u64>()
    };
    let coarse = (0..180).map(|d| (d as f32).to_radians());
    let best = coarse.max_by_key(|&t| score(t)).unwrap_or(0.0);
    let fine = (-4..=4).map(|k| best + (k as f32 * 0.25).to_radians());
    fine.max_by_key(|&t| score(t)).unwrap_or(best)
}

/// A character candidate in the text frame.
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Centre along the text, px.
    u: f32,
    /// Centre across the text, px.
    v: f32,
    /// Extent across the text, px.
    h: f32,
    /// Half its extent along the text, px.
    half: f32,
}

struct Builder {
    members: Vec<Item>,
    along_min: f32,
    along_max: f32,
    across_sum: f32,
    height: f32,
}

impl From<Vec<Item>> for Builder {
    fn from(members: Vec<Item>) -> Self {
        let along_min = members
            .iter()
            .map(|m| m.u - m.half)
            .fold(f32::MAX, f32::min);
        let along_max = members
            .iter()
            .map(|m| m.u + m.half)
            .fold(f32::MIN, f32::max);
        let across_sum = members.iter().map(|m| m.v).sum();
        let height = median(&mut members.iter().map(|m| m.h).collect::<Vec<_>>());
        Builder {
            members,
            along_min,
            along_max,
            across_sum,
            height,
        }
    }
}

/// Across-the-text offset of `line` near its end (`start`: its beginning), px: the median offset
/// of the three members nearest that end.
fn end_offset(line: &Builder, start: bool) -> f32 {
    let mut members: Vec<&Item> = line.members.iter().collect();
    members.sort_by(|a, b| a.u.total_cmp(&b.u));
    if !start {
        members.reverse();
    }
    median(&mut members.iter().take(3).map(|m| m.v).collect::<Vec<_>>())
}

/// Joins chains that are interleaved pieces of one line. Motion blur breaks letters into stroke
/// fragments, and the nearest-neighbour chaining can then run two chains over the same words
/// (068 in testdata: `S/N DS-2CD2` and `-2CD2T47G2-L…`, each read as garbage). Two chains are
/// one line when the second starts inside the first and ends after it, they sit at the same
/// offset across the text where they meet (within 0.35 of the taller height) and have similar
/// heights (ratio 0.5–2). Lines above or below each other are a line spacing apart across the
/// text, so they never qualify. Chains that follow each other with a gap stay apart: joining
/// those too made a caption misread by blur (`G/N`) part of its value (043 became INCONCLUSIVE).
///
/// One sweep over the chains sorted by start finds the pairs, and pairs join transitively
/// (union-find), so the cost grows with the number of chains that overlap, not its cube.
fn merge_interleaved(mut lines: Vec<Builder>) -> Vec<Builder> {
    lines.sort_by(|a, b| a.along_min.total_cmp(&b.along_min));
    let mut parent: Vec<usize> = (0..lines.len()).collect();
    // Offset across the text at each chain's start and end.
    let ends: Vec<(f32, f32)> = lines
        .iter()
        .map(|l| (end_offset(l, true), end_offset(l, false)))
        .collect();
    for (i, a) in lines.iter().enumerate() {
        // Sorted by start, so only the chains that start before `a` ends can interleave with it.
        for (j, b) in lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .take_while(|(_, b)| b.along_min < a.along_max)
        {
            let h = a.height.max(b.height);
            if b.along_max > a.along_max
                && (0.5..=2.0).contains(&(b.height / a.height))
                && (ends[i].1 - ends[j].0).abs() < 0.35 * h
            {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    let mut joined: std::collections::BTreeMap<usize, Vec<Item>> = Default::default();
    for (i, line) in lines.into_iter().enumerate() {
        let r = root(&mut parent, i);
        joined.entry(r).or_default().extend(line.members);
    }
    joined.into_values().map(Builder::from).collect()
}

/// The root of `i` in a union-find forest, halving the path on the way.
pub(super) fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Finds text lines in an upright gray photo. Lines are in photo coordinates, top to bottom
/// along the text's own "down" for the direction found (which may still be upside down).
pub fn find_lines(gray: &GrayImage) -> Vec<TextLine> {
    find_lines_in(gray, reference_downscale(gray).as_ref().unwrap_or(gray))
}

/// [`find_lines`] for a caller that already holds the photo's reference view (`work`, from
/// [`reference_downscale`], or `gray` itself when that is `None`).
///
/// Light print on a dark ground (a black label) is found by a second pass over the inverted
/// view, keeping the lines whose crop is light print ([`is_light_on_dark`]). Where such a line
/// overlaps lines of the first pass that are themselves light print (pieces of the dark ground
/// between light letters), it replaces them; where it overlaps dark print, the dark print stays.
pub fn find_lines_in(gray: &GrayImage, work: &GrayImage) -> Vec<TextLine> {
    find_print(gray, work).0
}

/// [`find_lines_in`], and the lines of [`small_print`] found beside them (dark print only): text
/// under the locator's smallest character, which it cannot chain but which may hold a serial.
///
/// The dark print and the light print are looked for at once, on two of the current rayon pool's
/// threads when one is free (the same result either way).
pub fn find_print(gray: &GrayImage, work: &GrayImage) -> (Vec<TextLine>, Vec<TextLine>) {
    let light_print = |l: &TextLine| is_light_on_dark(&cut_line_as_printed(gray, l, false, 0.5).0);
    let ((mut lines, small), light) = rayon::join(
        || find_dark_print(gray, work, true),
        || {
            let mut inverted = work.clone();
            for v in inverted.iter_mut() {
                *v = 255 - *v;
            }
            find_dark_print(gray, &inverted, false)
                .0
                .into_iter()
                .filter(light_print)
                .collect::<Vec<TextLine>>()
        },
    );
    if light.is_empty() {
        return (lines, small);
    }
    lines.retain(|d| !(light.iter().any(|l| overlap(d, l)) && light_print(d)));
    let light: Vec<TextLine> = light
        .into_iter()
        .filter(|l| !lines.iter().any(|d| overlap(d, l)))
        .collect();
    lines.extend(light);
    lines.sort_by(|a, b| a.across.total_cmp(&b.across));
    (lines, small)
}

/// Whether two lines' boxes meet at all.
pub fn touch(a: &TextLine, b: &TextLine) -> bool {
    within(a, b, 0.0)
}

/// Whether two lines' boxes come closer than `gap` photo px to each other, across and down
/// (0: they overlap).
pub fn within(a: &TextLine, b: &TextLine, gap: f32) -> bool {
    let (a, b) = (a.bbox(), b.bbox());
    a.0.max(b.0) < a.2.min(b.2) + gap && a.1.max(b.1) < a.3.min(b.3) + gap
}

/// Whether two lines' boxes overlap by more than half the smaller one.
fn overlap(a: &TextLine, b: &TextLine) -> bool {
    let (a, b) = (a.bbox(), b.bbox());
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    let area = |r: (f32, f32, f32, f32)| (r.2 - r.0) * (r.3 - r.1);
    w * h > 0.5 * area(a).min(area(b))
}

/// [`find_print`] for dark print on a light ground only; its [`small_print`] too if `small`.
fn find_dark_print(
    gray: &GrayImage,
    work: &GrayImage,
    small: bool,
) -> (Vec<TextLine>, Vec<TextLine>) {
    let scale = work.width() as f32 / gray.width() as f32;
    let (labels, blobs) = components(&ink_mask(work));
    let chars: Vec<Blob> = blobs.iter().copied().filter(is_char).collect();
    if chars.len() < 4 {
        return (Vec::new(), Vec::new());
    }
    let size = median(&mut chars.iter().map(|b| b.w().max(b.h())).collect::<Vec<_>>());
    let theta = text_direction(&chars, size);
    let frame = theta.sin_cos();
    let mut items = char_items(&chars, frame);
    items.extend(run_items(&labels, &blobs, frame, size));
    let lines = merge_interleaved(chain(items));
    let mut out: Vec<TextLine> = lines
        .into_iter()
        .filter(|l| l.members.len() >= 2 || l.along_max - l.along_min > 3.0 * l.height)
        .map(|l| text_line(&l, theta, frame, scale))
        .collect();
    out.sort_by(|a, b| a.across.total_cmp(&b.across));
    let small = if small {
        small_print(&labels, &blobs, theta, size, scale)
    } else {
        Vec::new()
    };
    (out, small)
}

/// Smallest height across the text of a run of [`small_print`], working px: thinner runs are
/// rules, borders and edges.
const SMALL_PRINT_MIN_PX: f32 = 4.0;
/// Least length of a run of [`small_print`], in its own heights: room for about a dozen
/// characters (a short serial is 9), so that specks and words do not count.
const SMALL_PRINT_MIN_LENGTH: f32 = 12.0;

/// Lines of print whose characters run together into one component at working resolution: each
/// longer than [`SMALL_PRINT_MIN_LENGTH`] times its height across its own axis, that height
/// between [`SMALL_PRINT_MIN_PX`] and the largest a run of joined characters may have beside
/// characters of `size` ([`run_item`]), with ink on 30–85% of its box along that axis (a rule
/// or a border fills it). Unlike [`run_item`] it is measured along its own axis, not the label's
/// text direction: a slip of paper laid beside a small label in a 12 MP photo shows its serial
/// so (capitals of 12 px, 4 px at working resolution, 6° off the label's text). Each is
/// returned as a line, pointing the way of the text (`theta`) as near as its own axis allows,
/// its estimated characters as `chars`.
fn small_print(
    labels: &image::ImageBuffer<image::Luma<u32>, Vec<u32>>,
    blobs: &[Blob],
    theta: f32,
    size: f32,
    scale: f32,
) -> Vec<TextLine> {
    blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| !is_char(b) && b.count >= 30 && b.w().max(b.h()) <= 400.0)
        .filter(|(_, b)| b.w().max(b.h()) >= SMALL_PRINT_MIN_LENGTH * SMALL_PRINT_MIN_PX)
        .filter_map(|(k, b)| {
            let label = k as u32 + 1;
            let pixels: Vec<(f32, f32)> = (b.y0..=b.y1)
                .flat_map(|y| (b.x0..=b.x1).map(move |x| (x, y)))
                .filter(|&(x, y)| labels.get_pixel(x, y)[0] == label)
                .map(|(x, y)| (x as f32 + 0.5, y as f32 + 0.5))
                .collect();
            let n = pixels.len() as f32;
            let (mx, my) = pixels
                .iter()
                .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
            let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
            for &(x, y) in &pixels {
                sxx += (x - mx) * (x - mx);
                syy += (y - my) * (y - my);
                sxy += (x - mx) * (y - my);
            }
            let mut angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
            if (angle - theta).cos() < 0.0 {
                angle += std::f32::consts::PI;
            }
            let (s, c) = angle.sin_cos();
            let mut e = [f32::MAX, f32::MIN, f32::MAX, f32::MIN];
            for &(x, y) in &pixels {
                let (u, v) = (x * c + y * s, -x * s + y * c);
                e = [e[0].min(u), e[1].max(u), e[2].min(v), e[3].max(v)];
            }
            let (along, across) = (e[1] - e[0] + 1.0, e[3] - e[2] + 1.0);
            let fill = n / (along * across);
            let small = (SMALL_PRINT_MIN_PX..=1.5 * size).contains(&across)
                && along >= SMALL_PRINT_MIN_LENGTH * across
                && (0.3..=0.85).contains(&fill);
            small.then(|| {
                // The line's first and last characters may stand apart from the joined run.
                let pad = 2.0 * across;
                let (um, vm) = ((e[0] + e[1]) / 2.0, (e[2] + e[3]) / 2.0);
                TextLine {
                    angle,
                    centre: ((um * c - vm * s) / scale, (um * s + vm * c) / scale),
                    length: (along + 2.0 * pad) / scale,
                    text_height: across / scale,
                    chars: (along / (0.6 * across)).round() as usize,
                    across: (-mx * theta.sin() + my * theta.cos()) / scale,
                }
            })
        })
        .collect()
}

/// Each character candidate in the text frame (`frame` is the text direction's sine and cosine):
/// along (u), across (v), height across the line, and half its length along the line (touching
/// letters merge into one wide candidate).
fn char_items(chars: &[Blob], (s, c): (f32, f32)) -> Vec<Item> {
    chars
        .iter()
        .map(|b| {
            let (x, y) = b.centre();
            let height = b.w() * s.abs() + b.h() * c.abs();
            let half = (b.w() * c.abs() + b.h() * s.abs()) / 2.0;
            Item {
                u: x * c + y * s,
                v: -x * s + y * c,
                h: height,
                half,
            }
        })
        .collect()
}

/// Runs of joined characters: each candidate's pixels (within its box, by their component
/// `labels`) projected on the text direction.
fn run_items(
    labels: &image::ImageBuffer<image::Luma<u32>, Vec<u32>>,
    blobs: &[Blob],
    (s, c): (f32, f32),
    size: f32,
) -> Vec<Item> {
    blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| is_run(b))
        .filter_map(|(k, b)| {
            let label = k as u32 + 1;
            let mut e = [f32::MAX, f32::MIN, f32::MAX, f32::MIN];
            for y in b.y0..=b.y1 {
                for x in b.x0..=b.x1 {
                    if labels.get_pixel(x, y)[0] == label {
                        let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
                        let (u, v) = (x * c + y * s, -x * s + y * c);
                        e = [e[0].min(u), e[1].max(u), e[2].min(v), e[3].max(v)];
                    }
                }
            }
            run_item(e, b.count, size)
        })
        .collect()
}

/// Chains each candidate to its nearest neighbour ahead along the text (edge to edge, at most
/// about a word space away), if that one sits at a similar offset across the text (judged
/// locally, so lines bent by perspective stay whole) and has a similar height; lines are the
/// chains.
fn chain(mut items: Vec<Item>) -> Vec<Builder> {
    items.sort_by(|a, b| (a.u - a.half).total_cmp(&(b.u - b.half)));
    let mut parent: Vec<usize> = (0..items.len()).collect();
    for i in 0..items.len() {
        let a = items[i];
        let end = a.u + a.half;
        let mut best: Option<(usize, f32)> = None;
        for (j, b) in items.iter().enumerate().skip(i + 1) {
            let gap = (b.u - b.half) - end;
            if gap > 1.6 * a.h {
                break;
            }
            let ratio = b.h / a.h;
            if gap < 1.6 * b.h
                && (b.v - a.v).abs() < 0.35 * a.h.max(b.h)
                && (0.5..=2.0).contains(&ratio)
                && b.u > a.u
                && best.is_none_or(|(_, bg)| gap < bg)
            {
                best = Some((j, gap));
            }
        }
        if let Some((j, _)) = best {
            let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
            parent[ra] = rb;
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<Item>> = Default::default();
    for (i, item) in items.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(*item);
    }
    groups.into_values().map(Builder::from).collect()
}

/// The [`TextLine`] of a chained line `l` in photo pixels: the text direction `theta` (with
/// `frame` its sine and cosine) tilted by the line's own slope, found by least squares
/// (perspective tilts lines differently); `scale` is work px per photo px.
fn text_line(l: &Builder, theta: f32, (s, c): (f32, f32), scale: f32) -> TextLine {
    let n = l.members.len() as f32;
    let height = l.height;
    let (mu, mv) = (
        l.members.iter().map(|m| m.u).sum::<f32>() / n,
        l.across_sum / n,
    );
    let (mut suv, mut suu) = (0.0f32, 0.0f32);
    for m in &l.members {
        suv += (m.u - mu) * (m.v - mv);
        suu += (m.u - mu) * (m.u - mu);
    }
    let slope = if suu > 0.0 && l.members.len() >= 4 {
        (suv / suu).clamp(-0.15, 0.15)
    } else {
        0.0
    };
    let tilt = slope.atan();
    let pad = height * 0.6;
    let (u0, u1) = (l.along_min - pad, l.along_max + pad);
    let um = (u0 + u1) / 2.0;
    let vm = mv + slope * (um - mu);
    let centre = (um * c - vm * s, um * s + vm * c);
    TextLine {
        angle: theta + tilt,
        centre: (centre.0 / scale, centre.1 / scale),
        length: (u1 - u0) * (1.0 + slope * slope).sqrt() / scale,
        text_height: height * tilt.cos() / scale,
        chars: l.members.len(),
        across: vm / scale,
    }
}

/// Cuts `line` out of `gray`, upright (text running left to right, or right to left when
/// `flip`), scaled so text is [`LINE_TEXT_PX`] × `zoom` px tall, with bilinear sampling (and
/// 2×2 supersampling when shrinking), dark print on a light ground ([`is_light_on_dark`]).
/// Returns the crop and its scale (crop px per photo px).
pub fn cut_line(gray: &GrayImage, line: &TextLine, flip: bool, zoom: f32) -> (GrayImage, f32) {
    let (mut crop, k) = cut_line_as_printed(gray, line, flip, zoom);
    if is_light_on_dark(&crop) {
        for v in crop.iter_mut() {
            *v = 255 - *v;
        }
    }
    (crop, k)
}

/// Where [`cut_line`]'s crop of `line` at `zoom` sits in the photo: crop px per photo px, the
/// crop's centre (photo px; the line's centre moved back along the reading direction by half the
/// start margin), and the reading direction's sine and cosine.
fn crop_frame(line: &TextLine, flip: bool, zoom: f32) -> (f32, (f32, f32), (f32, f32)) {
    let k = LINE_TEXT_PX * zoom / line.text_height.max(1.0);
    let margin = LINE_START_MARGIN * line.text_height;
    let angle = if flip {
        line.angle + std::f32::consts::PI
    } else {
        line.angle
    };
    let (s, c) = angle.sin_cos();
    let centre = (
        line.centre.0 - margin / 2.0 * c,
        line.centre.1 - margin / 2.0 * s,
    );
    (k, centre, (s, c))
}

/// [`cut_line`] without the change of polarity.
fn cut_line_as_printed(
    gray: &GrayImage,
    line: &TextLine,
    flip: bool,
    zoom: f32,
) -> (GrayImage, f32) {
    let (k, (cx, cy), (s, c)) = crop_frame(line, flip, zoom);
    let margin = LINE_START_MARGIN * line.text_height;
    let out_w = (((line.length + margin) * k).ceil() as u32).clamp(8, MAX_CROP_WIDTH_PX);
    let out_h = ((line.text_height * 1.45 * k).ceil() as u32).clamp(8, 200);
    let (w, h) = (gray.width() as i64, gray.height() as i64);
    let raw = gray.as_raw();
    let px = |x: i64, y: i64| f32::from(raw[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize]);
    let sample = |x: f32, y: f32| {
        let (xi, yi) = (floor(x), floor(y));
        let (fx, fy) = (x - xi as f32, y - yi as f32);
        (px(xi, yi) * (1.0 - fx) + px(xi + 1, yi) * fx) * (1.0 - fy)
            + (px(xi, yi + 1) * (1.0 - fx) + px(xi + 1, yi + 1) * fx) * fy
    };
    let offsets: &[(f32, f32)] = if k < 1.0 {
        &[(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)]
    } else {
        &[(0.0, 0.0)]
    };
    let mut out = GrayImage::new(out_w, out_h);
    for (oy, row) in out.chunks_exact_mut(out_w as usize).enumerate() {
        for (ox, pixel) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for &(dx, dy) in offsets {
                // Crop coordinates relative to its centre, in photo pixels.
                let u = (ox as f32 + 0.5 + dx - out_w as f32 / 2.0) / k;
                let v = (oy as f32 + 0.5 + dy - out_h as f32 / 2.0) / k;
                acc += sample(cx + u * c - v * s - 0.5, cy + u * s + v * c - 0.5);
            }
            // Rounded half up (the value is never negative); `as` saturates at 255.
            *pixel = ((acc / offsets.len() as f32).clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
    (out, k)
}

/// `x.floor()` as an integer, without a call into libm (the default x86-64 target has no floor
/// instruction, and every crop pixel takes two): the same value for any |x| < 2²³.
fn floor(x: f32) -> i64 {
    let t = x as i64;
    if t as f32 > x { t - 1 } else { t }
}

/// The part of `line` shown in columns `xs` and rows `ys` of its crop at `zoom` (a crop of
/// `size` px, as [`cut_line`] makes it with `flip`), as a line of its own whose text height is
/// the rows' height: a value printed smaller than its caption, cut again at its own size.
pub fn part_of_line(
    line: &TextLine,
    flip: bool,
    zoom: f32,
    size: (u32, u32),
    xs: (f32, f32),
    ys: (f32, f32),
) -> TextLine {
    let (k, (cx, cy), (s, c)) = crop_frame(line, flip, zoom);
    let u = ((xs.0 + xs.1) / 2.0 - size.0 as f32 / 2.0) / k;
    let v = ((ys.0 + ys.1) / 2.0 - size.1 as f32 / 2.0) / k;
    let text_height = ((ys.1 - ys.0) / k).max(1.0);
    TextLine {
        angle: line.angle,
        centre: (cx + u * c - v * s, cy + u * s + v * c),
        length: ((xs.1 - xs.0) / k).max(1.0),
        text_height,
        chars: line.chars,
        across: line.across,
    }
}

/// Whether a line crop is printed light on dark (a black label); [`cut_line`] inverts those, so
/// every crop reaches OCR and the sharpness measures as dark print on a light ground. The ground
/// is the crop's median (most of a line crop is ground); the print lies towards whichever end of
/// the gray range is farther from it: below for dark print, above for light. Percentiles 2 and
/// 98 keep a few stray pixels from deciding, and the rule holds in low light and over-exposure
/// alike.
pub fn is_light_on_dark(crop: &GrayImage) -> bool {
    let mut histogram = [0usize; 256];
    for &v in crop.as_raw() {
        histogram[usize::from(v)] += 1;
    }
    let n = crop.as_raw().len();
    let percentile = |p: usize| {
        let want = (n * p / 100).max(1);
        let mut seen = 0;
        histogram
            .iter()
            .position(|&c| {
                seen += c;
                seen >= want
            })
            .unwrap_or(255) as i32
    };
    let (low, ground, high) = (percentile(2), percentile(50), percentile(98));
    ground - low < high - ground
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white 1280×400 page with a caption of six separate box-shaped letters (14×20 px) at
    /// x 100–230, then, after a word space, a 300 px run of letters that blur has joined (a comb
    /// of strokes on a common foot, one component), and a thin 300 px rule lower down.
    fn page() -> GrayImage {
        GrayImage::from_fn(1280, 400, |x, y| {
            let letter = (0..6).any(|k| {
                let x0 = 100 + 22 * k;
                (x0..x0 + 14).contains(&x)
                    && (100..120).contains(&y)
                    && (!(x0 + 3..x0 + 11).contains(&x) || !(103..117).contains(&y))
            });
            let run = (245..545).contains(&x) && (100..120).contains(&y) && (x % 8 < 4 || y >= 116);
            let rule = (100..400).contains(&x) && (250..253).contains(&y);
            image::Luma([if letter || run || rule { 20 } else { 235 }])
        })
    }

    #[test]
    fn a_run_of_joined_letters_stays_in_its_line() {
        let lines = find_lines(&page());
        let line = lines
            .iter()
            .find(|l| (l.centre.1 - 110.0).abs() < 5.0)
            .expect("the text line");
        // The caption alone would be about 130 px plus margins; with the run it is over 440.
        assert!(line.length > 440.0, "{line:?}");
        assert!(
            lines.iter().all(|l| (l.centre.1 - 251.0).abs() > 10.0),
            "the rule is no line: {lines:?}"
        );
    }

    #[test]
    fn small_print_away_from_the_label_is_found_and_rules_are_not() {
        // The page's label, and further down a line of print 5 px tall whose letters run
        // together (a comb of strokes on a common foot, one component, 8° off the label's text),
        // a rule 3 px thick and a solid bar 6 px thick.
        let label = page();
        let gray = GrayImage::from_fn(1280, 400, |x, y| {
            let (xf, yf) = (x as f32, y as f32);
            let v = yf - 320.0 - (xf - 700.0) * 0.14;
            let small =
                (700..860).contains(&x) && (0.0..5.0).contains(&v) && (x % 3 < 2 || v >= 4.0);
            let rule = (300..600).contains(&x) && (300..303).contains(&y);
            let bar = (900..1200).contains(&x) && (360..366).contains(&y);
            if small || rule || bar {
                image::Luma([20])
            } else {
                *label.get_pixel(x, y)
            }
        });
        let (lines, small) = find_print(&gray, &gray);
        assert!(!lines.is_empty());
        // Below the label (whose joined run may count too: the caller keeps only print away
        // from the label's lines).
        let below: Vec<&TextLine> = small.iter().filter(|l| l.centre.1 > 200.0).collect();
        assert_eq!(below.len(), 1, "{small:?}");
        let line = below[0];
        assert!((line.centre.0 - 780.0).abs() < 10.0, "{line:?}");
        let off = (line.angle - 0.14f32.atan()).rem_euclid(std::f32::consts::PI);
        assert!(off.min(std::f32::consts::PI - off) < 0.05, "{line:?}");
        assert!(line.chars >= 20, "{line:?}");
    }

    #[test]
    fn light_print_on_a_black_label_is_found_and_cut_dark_on_light() {
        let mut dark = page();
        for v in dark.iter_mut() {
            *v = 255 - *v;
        }
        let lines = find_lines(&dark);
        let line = lines
            .iter()
            .find(|l| (l.centre.1 - 110.0).abs() < 5.0)
            .expect("the light text line");
        assert!(line.length > 440.0, "{line:?}");
        let (crop, _) = cut_line(&dark, line, false, 1.0);
        let (light, _) = cut_line(&page(), line, false, 1.0);
        let mean = |c: &GrayImage| c.iter().map(|&v| f64::from(v)).sum::<f64>() / c.len() as f64;
        assert!(mean(&crop) > 150.0, "crop ground is light: {}", mean(&crop));
        assert!((mean(&crop) - mean(&light)).abs() < 2.0);
    }

    #[test]
    fn dark_print_stays_as_it_is_in_any_light() {
        for (ground, ink) in [(235u8, 20u8), (90, 10), (255, 180)] {
            let mut crop = GrayImage::from_fn(200, 46, |x, y| {
                image::Luma([if (10..36).contains(&y) && x % 10 < 3 {
                    ink
                } else {
                    ground
                }])
            });
            assert!(!is_light_on_dark(&crop), "ground {ground}, ink {ink}");
            for v in crop.iter_mut() {
                *v = 255 - *v;
            }
            assert!(
                is_light_on_dark(&crop),
                "inverted: ground {ground}, ink {ink}"
            );
        }
    }

    /// A chain of `n` 20 px high candidates 14 px apart along the text, from `u0`, `v` across.
    fn chain(u0: f32, v: f32, n: usize) -> Builder {
        let item = |k: usize| Item {
            u: u0 + 14.0 * k as f32,
            v,
            h: 20.0,
            half: 6.0,
        };
        Builder::from((0..n).map(item).collect::<Vec<_>>())
    }

    #[test]
    fn interleaved_pieces_of_one_line_are_joined() {
        // A caption and the start of the value (u 0–130), and the value from u 100 on, over the
        // same text; the line below (30 px lower) overlaps both along the text.
        let lines = merge_interleaved(vec![
            chain(0.0, 50.0, 10),
            chain(100.0, 51.0, 20),
            chain(0.0, 80.0, 25),
        ]);
        let mut sizes: Vec<usize> = lines.iter().map(|l| l.members.len()).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [25, 30]);
        // Pieces that follow each other with a gap are left to the chaining: a caption read
        // apart from its value stays apart.
        let apart = merge_interleaved(vec![chain(0.0, 50.0, 4), chain(80.0, 50.0, 10)]);
        assert_eq!(apart.len(), 2);
    }
}
