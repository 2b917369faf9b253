//! Text lines from a learned text detector (PP-OCR's DB detector), as the lines to read.
//!
//! The detector sees a view of the photo: the region of the text the locator found (every line
//! of it, with a margin of [`REGION_MARGIN`] text heights), scaled so that text is about
//! [`DETECT_TEXT_PX`] tall (the height most located characters have, so that a barcode's bars
//! do not count as large print), within [`MAX_DETECT_PIXELS`]; the whole photo at
//! [`FALLBACK_LONG_SIDE`] when the locator found no text. Scaling by the text's own height keeps
//! small print large enough to detect, where a fixed size for the whole photo would shrink it
//! to a few pixels. When that view still shrinks a small label's print (a row of tall marks
//! beside the label sets its scale), the detector also runs on a close view of the print alone
//! ([`detector_views`]). A line of print the locator found, that the detector's views show
//! under [`MISSED_VIEW_PX`] and that the detector found nothing along (small print beside a
//! label's large captions, a slip's serial far from the label in a view the pixel cap shrank),
//! gets a view of its own, scaled for its print; so does a piece of
//! print the detector found under [`SMALL_PIECE_PX`] in its view (it finds only part of a line
//! at that size), followed along its line.
//!
//! Its probability map becomes lines as DB's post-processing does: pixels above
//! [`BINARY_THRESHOLD`] joined into components, each component's mean probability at least
//! [`BOX_THRESHOLD`], its rectangle (here from the component's moments: direction, extent along
//! and across) grown across the line as DB's unclip grows a long line (by [`UNCLIP_RATIO`] / 2
//! of its height on each side) and padded at both ends. Every line then points the way most of
//! the text runs, so that the reader's choice of "which way up" holds for all of them, and the
//! pieces of one line (words, letters printed apart) are joined.
//!
//! Nothing here looks at the reported serial.

use image::GrayImage;
use imageproc::region_labelling::{Connectivity, connected_components};

use super::locate::{TextLine, root, within};
use super::ocr::Readers;
use super::resample::scale_region;
use crate::error::Result;

/// Text height the detector's view is scaled to, view px (the DB detectors find text of about
/// 10–40 px best).
pub const DETECT_TEXT_PX: f32 = 20.0;
/// Most pixels of the detector's view (its time grows with them: about 0.3 ms per thousand on
/// one thread).
pub const MAX_DETECT_PIXELS: f32 = 800_000.0;
/// Largest upscale of the photo for the detector's view.
pub const MAX_UPSCALE: f32 = 2.0;
/// Long side of the whole-photo view used when the locator found no text, px.
pub const FALLBACK_LONG_SIDE: f32 = 960.0;
/// Margin around the located text, in text heights ([`text_height`]).
pub const REGION_MARGIN: f32 = 4.0;
/// Probability above which a pixel is text, ×255 (DB's 0.3).
pub const BINARY_THRESHOLD: u8 = 77;
/// Lowest mean probability of a component kept as a line (DB's box threshold).
pub const BOX_THRESHOLD: f32 = 0.5;
/// DB's unclip ratio: DB grows a detected core by area × ratio / perimeter on every side, for a
/// long line about ratio / 2 of its height; here the height grows so, the ends by [`END_PAD`].
pub const UNCLIP_RATIO: f32 = 1.6;
/// Ink added at each end of a detected core, in text heights: DB's core stops short of a line's
/// ends by about 0.4 text heights; the locator pads its lines by 0.6.
const END_PAD: f32 = 0.6;
/// Smallest side of a detected core kept, view px.
const MIN_CORE_PX: f32 = 3.0;
/// Grown box height per text height: [`TextLine::text_height`] is the grown box's height over
/// this.
const BOX_PER_TEXT_HEIGHT: f32 = 1.45;

/// The detector's view of a photo: `image` holds photo pixels `(x0 + x / sx, y0 + y / sy)`.
pub struct View {
    /// The view, sides multiples of 32 px.
    pub image: GrayImage,
    /// Photo coordinates of the view's top-left corner.
    pub origin: (f32, f32),
    /// View px per photo px, across and down.
    pub scale: (f32, f32),
}

/// The lines a learned detector finds on `gray`, around the text the locator found (`located`),
/// or `None` when the readers have no detector. The detector runs on each of
/// [`detector_views`]; a closer view's lines replace those the wider view found inside it,
/// unless the wider view found more there (a close view of blurred print can find none). Then
/// each located line the detector missed ([`missed_lines`], looked at scaled for its height or
/// the photo's typical text height, the smaller), then each piece of small print it
/// found ([`small_pieces`]), is looked at alone, at most [`MAX_LOOKS`] looks a photo;
/// the lines found along it replace the pieces found there before when they reach the look's
/// length ([`Look`]).
pub fn find_lines_learned(
    gray: &GrayImage,
    located: &[TextLine],
    engine: &mut dyn Readers,
) -> Result<Option<Vec<TextLine>>> {
    let mut found: Vec<Found> = Vec::new();
    let views = detector_views(gray, located);
    let whole_scale = views.first().map_or(1.0, |v| v.scale.0);
    for view in views {
        let Some(map) = engine.detect(&view.image)? else {
            return Ok(None);
        };
        let closer = found_in_map(&map, &view);
        let (inside, outside): (Vec<Found>, Vec<Found>) =
            found.into_iter().partition(|f| view.holds(f.centre));
        found = outside;
        found.extend(if closer.len() >= inside.len() {
            closer
        } else {
            inside
        });
    }
    let typical = text_height(located).unwrap_or(f32::MAX);
    let mut looks = missed_lines(located, &found, whole_scale, typical);
    looks.extend(small_pieces(&found));
    let mut looked: Vec<View> = Vec::new();
    for look in looks {
        let line = &look.line;
        if looked.len() >= MAX_LOOKS || looked.iter().any(|v| v.holds(line.centre)) {
            continue;
        }
        let view = view_around(gray, std::slice::from_ref(line), look.text, LOOK_MARGIN);
        let Some(map) = engine.detect(&view.image)? else {
            return Ok(None);
        };
        // A line found before that is longer than a look's line is kept whole: the look's view
        // can cut a long line at its edges.
        let mut closer: Vec<Found> = found_in_map(&map, &view)
            .into_iter()
            .filter(|f| f.length >= 2.0 * f.height && line_holds(line, f.centre))
            .filter(|c| !inside_longer(c, &found))
            .collect();
        if closer.iter().map(|f| f.length).sum::<f32>() > look.enough {
            found.retain(|f| {
                !closer
                    .iter()
                    .any(|c| c.length >= f.length && c.holds(f.centre))
            });
            found.append(&mut closer);
        }
        looked.push(view);
    }
    Ok(Some(orient(found)))
}

