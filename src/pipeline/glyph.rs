//! Settling characters the OCR confuses, by the shape of their ink.
//!
//! Tesseract's LSTM reads a sans-serif capital `I` or a `T` as `1` next to digits, a dotted or
//! slashed zero (DejaVu Sans Mono and Liberation Mono print them) as `8`, `6` or `G`, and a mono
//! `J` as `3`. Those are the differences that decide between MATCH and MISMATCH, so
//! [`settle_by_shape`] looks at the glyph itself: the crop is binarised midway between its dark
//! and light levels, the character's ink component is found under its OCR box, and simple row
//! profiles of that component (leftmost and rightmost ink, runs of ink per row) decide. Where the
//! shape is not clear the character is left as read, so the comparison stays INCONCLUSIVE rather
//! than guessing; where it is clearly none of the candidates it becomes `?`, so that read parses
//! as no serial and counts neither for nor against one.
//!
//! Nothing here knows the reported serial.

use image::GrayImage;

use super::ocr::{CharRead, LineRead};

/// One row of a glyph's ink component, in crop pixels.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Leftmost ink.
    left: f32,
    /// Just past the rightmost ink.
    right: f32,
    /// Separate runs of ink in the row.
    runs: u32,
    /// Background pixels between the leftmost and rightmost ink.
    gap: f32,
}

/// The rows of a glyph, top to bottom (`None` for a row without ink of the component).
struct Glyph {
    rows: Vec<Option<Row>>,
    /// Whether other ink centred above or below the glyph reaches outside its box (the tail of a
    /// `Q`, the dot of a `j`); ink wholly inside the box (a zero's dot) does not count.
    stray_ink: bool,
}

impl Glyph {
    /// The rows from `a` to `b` (fractions of the height, inclusive) that hold ink.
    fn band(&self, a: f32, b: f32) -> Vec<Row> {
        let n = self.rows.len();
        let (i, j) = (
            (n as f32 * a) as usize,
            ((n as f32 * b) as usize).min(n - 1),
        );
        self.rows[i..=j].iter().flatten().copied().collect()
    }
}

/// Leftmost and rightmost ink of `rows`, px.
fn extent(rows: &[Row]) -> (f32, f32) {
    let left = rows.iter().map(|r| r.left).fold(f32::MAX, f32::min);
    let right = rows.iter().map(|r| r.right).fold(f32::MIN, f32::max);
    (left, right)
}

/// Median of the row centres of a band.
fn centre_of(band: &[Row]) -> Option<f32> {
    let mut centres: Vec<f32> = band.iter().map(|r| (r.left + r.right) / 2.0).collect();
    centres.sort_by(f32::total_cmp);
    centres.get(centres.len() / 2).copied()
}

/// The binarised crop's components, ready to look up a character's glyph.
struct Ink {
    labels: image::ImageBuffer<image::Luma<u32>, Vec<u32>>,
    /// Bounding boxes `(x0, y0, x1, y1)`, inclusive, of the components.
    boxes: Vec<(usize, usize, usize, usize)>,
    /// Height of the tallest component, px.
    tallest: usize,
}

impl Ink {
    /// Binarises `crop` midway between its 5th and 95th percentile gray levels; `None` when it
    /// is too small or too flat (less than 40 levels of contrast) to judge shapes.
    fn new(crop: &GrayImage) -> Option<Ink> {
        if crop.width() < 4 || crop.height() < 8 {
            return None;
        }
        let n = crop.as_raw().len();
        let [lo, hi] = super::gray_levels_at_ranks(crop, [n / 20, n * 19 / 20]);
        if hi.saturating_sub(lo) < 40 {
            return None;
        }
        let threshold = ((u16::from(lo) + u16::from(hi)) / 2) as u8;
        let mask = GrayImage::from_fn(crop.width(), crop.height(), |x, y| {
            image::Luma([if crop.get_pixel(x, y)[0] < threshold {
                255
            } else {
                0
            }])
        });
        let (labels, blobs) = super::locate::components(&mask);
        let boxes: Vec<(usize, usize, usize, usize)> = blobs
            .iter()
            .map(|b| (b.x0 as usize, b.y0 as usize, b.x1 as usize, b.y1 as usize))
            .collect();
        let tallest = boxes
            .iter()
            .filter(|b| b.0 != u32::MAX as usize)
            .map(|b| b.3 + 1 - b.1)
            .max()
            .unwrap_or(0);
        Some(Ink {
            labels,
            boxes,
            tallest,
        })
    }