/// Least character candidates in a located line for it to count as print the detector missed
/// (a serial holds at least nine).
const MISSED_MIN_CHARS: usize = 8;
/// Least length of a located line, in text heights, for it to count as print the detector
/// missed when its chain holds fewer than [`MISSED_MIN_CHARS`] characters: runs of joined
/// letters make few, long members.
const MISSED_MIN_LENGTH: f32 = 12.0;
/// Located lines whose text the whole view shows below this height, view px, are looked at
/// again when the detector found no line along them: DB detectors find text of 10–40 px, and
/// the print beside a label's large captions can come out at 6–9 px.
const MISSED_VIEW_PX: f32 = 12.0;
/// Share of a located line's length the detector's lines must cover for it to count as found,
/// and the share a closer look must find for its lines to be taken.
const MISSED_COVER: f32 = 0.5;
/// Most closer looks at missed lines and small pieces on one photo.
const MAX_LOOKS: usize = 2;
/// Margin around a looked-at line in its own view, text heights.
const LOOK_MARGIN: f32 = 2.0;

/// Looks at the located lines of at least [`MISSED_MIN_CHARS`] characters or
/// [`MISSED_MIN_LENGTH`] text heights, shown by the whole view (`whole_scale` view px per photo
/// px) under [`MISSED_VIEW_PX`], that the lines `found` cover for less than [`MISSED_COVER`] of
/// their length, most characters first, each scaled for its text height and taken when it finds
/// lines along [`MISSED_COVER`] of it. A line's height is taken as at most `typical`, the height
/// most located characters have: the locator measures across the label's text direction, so a
/// line turned from it (a slip laid beside the label, its letters joined into runs) measures
/// several times its print's height, and would seem large enough for the whole view.
fn missed_lines(
    located: &[TextLine],
    found: &[Found],
    whole_scale: f32,
    typical: f32,
) -> Vec<Look> {
    let mut missed: Vec<&TextLine> = located
        .iter()
        .filter(|l| {
            let height = l.text_height.min(typical);
            (l.chars >= MISSED_MIN_CHARS || l.length >= MISSED_MIN_LENGTH * height)
                && height * whole_scale < MISSED_VIEW_PX
        })
        .filter(|l| {
            const SAMPLES: usize = 9;
            let (s, c) = l.angle.sin_cos();
            let covered = (0..SAMPLES)
                .filter(|&i| {
                    let u = (i as f32 / (SAMPLES - 1) as f32 - 0.5) * 0.8 * l.length;
                    let p = (l.centre.0 + u * c, l.centre.1 + u * s);
                    found.iter().any(|f| f.holds(p))
                })
                .count();
            (covered as f32) < MISSED_COVER * SAMPLES as f32
        })
        .collect();
    missed.sort_by_key(|l| std::cmp::Reverse(l.chars));
    missed
        .into_iter()
        .map(|line| Look {
            line: line.clone(),
            text: line.text_height.min(typical),
            enough: MISSED_COVER * line.length,
        })
        .collect()
}

/// A closer look at a line: its place, the text height its view is scaled for (photo px), and
/// the total length of lines found along it that the look must reach to be taken (photo px).
struct Look {
    line: TextLine,
    text: f32,
    enough: f32,
}

/// Text height in its view below which a detected piece is small print the view shrank, view px.
const SMALL_PIECE_PX: f32 = 10.0;
/// How far a small piece's look reaches along it on each side, in the piece's text heights: DB
/// finds only part of a line of print at the bottom of its range.
const PIECE_REACH: f32 = 12.0;

/// Looks at the pieces of text the detector found under [`SMALL_PIECE_PX`] in their view, at
/// least 1.5 times as long as tall and not inside a longer line, longest first: each reaching
/// [`PIECE_REACH`] text heights along it on both sides, seen at [`MAX_UPSCALE`] (the pieces' own
/// height is unsure at that size), taken when it finds lines along it 1.5 times as long as the
/// piece.
fn small_pieces(found: &[Found]) -> Vec<Look> {
    let mut pieces: Vec<&Found> = found
        .iter()
        .filter(|f| f.length >= 1.5 * f.height && f.view_px < SMALL_PIECE_PX)
        .filter(|f| !inside_longer(f, found))
        .collect();
    pieces.sort_by(|a, b| b.length.total_cmp(&a.length));
    pieces
        .into_iter()
        .map(|f| {
            let text_height = f.height / BOX_PER_TEXT_HEIGHT;
            Look {
                line: TextLine {
                    angle: f.angle,
                    centre: f.centre,
                    length: f.length + 2.0 * PIECE_REACH * text_height,
                    text_height,
                    chars: 0,
                    across: 0.0,
                },
                text: DETECT_TEXT_PX / MAX_UPSCALE,
                enough: 1.5 * f.length,
            }
        })
        .collect()
}

/// Whether `piece`'s centre lies in a longer line of `found`.
fn inside_longer(piece: &Found, found: &[Found]) -> bool {
    found
        .iter()
        .any(|f| f.length > piece.length && f.holds(piece.centre))
}

/// Whether photo point `p` lies on `line`: within its length and within one text height of its
/// axis.
fn line_holds(line: &TextLine, p: (f32, f32)) -> bool {
    let (s, c) = line.angle.sin_cos();
    let (dx, dy) = (p.0 - line.centre.0, p.1 - line.centre.1);
    (dx * c + dy * s).abs() <= line.length / 2.0 && (-dx * s + dy * c).abs() <= line.text_height
}

/// Rounds up to a multiple of 32, at least 32.
fn multiple_of_32(v: f32) -> u32 {
    ((v / 32.0).ceil().max(1.0) as u32) * 32
}

/// The height most of the located characters have: the median of the lines' text heights, each
/// line counted once per character it holds. A barcode's bars, a QR code's modules and a logo
/// make lines of a few tall "characters"; counted once per line, they raised the median over
/// the print's height and shrank the print under the detector.
fn text_height(located: &[TextLine]) -> Option<f32> {
    height_at_rank(located, 0.5)
}

/// The text height below which `rank` (0–1) of the located characters lie, each line counted
/// once per character it holds.
fn height_at_rank(located: &[TextLine], rank: f32) -> Option<f32> {
    let mut heights: Vec<(f32, usize)> = located
        .iter()
        .map(|l| (l.text_height, l.chars.max(1)))
        .collect();
    heights.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: usize = heights.iter().map(|h| h.1).sum();
    let mut seen = 0;
    heights.into_iter().find_map(|(height, chars)| {
        seen += chars;
        (seen as f32 >= rank * total as f32).then_some(height)
    })
}

/// Rank of the located characters whose height is taken for the label's small print.
const SMALL_PRINT_RANK: f32 = 0.1;
/// Lines up to this many times the small print's height make the close view's region.
const PRINT_SPREAD: f32 = 3.0;
/// Rank of the region's characters whose height sets the close view's scale.
const CLOSE_TEXT_RANK: f32 = 0.1;
/// Least gain in scale over the whole view for a close view to be worth a detector run.
const MIN_CLOSE_GAIN: f32 = 1.5;
/// Largest share of the whole view's region a close view may cover (beyond it, the whole view
/// is about as close).
const MAX_CLOSE_AREA: f32 = 0.35;

/// The views the detector runs on: [`detector_view`], then, when that view shrinks the label's
/// print, a close view of the print alone.
///
/// The whole view spans every located line and is scaled by the height most characters have,
/// within [`MAX_DETECT_PIXELS`]. A small label in a large photo beside a row of tall marks (a
/// device's vents, a stripe on the box) then gets a view spanning the photo, scaled for the
/// marks: the label's text shrinks to a few pixels and goes undetected. The close view spans the
/// lines no taller than [`PRINT_SPREAD`] × the [`SMALL_PRINT_RANK`] height of the located
/// characters that lie together ([`densest_group`]: the marks break into pieces of that size
/// too, far from the label), scaled by the [`CLOSE_TEXT_RANK`] height of the characters of
/// their chains of two or more (lone specks and bars do not set the scale); it is taken when it
/// is at least [`MIN_CLOSE_GAIN`] closer than the whole view and covers at most
/// [`MAX_CLOSE_AREA`] of its region.
pub fn detector_views(gray: &GrayImage, located: &[TextLine]) -> Vec<View> {
    let whole = detector_view(gray, located);
    let close = height_at_rank(located, SMALL_PRINT_RANK).and_then(|small| {
        let print: Vec<TextLine> = located
            .iter()
            .filter(|l| l.text_height <= PRINT_SPREAD * small)
            .cloned()
            .collect();
        let print = densest_group(print, GROUP_REACH * PRINT_SPREAD * small);
        let chained: Vec<TextLine> = print.iter().filter(|l| is_chain(l)).cloned().collect();
        let text = height_at_rank(&chained, CLOSE_TEXT_RANK)?;
        let view = view_around(gray, &print, text, REGION_MARGIN);
        let gain = view.scale.0 / whole.scale.0;
        (gain >= MIN_CLOSE_GAIN && view.area() <= MAX_CLOSE_AREA * whole.area()).then_some(view)
    });
    std::iter::once(whole).chain(close).collect()
}

/// How far apart, in the close view's tallest print heights, two lines may lie and still be
/// print of one label (a label's lines are a text height or two apart; a code or a logo between
/// its columns a few more). Measured in that height rather than each line's own: on a label
/// turned from the text direction the locator found, the print comes out as lone specks a few
/// pixels tall, which their own heights would leave apart.
const GROUP_REACH: f32 = 4.0;