    /// The component under `c`: the tall component (at least 60% of the tallest) that holds at
    /// least 60% of the width of its OCR box and the box's centre; `None` if there is none or the
    /// box also holds half of another tall component (it spans two glyphs).
    fn owner(&self, c: &CharRead) -> Option<usize> {
        let (cx0, cx1) = (
            c.x0.max(0) as usize,
            (c.x1.max(0) as usize).min(self.labels.width() as usize),
        );
        // The tall component holding most of the box's width: at least 60% of it, and the box's
        // centre. A box over two glyphs (blurred text is boxed badly) settles nothing.
        let width = cx1.saturating_sub(cx0).max(1) as f32;
        // (component, fraction of the box it holds, fraction of it the box holds)
        let under: Vec<(usize, f32, f32)> = self
            .boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.0 != u32::MAX as usize && (b.3 + 1 - b.1) * 10 >= self.tallest * 6)
            .map(|(i, b)| {
                let overlap = (b.2 + 1).min(cx1).saturating_sub(b.0.max(cx0)) as f32;
                (i, overlap / width, overlap / (b.2 + 1 - b.0) as f32)
            })
            .filter(|u| u.1 > 0.0)
            .collect();
        let &(index, inside, _) = under.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let (bx0, _, bx1, _) = self.boxes[index];
        let other_glyph = under.iter().any(|u| u.0 != index && u.2 >= 0.5);
        (inside >= 0.6 && !other_glyph && (bx0..=bx1 + 1).contains(&((cx0 + cx1) / 2)))
            .then_some(index)
    }

    /// Whether component `index` has the proportions of one glyph (no wider than 0.9 of its
    /// height), not of several run together.
    fn single_glyph(&self, index: usize) -> bool {
        let (x0, y0, x1, y1) = self.boxes[index];
        (x1 + 1 - x0) * 10 <= (y1 + 1 - y0) * 9
    }

    /// The glyph of component `index` (a character's [`Ink::owner`]), if it is at least 8 rows
    /// tall.
    fn glyph(&self, index: usize) -> Option<Glyph> {
        let (bx0, by0, bx1, by1) = self.boxes[index];
        let label = index as u32 + 1;
        let rows: Vec<Option<Row>> = (by0..=by1)
            .map(|y| {
                let mut row: Option<Row> = None;
                let mut inside = false;
                for x in bx0..=bx1 {
                    let ink = self.labels.get_pixel(x as u32, y as u32)[0] == label;
                    if ink {
                        let r = row.get_or_insert(Row {
                            left: x as f32,
                            right: x as f32 + 1.0,
                            runs: 0,
                            gap: 0.0,
                        });
                        if !inside {
                            if r.runs > 0 {
                                r.gap += x as f32 - r.right;
                            }
                            r.runs += 1;
                        }
                        r.right = x as f32 + 1.0;
                    }
                    inside = ink;
                }
                row
            })
            .collect();
        let stray_ink = self.boxes.iter().enumerate().any(|(i, b)| {
            let centre = (b.0 + b.2) / 2;
            i != index
                && b.0 != u32::MAX as usize
                && (bx0..=bx1).contains(&centre)
                && !(b.0 >= bx0 && b.2 <= bx1 && b.1 >= by0 && b.3 <= by1)
        });
        (rows.len() >= 8).then_some(Glyph { rows, stray_ink })
    }
}