/// The lines of `lines` that lie together and hold the most characters in chains of two or
/// more ([`is_chain`]): lines are grouped when their boxes come within `reach` photo px of each
/// other. A row of marks across a large photo (vent slots) leaves pieces of a label's print size
/// along it, far from the label; a view spanning both is as coarse as the whole photo's.
fn densest_group(lines: Vec<TextLine>, reach: f32) -> Vec<TextLine> {
    let mut parent: Vec<usize> = (0..lines.len()).collect();
    for i in 0..lines.len() {
        for j in i + 1..lines.len() {
            if within(&lines[i], &lines[j], reach) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let group: Vec<usize> = (0..lines.len()).map(|i| root(&mut parent, i)).collect();
    let mut chars = vec![0usize; lines.len()];
    for (l, &g) in lines.iter().zip(&group) {
        if is_chain(l) {
            chars[g] += l.chars;
        }
    }
    // The group of the first line whose group holds the most.
    let most = chars.iter().copied().max().unwrap_or(0);
    let Some(best) = group.iter().copied().find(|&g| chars[g] == most) else {
        return lines;
    };
    lines
        .into_iter()
        .zip(group)
        .filter(|(_, g)| *g == best)
        .map(|(l, _)| l)
        .collect()
}

/// Whether a located line is a chain of two or more character candidates: a lone candidate is
/// as often a speck, a barcode's bar or a piece of a mark.
fn is_chain(line: &TextLine) -> bool {
    line.chars >= 2
}

/// The detector's view of `gray` ([module docs](self)).
pub fn detector_view(gray: &GrayImage, located: &[TextLine]) -> View {
    match text_height(located) {
        Some(text) => view_around(gray, located, text, REGION_MARGIN),
        None => {
            let (w, h) = (gray.width() as f32, gray.height() as f32);
            view_of(gray, [0.0, 0.0, w, h], FALLBACK_LONG_SIDE / w.max(h))
        }
    }
}

/// The region the detector's whole view covers ([`detector_view`]), photo px `(x0, y0, x1, y1)`:
/// the box of the `located` lines with [`REGION_MARGIN`] text heights around it, not clamped to
/// the photo. `None` when nothing was located: the view is then the whole photo.
pub fn detector_region(located: &[TextLine]) -> Option<[f32; 4]> {
    text_height(located).map(|text| region_around(located, REGION_MARGIN * text))
}

/// Whether photo point `p` lies in `region` (`(x0, y0, x1, y1)`, as [`detector_region`] gives).
pub fn region_holds(region: [f32; 4], p: (f32, f32)) -> bool {
    (region[0]..=region[2]).contains(&p.0) && (region[1]..=region[3]).contains(&p.1)
}

/// The box of `lines` with `margin` photo px around it, `(x0, y0, x1, y1)`.
fn region_around(lines: &[TextLine], margin: f32) -> [f32; 4] {
    let r = lines
        .iter()
        .map(TextLine::bbox)
        .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |r, b| {
            [r[0].min(b.0), r[1].min(b.1), r[2].max(b.2), r[3].max(b.3)]
        });
    [r[0] - margin, r[1] - margin, r[2] + margin, r[3] + margin]
}

/// The view of the region of `lines` (with a margin of `margin` × `text`), scaled so that text
/// `text` px tall is [`DETECT_TEXT_PX`], at most [`MAX_UPSCALE`] and within
/// [`MAX_DETECT_PIXELS`].
fn view_around(gray: &GrayImage, lines: &[TextLine], text: f32, margin: f32) -> View {
    let (w, h) = (gray.width() as f32, gray.height() as f32);
    let r = region_around(lines, margin * text);
    let region = [
        r[0].clamp(0.0, w - 1.0),
        r[1].clamp(0.0, h - 1.0),
        r[2].clamp(1.0, w),
        r[3].clamp(1.0, h),
    ];
    let area = (region[2] - region[0]).max(1.0) * (region[3] - region[1]).max(1.0);
    let scale = (DETECT_TEXT_PX / text.max(1.0))
        .min(MAX_UPSCALE)
        .min((MAX_DETECT_PIXELS / area).sqrt());
    view_of(gray, region, scale)
}

/// The view of `region` (x0, y0, x1, y1, photo px) at `scale`, its sides rounded up to
/// multiples of 32.
fn view_of(gray: &GrayImage, region: [f32; 4], scale: f32) -> View {
    let (x0, y0) = (region[0].floor(), region[1].floor());
    let (rw, rh) = (
        (region[2].ceil() - x0).max(1.0),
        (region[3].ceil() - y0).max(1.0),
    );
    let (vw, vh) = (multiple_of_32(rw * scale), multiple_of_32(rh * scale));
    let image = scale_region(gray, (x0 as u32, y0 as u32, rw as u32, rh as u32), vw, vh);
    View {
        image,
        origin: (x0, y0),
        scale: (vw as f32 / rw, vh as f32 / rh),
    }
}

impl View {
    /// The photo's area the view covers, photo px².
    fn area(&self) -> f32 {
        (self.image.width() as f32 / self.scale.0) * (self.image.height() as f32 / self.scale.1)
    }

    /// Whether photo point `p` lies in the view.
    fn holds(&self, p: (f32, f32)) -> bool {
        let (x, y) = (
            (p.0 - self.origin.0) * self.scale.0,
            (p.1 - self.origin.1) * self.scale.1,
        );
        (0.0..self.image.width() as f32).contains(&x)
            && (0.0..self.image.height() as f32).contains(&y)
    }
}

/// One component's running sums, in photo coordinates.
#[derive(Default, Clone, Copy)]
struct Moments {
    n: f32,
    x: f32,
    y: f32,
    xx: f32,
    yy: f32,
    xy: f32,
    prob: f32,
    /// Extents along and across the component's direction (second pass).
    u: (f32, f32),
    v: (f32, f32),
}

/// A detected line before it is oriented: centre, direction (radians, in (−π/2, π/2]), length
/// and height of the grown box, photo px.
struct Found {
    centre: (f32, f32),
    angle: f32,
    length: f32,
    height: f32,
    /// Text height in the view it was found on, view px.
    view_px: f32,
}

impl Found {
    /// Whether photo point `p` lies in the grown box.
    fn holds(&self, p: (f32, f32)) -> bool {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (p.0 - self.centre.0, p.1 - self.centre.1);
        (dx * c + dy * s).abs() <= self.length / 2.0
            && (-dx * s + dy * c).abs() <= self.height / 2.0
    }
}

/// DB's post-processing of `map` (the detector's answer on `view`) into lines, in photo
/// coordinates, oriented the way most of the text runs and ordered top to bottom.
pub fn lines_from_map(map: &GrayImage, view: &View) -> Vec<TextLine> {
    orient(found_in_map(map, view))
}

/// DB's post-processing of `map` (the detector's answer on `view`) into grown boxes, in photo
/// coordinates, not yet oriented.
fn found_in_map(map: &GrayImage, view: &View) -> Vec<Found> {
    let mut binary = GrayImage::new(map.width(), map.height());
    for (b, &p) in binary.iter_mut().zip(map.iter()) {
        *b = if p > BINARY_THRESHOLD { 255 } else { 0 };
    }
    let labels = connected_components(&binary, Connectivity::Eight, image::Luma([0u8]));
    let count = labels.iter().copied().max().unwrap_or(0) as usize;
    if count == 0 {
        return Vec::new();
    }
    let (sx, sy) = view.scale;
    let to_photo = |x: u32, y: u32| {
        (
            view.origin.0 + (x as f32 + 0.5) / sx,
            view.origin.1 + (y as f32 + 0.5) / sy,
        )
    };
    let mut moments = vec![Moments::default(); count + 1];
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label.0[0] as usize;
        if label == 0 {
            continue;
        }
        let (px, py) = to_photo(x, y);
        let m = &mut moments[label];
        m.n += 1.0;
        m.x += px;
        m.y += py;
        m.xx += px * px;
        m.yy += py * py;
        m.xy += px * py;
        m.prob += f32::from(map.get_pixel(x, y).0[0]) / 255.0;
    }
    let angles: Vec<f32> = moments
        .iter()
        .map(|m| {
            if m.n < 1.0 {
                return 0.0;
            }
            let (mx, my) = (m.x / m.n, m.y / m.n);
            let cxx = m.xx / m.n - mx * mx;
            let cyy = m.yy / m.n - my * my;
            let cxy = m.xy / m.n - mx * my;
            0.5 * (2.0 * cxy).atan2(cxx - cyy)
        })
        .collect();
    for m in moments.iter_mut() {
        m.u = (f32::MAX, f32::MIN);
        m.v = (f32::MAX, f32::MIN);
    }
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label.0[0] as usize;
        if label == 0 {
            continue;
        }
        let (px, py) = to_photo(x, y);
        let (s, c) = angles[label].sin_cos();
        let m = &mut moments[label];
        let (u, v) = (px * c + py * s, -px * s + py * c);
        m.u = (m.u.0.min(u), m.u.1.max(u));
        m.v = (m.v.0.min(v), m.v.1.max(v));
    }
    let pixel = 1.0 / ((sx + sy) / 2.0);
    moments
        .iter()
        .zip(&angles)
        .filter(|(m, _)| m.n >= 1.0 && m.prob / m.n >= BOX_THRESHOLD)
        .filter_map(|(m, &angle)| {
            let length = m.u.1 - m.u.0 + pixel;
            let height = m.v.1 - m.v.0 + pixel;
            if height.min(length) < MIN_CORE_PX * pixel {
                return None;
            }
            // The core grown as DB's unclip grows a long line's: by half the ratio times its
            // height on each side (area × ratio / perimeter, for a length much larger than the
            // height), so that a short piece and a long one of the same print get the same
            // height.
            let grown = height * (1.0 + UNCLIP_RATIO);
            let text_height = grown / BOX_PER_TEXT_HEIGHT;
            let (um, vm) = ((m.u.0 + m.u.1) / 2.0, (m.v.0 + m.v.1) / 2.0);
            let (s, c) = angle.sin_cos();
            Some(Found {
                centre: (um * c - vm * s, um * s + vm * c),
                angle,
                length: length + 2.0 * END_PAD * text_height,
                height: grown,
                view_px: text_height * (sx + sy) / 2.0,
            })
        })
        .collect()
}

/// Largest gap between two pieces of one line, along it, in text heights, between their padded
/// ends ([`END_PAD`]; 1.8 text heights between the cores): the detector boxes words (and letters
/// printed spaced apart) one by one; pieces closer than this on one line are one line, as the
/// locator's chains are.
const MAX_WORD_GAP: f32 = 0.6;
/// Largest offset across the line between two pieces of one line, in text heights.
const MAX_ACROSS: f32 = 0.4;
/// Least cosine between the directions of two pieces of one line (about 10°: a short piece's
/// direction is loose).
const MIN_DIRECTION_COS: f32 = 0.985;

/// Joins the pieces of one line ([`MAX_WORD_GAP`], [`MAX_ACROSS`], [`MIN_DIRECTION_COS`],
/// heights within a factor 2 unless one is a fragment) into one line spanning them all.
fn join_pieces(lines: Vec<TextLine>) -> Vec<TextLine> {
    let n = lines.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for i in 0..n {
        for j in i + 1..n {
            // Measured along the longer piece, whose direction is the surer.
            let (a, b) = if lines[i].length >= lines[j].length {
                (&lines[i], &lines[j])
            } else {
                (&lines[j], &lines[i])
            };
            // A fragment (a letter or two) has no height of its own to compare.
            let ratio = a.text_height / b.text_height.max(1e-3);
            let fragment = b.length < 3.0 * b.text_height;
            if (a.angle - b.angle).cos() < MIN_DIRECTION_COS
                || !(fragment || (0.5..=2.0).contains(&ratio))
            {
                continue;
            }
            let h = a.text_height.max(b.text_height);
            let (s, c) = a.angle.sin_cos();
            let (dx, dy) = (b.centre.0 - a.centre.0, b.centre.1 - a.centre.1);
            let (along, across) = (dx * c + dy * s, -dx * s + dy * c);
            let gap = along.abs() - (a.length + b.length) / 2.0;
            if across.abs() <= MAX_ACROSS * h && gap <= MAX_WORD_GAP * h {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups
        .into_values()
        .map(|members| {
            if members.len() == 1 {
                return lines[members[0]].clone();
            }
            let longest = members
                .iter()
                .copied()
                .max_by(|&a, &b| lines[a].length.total_cmp(&lines[b].length))
                .unwrap_or(members[0]);
            let angle = lines[longest].angle;
            let (s, c) = angle.sin_cos();
            let (mut u0, mut u1, mut v, mut weight, mut height) =
                (f32::MAX, f32::MIN, 0.0f32, 0.0f32, 0.0f32);
            for &m in &members {
                let l = &lines[m];
                let u = l.centre.0 * c + l.centre.1 * s;
                u0 = u0.min(u - l.length / 2.0);
                u1 = u1.max(u + l.length / 2.0);
                v += (-l.centre.0 * s + l.centre.1 * c) * l.length;
                height += l.text_height * l.length;
                weight += l.length;
            }
            let (um, vm) = ((u0 + u1) / 2.0, v / weight.max(1e-3));
            let text_height = height / weight.max(1e-3);
            TextLine {
                angle,
                centre: (um * c - vm * s, um * s + vm * c),
                length: u1 - u0,
                text_height,
                chars: members.iter().map(|&m| lines[m].chars).sum(),
                across: lines[longest].across,
            }
        })
        .collect()
}

/// Turns every line to run within a quarter turn of the text's main direction (the
/// length-weighted mean of the lines' directions, taken modulo a half turn), a line shorter than
/// twice its height to run along it exactly; orders them top to bottom across that direction.
fn orient(found: Vec<Found>) -> Vec<TextLine> {
    let (mut sc, mut cc) = (0.0f32, 0.0f32);
    for f in &found {
        if f.length >= 2.0 * f.height {
            sc += f.length * (2.0 * f.angle).sin();
            cc += f.length * (2.0 * f.angle).cos();
        }
    }
    let main = 0.5 * sc.atan2(cc);
    let lines: Vec<TextLine> = found
        .into_iter()
        .map(|f| {
            let mut angle = f.angle;
            let (mut length, mut height) = (f.length, f.height);
            if length < 2.0 * height {
                // A short blob: its own direction means little; take the main one, with the
                // box's extents along and across it.
                let d = angle - main;
                let (along, across) = (
                    length * d.cos().abs() + height * d.sin().abs(),
                    length * d.sin().abs() + height * d.cos().abs(),
                );
                (angle, length, height) = (main, along, across);
            }
            if (angle - main).cos() < 0.0 {
                angle += std::f32::consts::PI;
            }
            let text_height = height / BOX_PER_TEXT_HEIGHT;
            TextLine {
                angle,
                centre: f.centre,
                length,
                text_height,
                chars: (length / (0.6 * text_height)).round().max(1.0) as usize,
                across: -f.centre.0 * main.sin() + f.centre.1 * main.cos(),
            }
        })
        .collect();
    let mut lines = join_pieces(lines);
    lines.sort_by(|a, b| a.across.total_cmp(&b.across));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probability map with bars of probability 0.9 at the given rectangles (x0, y0, x1, y1).
    fn map_with(w: u32, h: u32, bars: &[(u32, u32, u32, u32)]) -> GrayImage {
        let mut map = GrayImage::new(w, h);
        for &(x0, y0, x1, y1) in bars {
            for y in y0..y1 {
                for x in x0..x1 {
                    map.put_pixel(x, y, image::Luma([230]));
                }
            }
        }
        map
    }

    fn view_of(w: u32, h: u32, origin: (f32, f32), scale: f32) -> View {
        View {
            image: GrayImage::new(w, h),
            origin,
            scale: (scale, scale),
        }
    }

    #[test]
    fn bars_become_lines_in_photo_coordinates_top_to_bottom() {
        // Two cores of 200 × 6 view px, at half scale from photo offset (100, 50).
        let map = map_with(320, 160, &[(20, 100, 220, 106), (20, 20, 220, 26)]);
        let lines = lines_from_map(&map, &view_of(320, 160, (100.0, 50.0), 0.5));
        assert_eq!(lines.len(), 2);
        let top = &lines[0];
        assert!(top.angle.abs() < 1e-3, "{}", top.angle);
        assert!(
            (top.centre.0 - (100.0 + 120.0 * 2.0)).abs() < 1.0,
            "{top:?}"
        );
        assert!((top.centre.1 - (50.0 + 23.0 * 2.0)).abs() < 1.0, "{top:?}");
        // The core (12 photo px tall) grows by 1.6 / 2 of its height on each side; the line is
        // padded at both ends.
        let (l, t) = (400.0f32, 12.0f32);
        let text_height = t * (1.0 + UNCLIP_RATIO) / BOX_PER_TEXT_HEIGHT;
        assert!((top.text_height - text_height).abs() < 0.5, "{top:?}");
        assert!(
            (top.length - (l + 2.0 * END_PAD * text_height)).abs() < 1.0,
            "{top:?}"
        );
        assert!(lines[1].across > top.across);
    }

    #[test]
    fn faint_and_tiny_blobs_are_not_lines() {
        let mut map = map_with(128, 64, &[(10, 10, 100, 16)]);
        // A faint core (0.4 mean) and a 2-pixel speck.
        for y in 30..36 {
            for x in 10..100 {
                map.put_pixel(x, y, image::Luma([100]));
            }
        }
        map.put_pixel(120, 50, image::Luma([250]));
        map.put_pixel(121, 50, image::Luma([250]));
        let lines = lines_from_map(&map, &view_of(128, 64, (0.0, 0.0), 1.0));
        assert_eq!(lines.len(), 1, "{lines:?}");
    }

    #[test]
    fn lines_of_a_label_turned_a_quarter_all_point_the_same_way() {
        // Vertical cores, some a hair either side of vertical: all get one direction.
        let map = map_with(
            160,
            320,
            &[(20, 20, 26, 300), (60, 20, 66, 280), (100, 40, 106, 300)],
        );
        let lines = lines_from_map(&map, &view_of(160, 320, (0.0, 0.0), 1.0));
        assert_eq!(lines.len(), 3);
        let first = lines[0].angle;
        assert!(first.cos().abs() < 0.05, "{first}");
        assert!(
            lines.iter().all(|l| (l.angle - first).cos() > 0.99),
            "{lines:?}"
        );
    }

    #[test]
    fn the_view_scales_text_to_the_detector_size_within_the_pixel_cap() {
        let gray = GrayImage::from_pixel(4000, 3000, image::Luma([200]));
        let line = |y: f32, h: f32| TextLine {
            angle: 0.0,
            centre: (2000.0, y),
            length: 400.0,
            text_height: h,
            chars: 20,
            across: y,
        };
        // Small text on a small region: scaled up, at most 2×.
        let view = detector_view(&gray, &[line(1500.0, 8.0)]);
        assert!((view.scale.0 - 2.0).abs() < 0.1, "{:?}", view.scale);
        assert_eq!(view.image.width() % 32, 0);
        assert_eq!(view.image.height() % 32, 0);
        // Text spread over the whole photo: the pixel cap decides.
        let view = detector_view(&gray, &[line(100.0, 40.0), line(2900.0, 40.0)]);
        let pixels = (view.image.width() * view.image.height()) as f32;
        assert!(pixels <= MAX_DETECT_PIXELS * 1.1, "{pixels}");
        // No text found: the whole photo at the fallback size.
        let view = detector_view(&gray, &[]);
        assert_eq!(view.image.width(), 960);
    }

    #[test]
    fn the_detector_region_is_the_located_lines_and_their_margin() {
        let gray = GrayImage::from_pixel(4000, 3000, image::Luma([200]));
        let line = TextLine {
            angle: 0.0,
            centre: (2000.0, 1500.0),
            length: 400.0,
            text_height: 20.0,
            chars: 20,
            across: 1500.0,
        };
        let located = [line];
        let view = detector_view(&gray, &located);
        let region = detector_region(&located).expect("a region");
        let inside = |p: (f32, f32)| region_holds(region, p);
        // The region is the line's box and 4 text heights around it, as the whole view shows.
        for p in [(2000.0, 1500.0), (1750.0, 1500.0), (2000.0, 1580.0)] {
            assert!(inside(p), "{p:?}");
            assert!(view.holds(p), "{p:?}");
        }
        for p in [(1650.0, 1500.0), (2000.0, 1650.0), (100.0, 100.0)] {
            assert!(!inside(p), "{p:?}");
            assert!(!view.holds(p), "{p:?}");
        }
        // Nothing located: the detector looks at the whole photo.
        assert_eq!(detector_region(&[]), None);
    }

    #[test]
    fn a_small_label_beside_a_row_of_tall_marks_gets_a_close_view() {
        let gray = GrayImage::from_pixel(4000, 3000, image::Luma([200]));
        let line = |x: f32, y: f32, length: f32, h: f32, chars: usize| TextLine {
            angle: 0.0,
            centre: (x, y),
            length,
            text_height: h,
            chars,
            across: y,
        };
        let label: Vec<TextLine> = (0..10)
            .map(|k| line(1200.0, 1700.0 + 30.0 * k as f32, 300.0, 20.0, 10))
            .collect();
        // The label alone: one view, scaled for its print.
        let views = detector_views(&gray, &label);
        assert_eq!(views.len(), 1);
        assert!((views[0].scale.0 - 1.0).abs() < 0.1, "{:?}", views[0].scale);
        // A stripe of tall marks across the top: the whole view spans the photo, and a close
        // view holds the label at its print's scale.
        let mut located = label.clone();
        located.push(line(2000.0, 300.0, 3800.0, 170.0, 24));
        let views = detector_views(&gray, &located);
        assert_eq!(views.len(), 2);
        assert!(views[0].scale.0 < 0.5, "{:?}", views[0].scale);
        let close = &views[1];
        assert!((close.scale.0 - 1.0).abs() < 0.1, "{:?}", close.scale);
        assert!(close.holds((1200.0, 1700.0)) && close.holds((1340.0, 1970.0)));
        assert!(!close.holds((2000.0, 300.0)));
        // The marks also break into pieces of the print's size along the stripe: the close view
        // still holds the label alone, not the stripe with it.
        for k in 0..6 {
            located.push(line(300.0 + 600.0 * k as f32, 260.0, 60.0, 22.0, 2));
        }
        let views = detector_views(&gray, &located);
        assert_eq!(views.len(), 2);
        let close = &views[1];
        assert!((close.scale.0 - 1.0).abs() < 0.1, "{:?}", close.scale);
        assert!(close.holds((1200.0, 1700.0)) && !close.holds((300.0, 260.0)));
    }

    #[test]
    fn lines_lying_together_with_the_most_characters_make_the_densest_group() {
        let line = |x: f32, y: f32, chars: usize| TextLine {
            angle: 0.0,
            centre: (x, y),
            length: 100.0,
            text_height: 10.0,
            chars,
            across: y,
        };
        // Two lines 30 px apart, one 35 px below them (within reach of the second), and four
        // far away with more characters each but fewer in all.
        let mut lines = vec![line(100.0, 100.0, 10), line(100.0, 130.0, 10)];
        lines.push(line(100.0, 165.0, 10));
        for k in 0..4 {
            lines.push(line(1000.0 + 300.0 * k as f32, 1000.0, 7));
        }
        let group = densest_group(lines.clone(), 40.0);
        assert_eq!(group.len(), 3, "{group:?}");
        assert!(group.iter().all(|l| l.centre.0 == 100.0));
        // Forty lone candidates together (specks, a barcode's bars) count for nothing.
        for k in 0..40 {
            lines.push(line(100.0 + 20.0 * k as f32, 2000.0, 1));
        }
        let group = densest_group(lines, 40.0);
        assert!(group.iter().all(|l| l.centre.0 == 100.0), "{group:?}");
        assert!(densest_group(Vec::new(), 40.0).is_empty());
    }

    #[test]
    fn the_text_height_is_the_one_most_characters_have() {
        let line = |h: f32, chars: usize| TextLine {
            angle: 0.0,
            centre: (0.0, 0.0),
            length: 100.0,
            text_height: h,
            chars,
            across: 0.0,
        };
        // Three lines of a QR code's or a barcode's few tall blobs and two lines of print: the
        // print's height, where the median line is a barcode's.
        let located = [
            line(40.0, 2),
            line(18.0, 27),
            line(45.0, 3),
            line(17.0, 14),
            line(38.0, 2),
        ];
        assert_eq!(text_height(&located), Some(18.0));
        assert_eq!(text_height(&[line(30.0, 0)]), Some(30.0));
        assert_eq!(text_height(&[]), None);
    }

    /// A detector that, like DB, finds only print at least this many view px tall: a pixel is
    /// text where it is dark and its column's dark run through it is that tall.
    struct TallInkDetector(u32);

    impl Readers for TallInkDetector {
        fn read(
            &mut self,
            _line: &GrayImage,
            _ask: crate::pipeline::ocr::Ask,
        ) -> Result<crate::pipeline::ocr::LineRead> {
            Ok(Default::default())
        }

        fn detect(&mut self, view: &GrayImage) -> Result<Option<GrayImage>> {
            let mut map = GrayImage::new(view.width(), view.height());
            for x in 0..view.width() {
                let mut y = 0;
                while y < view.height() {
                    let start = y;
                    while y < view.height() && view.get_pixel(x, y).0[0] < 128 {
                        y += 1;
                    }
                    if y - start >= self.0 {
                        for t in start..y {
                            map.put_pixel(x, t, image::Luma([255]));
                        }
                    }
                    y = y.max(start + 1);
                }
            }
            Ok(Some(map))
        }
    }

    /// A photo with five captions 40 px tall (their located lines, 40 characters each) and the
    /// ink boxes `serial` (x, y, width, height), dark on light.
    fn captions_and(serial: &[(u32, u32, u32, u32)]) -> (GrayImage, Vec<TextLine>) {
        captions_of(40, 80, serial)
    }

    /// [`captions_and`] with captions `height` px tall, `pitch` px apart.
    fn captions_of(
        height: u32,
        pitch: u32,
        serial: &[(u32, u32, u32, u32)],
    ) -> (GrayImage, Vec<TextLine>) {
        let mut gray = GrayImage::from_pixel(1600, 1000, image::Luma([220]));
        let boxes = (0..5).map(|k| (100, 100 + pitch * k, 600, height));
        for (x0, y0, w, h) in boxes.chain(serial.iter().copied()) {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    gray.put_pixel(x, y, image::Luma([30]));
                }
            }
        }
        let located = (0..5)
            .map(|k| {
                let y = (100 + pitch * k) as f32 + height as f32 / 2.0;
                TextLine {
                    angle: 0.0,
                    centre: (400.0, y),
                    length: 600.0,
                    text_height: height as f32,
                    chars: 40,
                    across: y,
                }
            })
            .collect();
        (gray, located)
    }

    #[test]
    fn a_small_line_the_whole_view_shrinks_out_of_sight_gets_a_look_of_its_own() {
        // A serial printed 8 px tall beside the captions, chained by the locator.
        let (gray, mut located) = captions_and(&[(900, 600, 400, 8)]);
        located.push(TextLine {
            angle: 0.0,
            centre: (1100.0, 604.0),
            length: 400.0,
            text_height: 8.0,
            chars: 12,
            across: 604.0,
        });
        // The whole view is scaled for the captions: the serial is 4 px tall there, and no
        // close view is taken.
        let views = detector_views(&gray, &located);
        assert_eq!(views.len(), 1);
        assert!(views[0].scale.0 < 0.6, "{:?}", views[0].scale);
        let map = TallInkDetector(8)
            .detect(&views[0].image)
            .expect("a map")
            .expect("a detector");
        assert_eq!(lines_from_map(&map, &views[0]).len(), 5);
        // Looked at on its own, the serial's line is found whole.
        let lines = find_lines_learned(&gray, &located, &mut TallInkDetector(8))
            .expect("lines")
            .expect("a detector");
        assert_eq!(lines.len(), 6, "{lines:?}");
        let serial = lines
            .iter()
            .find(|l| (l.centre.1 - 604.0).abs() < 4.0)
            .expect("the serial's line");
        assert!((serial.centre.0 - 1100.0).abs() < 8.0, "{serial:?}");
        assert!(
            serial.length >= 400.0 && serial.length < 440.0,
            "{serial:?}"
        );
    }

    #[test]
    fn a_turned_line_measured_too_tall_is_still_looked_at_for_the_photos_text_height() {
        // Five captions 10 px tall, and a serial 8 px tall that the locator chained as four
        // runs of joined letters and measured 40 px tall (as on a slip turned from the label).
        let (gray, mut located) = captions_of(10, 30, &[(900, 600, 400, 8)]);
        located.push(TextLine {
            angle: 0.0,
            centre: (1100.0, 604.0),
            length: 400.0,
            text_height: 40.0,
            chars: 4,
            across: 604.0,
        });
        let mut detector = TallInkDetector(9);
        // The whole view shows the serial under the detector's least height.
        let views = detector_views(&gray, &located);
        let map = detector
            .detect(&views[0].image)
            .expect("a map")
            .expect("a detector");
        assert_eq!(lines_from_map(&map, &views[0]).len(), 5);
        let lines = find_lines_learned(&gray, &located, &mut detector)
            .expect("lines")
            .expect("a detector");
        let serial = lines
            .iter()
            .find(|l| (l.centre.1 - 604.0).abs() < 4.0)
            .expect("the serial's line");
        assert!(serial.length >= 400.0, "{serial:?}");
    }

    #[test]
    fn a_piece_of_small_print_found_in_a_shrunk_view_is_followed_along_its_line() {
        // The serial's first characters print 10 px tall, the rest 8 px; the locator did not
        // chain it.
        let (gray, located) = captions_and(&[(200, 560, 60, 10), (260, 561, 150, 8)]);
        let mut detector = TallInkDetector(5);
        let views = detector_views(&gray, &located);
        assert_eq!(views.len(), 1);
        let map = detector
            .detect(&views[0].image)
            .expect("a map")
            .expect("a detector");
        let whole = lines_from_map(&map, &views[0]);
        let piece = whole
            .iter()
            .find(|l| (l.centre.1 - 565.0).abs() < 6.0)
            .expect("the piece");
        assert!(piece.length < 120.0, "{piece:?}");
        let lines = find_lines_learned(&gray, &located, &mut detector)
            .expect("lines")
            .expect("a detector");
        let serial: Vec<&TextLine> = lines
            .iter()
            .filter(|l| (l.centre.1 - 565.0).abs() < 6.0)
            .collect();
        assert_eq!(serial.len(), 1, "{lines:?}");
        assert!(serial[0].length >= 210.0, "{:?}", serial[0]);
    }
}