/// Settles look-alike characters of `read` (an OCR read of `crop`) by their glyphs' shapes: the
/// bar rule for characters read as `1`, `I`, `l` or `|` (`1`, `I`, `L`, `T` or `?`), the zero
/// rule for those read as `8`, `6`, `9`, `G` (or `0`), the `J` rule for those read as `3` (see
/// the module documentation and the private rule functions). Two neighbouring characters read
/// over one glyph are that glyph read twice: one `0` if it is a zero (the LSTM splits a dotted
/// zero into `60` or `O0`), else both become `?`.
pub fn settle_by_shape(crop: &GrayImage, read: &mut LineRead) {
    let bar = |ch: char| matches!(ch, '1' | 'I' | 'l' | '|');
    let round = |ch: char| matches!(ch, '8' | '6' | '9' | 'G' | '0');
    let hooked = |ch: char| ch == '3';
    let Some(ink) = Ink::new(crop) else { return };
    let owners: Vec<Option<usize>> = read.chars.iter().map(|c| ink.owner(c)).collect();
    // Which characters settled to a zero.
    let mut zero = vec![false; read.chars.len()];
    for ((c, owner), zero) in read.chars.iter_mut().zip(&owners).zip(zero.iter_mut()) {
        if !(bar(c.ch) || round(c.ch) || hooked(c.ch)) {
            continue;
        }
        let Some(glyph) = owner.and_then(|index| ink.glyph(index)) else {
            continue;
        };
        if bar(c.ch) {
            if let Some(ch) = bar_shape(&glyph) {
                c.ch = ch;
            }
        } else if hooked(c.ch) {
            if is_j_shape(&glyph) {
                c.ch = 'J';
            }
        } else if is_zero_shape(&glyph) {
            c.ch = '0';
            *zero = true;
        }
    }
    // One glyph read as two characters: neighbours over the same glyph-sized component, the
    // second box starting in the first half of the first (OCR boxes of neighbouring letters
    // overlap too, but not that far). A zero read twice (`60`, `O0`) is one zero;
    // anything else (`G6` over one `G`) shows the read is wrong there, so both become `?`.
    let mut twice = vec![false; read.chars.len()];
    for i in 1..read.chars.len() {
        let (a, b) = (&read.chars[i - 1], &read.chars[i]);
        let one_glyph = owners[i].is_some_and(|k| ink.single_glyph(k))
            && owners[i] == owners[i - 1]
            && 2 * b.x0 < a.x0 + a.x1;
        if !one_glyph {
            continue;
        }
        let zero_like = |ch: char| matches!(ch, '0' | 'O' | 'D' | '8' | '6' | '9');
        let ring = zero[i] || zero[i - 1];
        if ring && zero_like(a.ch) && zero_like(b.ch) {
            read.chars[i - 1].ch = '0';
            read.chars[i - 1].x1 = read.chars[i - 1].x1.max(read.chars[i].x1);
            twice[i] = true;
        } else {
            read.chars[i - 1].ch = '?';
            read.chars[i].ch = '?';
        }
    }
    let mut keep = twice.into_iter();
    read.chars.retain(|_| !keep.next().unwrap_or(false));
    unmask_wide_zeros(&ink, read);
}

/// How much wider than the line's median zero (ink width) a glyph read `0` may be before it is
/// taken for a round capital (`O`, `D`, `Q`) that the OCR read as a zero: 1.2×. Capitals are
/// wider than the digit zero in proportional faces (about 1.4× in Liberation Sans Narrow).
pub const ZERO_WIDTH_RATIO_MAX: f32 = 1.2;

/// A round capital read as `0` (the LSTM's habit next to digits) becomes `?`: among three or more
/// single glyphs read `0` on one line, one whose ink is more than [`ZERO_WIDTH_RATIO_MAX`] times
/// the median zero's width is not the same character as the others. The line's own zeros are
/// the measure, so no face's proportions are assumed.
fn unmask_wide_zeros(ink: &Ink, read: &mut LineRead) {
    let widths: Vec<Option<f32>> = read
        .chars
        .iter()
        .map(|c| {
            if c.ch != '0' {
                return None;
            }
            let index = ink.owner(c).filter(|&k| ink.single_glyph(k))?;
            let glyph = ink.glyph(index)?;
            let rows: Vec<Row> = glyph.rows.iter().flatten().copied().collect();
            let (left, right) = extent(&rows);
            (right > left).then_some(right - left)
        })
        .collect();
    let mut zeros: Vec<f32> = widths.iter().flatten().copied().collect();
    if zeros.len() < 3 {
        return;
    }
    zeros.sort_by(f32::total_cmp);
    let median = zeros[zeros.len() / 2];
    for (c, w) in read.chars.iter_mut().zip(widths) {
        if w.is_some_and(|w| w > ZERO_WIDTH_RATIO_MAX * median) {
            c.ch = '?';
        }
    }
}

/// Least-squares drift of the row centres across the whole glyph height between rows `a` and
/// `b` (fractions of the height), px: how far a stem leans.
fn lean(glyph: &Glyph, a: f32, b: f32) -> Option<f32> {
    let n = glyph.rows.len();
    let points: Vec<(f32, f32)> = glyph
        .rows
        .iter()
        .enumerate()
        .filter(|(y, _)| (a..=b).contains(&(*y as f32 / n as f32)))
        .filter_map(|(y, r)| r.map(|r| (y as f32, (r.left + r.right) / 2.0)))
        .collect();
    if points.len() < 4 {
        return None;
    }
    let k = points.len() as f32;
    let (my, mx) = (
        points.iter().map(|p| p.0).sum::<f32>() / k,
        points.iter().map(|p| p.1).sum::<f32>() / k,
    );
    let (mut sxy, mut syy) = (0.0f32, 0.0f32);
    for &(y, x) in &points {
        sxy += (y - my) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (syy > 0.0).then(|| sxy / syy * n as f32)
}

/// Whether two reaches either side of a stem are alike: within 0.35 stem widths, or 40% of the
/// longer one.
fn symmetric(left: f32, right: f32, stem: f32) -> bool {
    (left - right).abs() <= (0.35 * stem.max(2.0)).max(0.4 * left.max(right))
}

/// `1`, `I`, `L`, `T` or `?` for a glyph read as a bar, or `None` to leave it as read.
///
/// The stem is the rows between 25% and 75% of the height; its width `s` is their lower quartile
/// width, and must be at most a quarter of the glyph's height (thicker is a blurred blob). The
/// glyph is a bar only if each of those rows is one run at most 1.35 s + 0.5 px wide on one
/// vertical (within 1 s of the stem's centre); then, in stem widths:
/// - an upright stem with a foot to the right only and a bare top is an `L` (see
///   [`is_l_shape`]);
/// - a stem that leans (row centres from 25% to 95% of the height drift by more than 0.6 s, and
///   more than 2 px, over the height) is no bar (a `7` read as `1`): `?`;
/// - the bottom fifth must be symmetric (bare, or a base serif): a `J`, or an `L` the rule above
///   refused, is left as read;
/// - `1`: the top fifth carries a flag to the left only (more than 0.8 s beyond the stem, and
///   more than 1.8× as far as to the right);
/// - otherwise the top must be symmetric (see [`symmetric`]); then `T` if the top reaches more
///   than 0.8 s beyond the stem and the foot at most 0.5 s (a bar on a bare stem), `I` if
///   neither reaches more than 0.5 s (a bare bar) or both more than 0.8 s and alike within 40%
///   (serifs top and bottom); anything between is left as read.
fn bar_shape(glyph: &Glyph) -> Option<char> {
    let stem_rows = glyph.band(0.25, 0.75);
    let mut widths: Vec<f32> = stem_rows.iter().map(|r| r.right - r.left).collect();
    widths.sort_by(f32::total_cmp);
    let stem = widths.get(widths.len() / 4)?.max(1.0);
    let centre = centre_of(&stem_rows)?;
    let leans = lean(glyph, 0.25, 0.95).is_some_and(|d| d.abs() > (0.6 * stem).max(2.0));
    let is_bar = stem_rows.iter().all(|r| {
        r.runs == 1
            && r.right - r.left <= 1.35 * stem + 0.5
            && ((r.left + r.right) / 2.0 - centre).abs() <= stem
    });
    // A stem over a quarter of the glyph's height thick is a blurred blob, not a bar.
    if stem > 0.25 * glyph.rows.len() as f32 {
        return None;
    }
    if is_bar && is_l_shape(glyph, stem, centre) {
        return Some('L');
    }
    if leans && stem_rows.iter().all(|r| r.runs == 1) {
        return Some('?');
    }
    if !is_bar {
        return None;
    }
    let reach = |band: &[Row]| {
        let left = band.iter().map(|r| centre - r.left).fold(0.0f32, f32::max);
        let right = band.iter().map(|r| r.right - centre).fold(0.0f32, f32::max);
        (left, right)
    };
    let (left, right) = reach(&glyph.band(0.0, 0.2));
    let (bottom_left, bottom_right) = reach(&glyph.band(0.8, 1.0));
    if !symmetric(bottom_left, bottom_right, stem) {
        return None;
    }
    let half = stem / 2.0;
    if left - half > 0.8 * stem && left > 1.8 * right {
        return Some('1');
    }
    if !symmetric(left, right, stem) {
        return None;
    }
    // How far the top and the foot reach beyond the stem, px.
    let (top, foot) = (left.min(right) - half, bottom_left.max(bottom_right) - half);
    let (bare, spread) = (0.5 * stem.max(2.0), 0.8 * stem.max(2.0));
    if top > spread && foot <= bare {
        Some('T')
    } else if (top <= bare && foot <= bare)
        || (top > spread && foot > spread && (top - foot).abs() <= 0.4 * top.max(foot))
    {
        Some('I')
    } else {
        None
    }
}

/// Whether a bar glyph (stem width `stem`, centred at `centre`, px) is an `L`: the stem stands
/// upright between 25% and 75% of the height (its row centres drift by at most 0.6 stem widths,
/// and 2 px, over the height), the top fifth reaches at most half a stem width (at least 1 px)
/// beyond it either side (bare), and the bottom fifth is a foot to the right only: more than 1.5
/// stem widths and a quarter of the glyph's height beyond the stem, while reaching at most half
/// a stem width (at least 1 px) left. A `1`'s base serif is symmetric and its flag is at the
/// top; a `7`'s stem leans all the way down. Without this rule the foot made an `L` read as `1`
/// look like a leaning `7`.
fn is_l_shape(glyph: &Glyph, stem: f32, centre: f32) -> bool {
    let half = stem / 2.0;
    let bare = half.max(1.0);
    let upright = lean(glyph, 0.25, 0.75).is_some_and(|d| d.abs() <= (0.6 * stem).max(2.0));
    let top = glyph.band(0.0, 0.2);
    let foot = glyph.band(0.8, 1.0);
    if top.is_empty() || foot.is_empty() {
        return false;
    }
    let (top_left, top_right) = extent(&top);
    let (foot_left, foot_right) = extent(&foot);
    let height = glyph.rows.len() as f32;
    upright
        && centre - top_left - half <= bare
        && top_right - centre - half <= bare
        && centre - foot_left - half <= bare
        && foot_right - centre - half > (1.5 * stem).max(0.25 * height)
}

/// Whether a glyph read as `3` is a `J`: between 30% and 70% of the height every row is one
/// narrow run (at most 40% of the glyph's width) right of the glyph's middle on one vertical
/// (a `3` reaches left with its middle arm and its bowls' ends), and the bottom fifth hooks back
/// left to within a quarter of the width from the left edge.
fn is_j_shape(glyph: &Glyph) -> bool {
    let all: Vec<Row> = glyph.rows.iter().flatten().copied().collect();
    let (left_most, right_most) = extent(&all);
    let widest = right_most - left_most;
    let middle = (left_most + right_most) / 2.0;
    let stem = glyph.band(0.3, 0.7);
    if widest < 6.0 || stem.len() * 10 < glyph.rows.len() * 3 {
        return false;
    }
    let Some(centre) = centre_of(&stem) else {
        return false;
    };
    let stem_ok = stem.iter().all(|r| {
        r.runs == 1
            && r.right - r.left <= 0.4 * widest
            && r.left > middle
            && ((r.left + r.right) / 2.0 - centre).abs() <= 1.5
    });
    let hook = glyph
        .band(0.8, 1.0)
        .iter()
        .any(|r| r.left - left_most <= 0.25 * widest && r.right > middle);
    stem_ok && hook && lean(glyph, 0.3, 0.7).is_some_and(|d| d.abs() <= 2.0)
}

/// Widest row between 15% and 85% of the height that a zero may narrow to in its middle
/// (35–65%), as a fraction: an `8` pinches to its waist there, a zero does not.
const ZERO_MIDDLE_WIDTH_MIN: f32 = 0.9;
/// How far either outline may step inwards between 15% and 85% of the height, as a fraction of
/// the widest row: a `6` or `9` opens there, a zero does not.
const ZERO_OUTLINE_INDENT_MAX: f32 = 0.25;
/// How much the left and right outlines may differ in any row, as a fraction of the widest row:
/// a zero is a mirror-symmetric oval (a `D` is flat on one side).
const ZERO_ASYMMETRY_MAX: f32 = 0.15;
/// Narrowest the counter (the background inside the ring, a dot or slash aside) may be at a
/// quarter and three quarters of the height, as a fraction of the widest row: a blurred blob (a
/// bold `B`) has none to speak of.
const ZERO_COUNTER_MIN: f32 = 0.2;
/// How far both outlines must step in somewhere in the top and in the bottom 15% of the height,
/// as a fraction of the widest row: a zero is round at both ends.
const ZERO_END_INDENT_MIN: f32 = 0.15;
/// Widest a row closing the top or bottom of a zero may be, as a fraction of the widest row.
const ZERO_CAP_WIDTH_MAX: f32 = 0.8;

/// Whether a glyph read as `8`, `6`, `9` or `G` is a zero (plain, dotted or slashed):
/// - a closed ring: in the top and the bottom tenth a row of one run at most
///   [`ZERO_CAP_WIDTH_MAX`] of the widest row, and the first and last rows of those tenths
///   centred (within 15% of the widest row plus half a pixel); around a quarter and three
///   quarters of the height, most rows of two or more runs with at least [`ZERO_COUNTER_MIN`] of
///   background between;
/// - round at both ends (see [`ZERO_END_INDENT_MIN`]), and every row between 10% and 90% of the
///   height mirror-symmetric within [`ZERO_ASYMMETRY_MAX`] of the widest row plus 1 px;
/// - no opening: the outlines do not step in by more than [`ZERO_OUTLINE_INDENT_MAX`] between
///   15% and 85% of the height;
/// - no waist: the middle stays at least [`ZERO_MIDDLE_WIDTH_MIN`] of the widest row.
///
/// The dot or slash inside does not touch the outline, so it does not matter; other ink above or
/// below (a `Q`'s detached tail) rules a zero out.
fn is_zero_shape(glyph: &Glyph) -> bool {
    if glyph.stray_ink {
        return false;
    }
    let body = glyph.band(0.15, 0.85);
    if body.len() * 10 < glyph.rows.len() * 6 {
        return false;
    }
    let (left_most, right_most) = extent(&body);
    let widest = right_most - left_most;
    if widest < 4.0 {
        return false;
    }
    let outline_ok = body.iter().all(|r| {
        let (l, r) = (r.left - left_most, right_most - r.right);
        l <= ZERO_OUTLINE_INDENT_MAX * widest
            && r <= ZERO_OUTLINE_INDENT_MAX * widest
            && (l - r).abs() <= ZERO_ASYMMETRY_MAX * widest
    });
    let middle_width = glyph
        .band(0.35, 0.65)
        .iter()
        .map(|r| r.right - r.left)
        .fold(f32::MAX, f32::min);
    // Most rows around a quarter and three quarters of the height cross a counter.
    let ring = |at: f32| {
        let band = glyph.band(at - 0.05, at + 0.05);
        let open = band
            .iter()
            .filter(|r| r.runs >= 2 && r.gap >= ZERO_COUNTER_MIN * widest)
            .count();
        open * 2 > band.len()
    };
    // The top and bottom tenth close the ring with one centred run, narrower than the middle (a
    // curve, not the flat top of an `H` or `N`, the stems of a `U` or the tail of a `Q`).
    let middle = (left_most + right_most) / 2.0;
    let centred = |r: &Row| ((r.left + r.right) / 2.0 - middle).abs() <= 0.15 * widest + 0.5;
    let capped = |a: f32, b: f32| {
        let band = glyph.band(a, b);
        band.first().is_some_and(centred)
            && band.last().is_some_and(centred)
            && band
                .iter()
                .any(|r| r.runs == 1 && r.right - r.left <= ZERO_CAP_WIDTH_MAX * widest)
    };
    let mirrored = glyph.band(0.1, 0.9).iter().all(|r| {
        ((r.left - left_most) - (right_most - r.right)).abs() <= ZERO_ASYMMETRY_MAX * widest + 1.0
    });
    // Round at both ends on both sides: some row of the top and of the bottom 15% is indented
    // from both outlines (a `D` or `B` is flat on the left).
    let rounded = |a: f32, b: f32| {
        glyph.band(a, b).iter().any(|r| {
            r.left - left_most >= ZERO_END_INDENT_MIN * widest
                && right_most - r.right >= ZERO_END_INDENT_MIN * widest
        })
    };
    mirrored
        && rounded(0.0, 0.15)
        && rounded(0.85, 1.0)
        && outline_ok
        && middle_width >= ZERO_MIDDLE_WIDTH_MIN * widest
        && ring(0.25)
        && ring(0.75)
        && capped(0.0, 0.1)
        && capped(0.9, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws dark glyphs made of filled rectangles `(x0, y0, x1, y1)` (exclusive ends) on white.
    fn glyphs(width: u32, rects: &[(u32, u32, u32, u32)]) -> GrayImage {
        GrayImage::from_fn(width, 40, |x, y| {
            let ink = rects
                .iter()
                .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y));
            image::Luma([if ink { 20 } else { 235 }])
        })
    }

    /// A hollow box glyph (a zero or a capital O, by its width), stroke 4 px, 30 px tall.
    fn ring(x0: u32, width: u32) -> Vec<(u32, u32, u32, u32)> {
        vec![
            (x0, 5, x0 + width, 9),
            (x0, 31, x0 + width, 35),
            (x0, 5, x0 + 4, 35),
            (x0 + width - 4, 5, x0 + width, 35),
        ]
    }

    #[test]
    fn a_round_capital_read_as_zero_among_zeros_is_not_settled_into_one() {
        // Three zeros 16 px wide and, second, an O 23 px wide: all read `0`.
        let rects: Vec<_> = [(10, 16), (40, 23), (75, 16), (105, 16)]
            .into_iter()
            .flat_map(|(x, w)| ring(x, w))
            .collect();
        let crop = glyphs(140, &rects);
        let mut read =
            LineRead::of_boxes(&[('0', 10, 26), ('0', 40, 63), ('0', 75, 91), ('0', 105, 121)]);
        settle_by_shape(&crop, &mut read);
        let text: String = read.chars.iter().map(|c| c.ch).collect();
        assert_eq!(text, "0?00");
        // Zeros of one width stay zeros; two zeros alone are no measure.
        let same: Vec<_> = [10, 40, 75].into_iter().flat_map(|x| ring(x, 16)).collect();
        let mut read = LineRead::of_boxes(&[('0', 10, 26), ('0', 40, 56), ('0', 75, 91)]);
        settle_by_shape(&glyphs(120, &same), &mut read);
        assert!(read.chars.iter().all(|c| c.ch == '0'));
        let pair: Vec<_> = [(10, 16), (40, 23)]
            .into_iter()
            .flat_map(|(x, w)| ring(x, w))
            .collect();
        let mut read = LineRead::of_boxes(&[('0', 10, 26), ('0', 40, 63)]);
        settle_by_shape(&glyphs(80, &pair), &mut read);
        assert!(read.chars.iter().all(|c| c.ch == '0'));
    }

    #[test]
    fn bars_are_settled_by_shape() {
        // A flagged 1, a serif I, a bare I, a T, and a 7 whose stem runs diagonally; more below.
        let mut rects = vec![
            (10, 5, 15, 35),
            (4, 5, 10, 10),
            (50, 5, 55, 35),
            (44, 5, 61, 8),
            (44, 32, 61, 35),
            (80, 5, 85, 35),
            (110, 5, 115, 35),
            (100, 5, 126, 9),
            (140, 5, 166, 9),
        ];
        for row in 9..35 {
            let x = 160 - (row - 9) * 14 / 26;
            rects.push((x, row, x + 5, row + 1));
        }
        // An L (stem and a foot to the right), and a 1 with a flag and a base serif both ways.
        rects.extend([(180, 5, 185, 35), (180, 30, 198, 35)]);
        rects.extend([(220, 5, 225, 35), (214, 5, 220, 10), (214, 31, 231, 35)]);
        let crop = glyphs(240, &rects);
        let mut read = LineRead::of_boxes(&[
            ('1', 4, 15),
            ('1', 44, 61),
            ('1', 79, 86),
            ('1', 100, 126),
            ('1', 140, 166),
            ('1', 180, 198),
            ('1', 214, 231),
        ]);
        settle_by_shape(&crop, &mut read);
        assert_eq!(read.text(), "1IIT?L1");
    }

    #[test]
    fn a_ring_with_a_dot_is_a_zero_and_a_waist_is_not() {
        // A ring 17 px wide and 30 px tall with a dot inside, then an 8: two rings stacked, so
        // its middle pinches to a waist.
        let mut rects = Vec::new();
        for row in 5..35u32 {
            let t = (row as f32 + 0.5 - 20.0) / 15.0;
            let half = (8.5 * (1.0 - t * t).max(0.0).sqrt()).round() as u32;
            let (l, r) = (10 + 8 - half.min(8), 10 + 9 + half.min(8));
            rects.push((l, row, (l + 3).min(r), row + 1));
            rects.push((r.saturating_sub(3).max(l), row, r, row + 1));
            if (7..33).contains(&row) && !(9..31).contains(&row) {
                rects.push((l, row, r, row + 1));
            }
        }
        rects.push((16, 17, 21, 23));
        for row in 5..35u32 {
            // Two circles of radius 7.5 centred at rows 12.5 and 27.5.
            let (cy, rad) = if row < 20 {
                (12.5, 7.5f32)
            } else {
                (27.5, 7.5)
            };
            let t = (row as f32 + 0.5 - cy) / rad;
            let half = (8.0 * (1.0 - t * t).max(0.0).sqrt()).round() as u32;
            let (l, r) = (50 + 8 - half, 50 + 9 + half);
            rects.push((l, row, (l + 3).min(r), row + 1));
            rects.push((r.saturating_sub(3).max(l), row, r, row + 1));
        }
        rects.push((52, 5, 66, 7));
        rects.push((52, 19, 66, 21));
        rects.push((52, 33, 66, 35));
        let crop = glyphs(80, &rects);
        let mut read = LineRead::of_boxes(&[('8', 5, 32), ('8', 45, 72)]);
        settle_by_shape(&crop, &mut read);
        assert_eq!(read.text(), "08");
        // The zero read twice ("60" over one ring) is one zero.
        let mut split = LineRead::of_boxes(&[('6', 5, 20), ('0', 10, 32), ('8', 45, 72)]);
        settle_by_shape(&crop, &mut split);
        assert_eq!(split.text(), "08");
        // Any other glyph read twice makes that read unreliable there.
        let mut twice = LineRead::of_boxes(&[('G', 45, 65), ('6', 50, 72)]);
        settle_by_shape(&crop, &mut twice);
        assert_eq!(twice.text(), "??");
    }
}
