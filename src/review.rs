//! The batch review page: a static HTML page over a JSON Lines batch output, for people checking
//! answers by eye (support staff on INCONCLUSIVE cases, the data team after a threshold change).
//!
//! [`write_review`] writes into one folder, and nowhere else:
//! - `index.html`: a summary (rows by verdict, by reason and by error; histograms of the photo's
//!   and the serial field's blur scores with their thresholds marked) and a gallery of rows
//!   (those not MATCH by default, every row with `all`), each with its annotated thumbnail,
//!   verdict, reasons and the serial read set under the reported one. Filters by verdict and by
//!   reason; the filter is kept in the address (`#verdict=…&reason=…`). No server, no internet:
//!   styles and script are inline, images are relative files, a thumbnail is loaded only when
//!   its card comes near the viewport (an IntersectionObserver), and cards off screen are not
//!   laid out (`content-visibility: auto`), so the page opens from the file system and stays
//!   usable with 10,000 rows (docs/performance.md: 2.9 s to a first screenshot in headless
//!   Chromium, against 38 s with `loading="lazy"` alone).
//! - `img/row-N.jpg`: the annotated photo ([`crate::annotate`]), at most 1600 px long;
//! - `thumbs/row-N.jpg`: its photo part, [`THUMB_WIDTH`] px wide.
//!
//! Photos are read from `photos_root` joined with each row's `photo` column and decoded under the
//! pipeline's limits; a row whose photo is gone or unreadable gets a card that says so. The page
//! prints report fields only (verdict, reasons, the normalised serial read, the reported serial,
//! scores, the photo's path), never a line's raw text, so never a label's verification code.
//! The HTML is written with maud, which escapes every text and attribute value it interpolates.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use image::{RgbImage, imageops};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::annotate::{Mark, align, annotate};
use crate::batch::report_of_row;
use crate::error::{Error, Result};
use crate::pipeline::Report;
use crate::pipeline::decode::{DecodeLimits, decode_rgb};
use crate::pipeline::verdict::Verdict;

/// Width of a gallery thumbnail, px.
pub const THUMB_WIDTH: u32 = 360;
/// JPEG quality of the written images (libjpeg scale, 1–100).
const JPEG_QUALITY: i32 = 82;
/// Histogram bins over log10(1 + score).
const BINS: usize = 32;

/// What a review page holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewSummary {
    /// Rows in the batch output.
    pub rows: usize,
    /// Rows in the gallery.
    pub shown: usize,
    /// Annotated photos written.
    pub images: usize,
    /// Gallery rows whose photo could not be read (missing, or refused by the decoder).
    pub photos_unreadable: usize,
}

/// One output row as the page needs it.
struct Row {
    row: u64,
    photo: String,
    outcome: Result<Report, (String, String)>,
}

impl Row {
    fn verdict(&self) -> &str {
        match &self.outcome {
            Ok(r) => r.verdict.as_str(),
            Err(_) => "ERROR",
        }
    }

    fn reasons(&self) -> Vec<String> {
        match &self.outcome {
            Ok(r) => r.reasons.iter().map(|x| x.as_str().to_string()).collect(),
            Err((code, _)) => vec![code.clone()],
        }
    }
}

fn read_rows(jsonl: &Path) -> Result<Vec<Row>> {
    let file = std::fs::File::open(jsonl).map_err(|e| Error::file(jsonl, e))?;
    let mut rows = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::file(jsonl, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let here = |e: &dyn std::fmt::Display| Error::file_line(jsonl, n as u64 + 1, e);
        let object: Map<String, Value> = serde_json::from_str(&line).map_err(|e| here(&e))?;
        let photo = object
            .get("input")
            .and_then(|i| i.get("photo"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let row = object
            .get("row")
            .and_then(Value::as_u64)
            .unwrap_or(n as u64);
        let outcome = match object.get("error") {
            Some(e) if !e.is_null() => Err((
                e.get("code")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .into(),
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
            )),
            _ => Ok(report_of_row(&object).map_err(|e| here(&e))?),
        };
        rows.push(Row {
            row,
            photo,
            outcome,
        });
    }
    rows.sort_by_key(|r| r.row);
    Ok(rows)
}

fn jpeg(image: &RgbImage) -> Result<Vec<u8>> {
    let (w, h) = image.dimensions();
    let view = turbojpeg::Image {
        pixels: image.as_raw().as_slice(),
        width: w as usize,
        pitch: w as usize * 3,
        height: h as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(view, JPEG_QUALITY, turbojpeg::Subsamp::Sub2x2)
        .map(|b| b.to_vec())
        .map_err(|e| Error::internal("jpeg encoder", e))
}

/// Writes the annotated photo and thumbnail of one row; `Err` says why the photo could not be.
fn write_images(
    row: &Row,
    report: &Report,
    root: &Path,
    out: &Path,
    limits: &DecodeLimits,
) -> Result<()> {
    let path = root.join(row.photo.trim());
    let bytes = std::fs::read(&path).map_err(|e| Error::file(&path, e))?;
    let photo = decode_rgb(&bytes, limits).map_err(|e| Error::file(&path, e))?;
    let annotated = annotate(&photo, report);
    let top = imageops::crop_imm(
        &annotated.image,
        0,
        0,
        annotated.image.width(),
        annotated.photo_height,
    )
    .to_image();
    let tw = THUMB_WIDTH.min(top.width());
    let th = ((top.height() as f32 * tw as f32 / top.width().max(1) as f32).round() as u32).max(1);
    let thumb = imageops::resize(&top, tw, th, imageops::FilterType::Triangle);
    let write = |dir: &str, image: &RgbImage| {
        let file = out.join(dir).join(format!("row-{}.jpg", row.row));
        std::fs::write(&file, jpeg(image)?).map_err(|e| Error::file(&file, e))
    };
    write("img", &annotated.image)?;
    write("thumbs", &thumb)
}

/// Writes the review page of the batch output `jsonl` into `out` (created if missing): see the
/// module documentation. `all` puts every row in the gallery, MATCH included.
pub fn write_review(
    jsonl: &Path,
    photos_root: &Path,
    out: &Path,
    all: bool,
    limits: &DecodeLimits,
) -> Result<ReviewSummary> {
    let rows = read_rows(jsonl)?;
    for dir in ["", "img", "thumbs"] {
        let d = out.join(dir);
        std::fs::create_dir_all(&d).map_err(|e| Error::file(&d, e))?;
    }
    let shown: Vec<&Row> = rows
        .iter()
        .filter(|r| all || r.verdict() != Verdict::Match.as_str())
        .collect();
    let images: Vec<Option<String>> = shown
        .par_iter()
        .map(|row| match &row.outcome {
            Ok(report) => write_images(row, report, photos_root, out, limits)
                .err()
                .map(|e| e.to_string()),
            Err(_) => None,
        })
        .collect();
    let mut summary = ReviewSummary {
        rows: rows.len(),
        shown: shown.len(),
        ..ReviewSummary::default()
    };
    for (row, problem) in shown.iter().zip(&images) {
        match (&row.outcome, problem) {
            (Ok(_), None) => summary.images += 1,
            (Ok(_), Some(_)) => summary.photos_unreadable += 1,
            _ => {}
        }
    }
    let html = page(jsonl, &rows, &shown, &images, all);
    let index = out.join("index.html");
    std::fs::write(&index, html).map_err(|e| Error::file(&index, e))?;
    Ok(summary)
}

/// A histogram of `scores` over log10(1 + score) as inline SVG, `threshold` marked.
fn histogram(id: &str, title: &str, scores: &[f64], threshold: f64) -> Markup {
    let (w, h, pad) = (520.0, 170.0, 28.0);
    let top = scores
        .iter()
        .copied()
        .chain([threshold * 2.0, 1000.0])
        .fold(0.0f64, f64::max);
    let span = (1.0 + top).log10();
    let bin_of = |v: f64| {
        (((1.0 + v.max(0.0)).log10() / span) * BINS as f64).min(BINS as f64 - 1.0) as usize
    };
    let mut counts = [0usize; BINS];
    for &s in scores {
        counts[bin_of(s)] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar_w = (w - 2.0 * pad) / BINS as f64;
    let x_of = |v: f64| pad + (1.0 + v.max(0.0)).log10() / span * (w - 2.0 * pad);
    let ticks = std::iter::successors(Some(1.0f64), |t| Some(t * 10.0)).take_while(|&t| t <= top);
    let tx = format!("{:.1}", x_of(threshold));
    html! {
        figure id=(id) {
            figcaption {
                (title) " (" (scores.len()) " rows; log scale; red line: threshold "
                (format!("{threshold:.0}")) ")"
            }
            svg viewBox={"0 0 " (w) " " (h)} width=(w) height=(h) role="img" aria-label=(title) {
                @for (i, &c) in counts.iter().enumerate() {
                    @if c > 0 {
                        @let bh = c as f64 / most * (h - 2.0 * pad);
                        rect class="bar" x=(format!("{:.1}", pad + i as f64 * bar_w + 1.0))
                            y=(format!("{:.1}", h - pad - bh)) width=(format!("{:.1}", bar_w - 2.0))
                            height=(format!("{bh:.1}")) { title { (c) } }
                    }
                }
                line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) class="axis" {}
                @for tick in ticks {
                    text x=(format!("{:.1}", x_of(tick))) y=(format!("{:.1}", h - pad + 16.0))
                        class="tick" { (format!("{tick:.0}")) }
                }
                line class="threshold" x1=(tx) y1=(pad / 2.0) x2=(tx) y2=(h - pad) {}
            }
        }
    }
}

/// A count table.
fn table(id: &str, head: &str, counts: &BTreeMap<String, usize>) -> Markup {
    html! {
        table id=(id) {
            thead { tr { th { (head) } th { "rows" } } }
            tbody {
                @for (k, n) in counts {
                    tr { td { (k) } td { (n) } }
                }
            }
        }
    }
}

/// A serial as characters, those that differ marked.
fn marked(marks: &[Mark]) -> Markup {
    html! {
        @for m in marks {
            @if m.differs { mark { (m.ch) } } @else { (m.ch) }
        }
    }
}

/// The serial read set under the reported one, differing characters marked.
fn serial_lines(report: &Report) -> Markup {
    let read = report.serial_read.as_deref().unwrap_or("");
    let (offset, read_marks, reported_marks) = align(read, &report.reported_serial);
    html! {
        pre class="serials" {
            "reported " (marked(&reported_marks)) "\nread     "
            @if read.is_empty() {
                "(none)"
            } @else {
                (" ".repeat(offset)) (marked(&read_marks))
            }
        }
    }
}

/// One gallery card: the annotated thumbnail (or why the photo is not shown) and the row's facts.
fn card(row: &Row, problem: Option<&String>) -> Markup {
    let verdict = row.verdict();
    let reasons = row.reasons();
    html! {
        article id={"row-" (row.row)} data-verdict=(verdict) data-reasons=(reasons.join(" ")) {
            @match (&row.outcome, problem) {
                (Ok(_), None) => {
                    a href={"img/row-" (row.row) ".jpg"} {
                        img loading="lazy" data-src={"thumbs/row-" (row.row) ".jpg"}
                            alt={"row " (row.row) ", annotated"} width=(THUMB_WIDTH);
                    }
                }
                (Ok(_), Some(p)) => { p class="nophoto" { "photo not shown: " (p) } }
                (Err(_), _) => {}
            }
            div class="facts" {
                h2 { span class={"verdict v-" (verdict)} { (verdict) } " row " (row.row) }
                p class="photo" { (row.photo) }
                p class="reasons" { (reasons.join(", ")) }
                @match &row.outcome {
                    Ok(report) => {
                        (serial_lines(report))
                        p class="scores" {
                            "blur: photo " (format!("{:.0}", report.blur_score_normalized.0))
                            @if let Some(r) = report.region_blur_score {
                                ", serial field " (format!("{r:.0}"))
                            }
                        }
                    }
                    Err((_, message)) => { p class="error" { (message) } }
                }
            }
        }
        "\n"
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1em;margin:0 0 .3em}\
#summary{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
td:last-child{text-align:right}figure{margin:0}figcaption{font-size:.9em;color:#555}\
.bar{fill:#4a7fd0}.axis{stroke:#444}.threshold{stroke:#d00;stroke-width:2}.tick{font-size:10px;fill:#444}\
#filters{position:sticky;top:0;background:#fff;padding:.6em 0;border-bottom:1px solid #ddd;margin:1em 0}\
#filters label{margin-right:1.5em}#gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}\
article{content-visibility:auto;contain-intrinsic-size:auto 430px;border:1px solid #ddd;border-radius:6px;padding:8px;overflow:hidden}article[hidden]{display:none}\
article img{max-width:100%;height:auto;display:block;background:#eee;min-height:120px}\
.facts p{margin:.2em 0}.photo{color:#555;word-break:break-all}\
.serials{font:12px/1.5 ui-monospace,monospace;background:#f6f6f6;padding:4px;overflow-x:auto;margin:.3em 0}\
mark{background:#fcc;color:#b00;font-weight:bold}.verdict{padding:1px 6px;border-radius:3px;color:#fff}\
.v-MATCH{background:#0a3}.v-MISMATCH{background:#d00}.v-INCONCLUSIVE{background:#e80}\
.v-BLURRY,.v-NOT_FOUND{background:#777}.v-ERROR{background:#333}.error,.nophoto{color:#b00}";

const SCRIPT: &str = r#"(function(){
var v=document.getElementById('filter-verdict'),r=document.getElementById('filter-reason'),
    n=document.getElementById('shown-count'),cards=document.querySelectorAll('#gallery article');
function apply(){var shown=0;for(var i=0;i<cards.length;i++){var a=cards[i];
  var ok=(!v.value||a.dataset.verdict===v.value)&&(!r.value||a.dataset.reasons.split(' ').indexOf(r.value)>=0);
  a.hidden=!ok;if(ok)shown++;}n.textContent=shown+' of '+cards.length+' rows shown';}
function fromHash(){var h=new URLSearchParams(location.hash.slice(1));
  v.value=h.get('verdict')||'';r.value=h.get('reason')||'';apply();}
function toHash(){var h=new URLSearchParams();if(v.value)h.set('verdict',v.value);if(r.value)h.set('reason',r.value);
  location.hash=h.toString();apply();}
v.addEventListener('change',toHash);r.addEventListener('change',toHash);
window.addEventListener('hashchange',fromHash);fromHash();
var imgs=document.querySelectorAll('img[data-src]');
function show(i){i.src=i.dataset.src;}
if('IntersectionObserver' in window){var io=new IntersectionObserver(function(es){es.forEach(function(e){
  if(e.isIntersecting){show(e.target);io.unobserve(e.target);}});},{rootMargin:'800px'});
  for(var k=0;k<imgs.length;k++)io.observe(imgs[k]);}
else{for(var k=0;k<imgs.length;k++)show(imgs[k]);}})();"#;

/// A filter's drop-down: every value with its count.
fn options(id: &str, label: &str, values: &BTreeMap<String, usize>) -> Markup {
    html! {
        label {
            (label) " "
            select id=(id) {
                option value="" { "all" }
                @for (k, n) in values {
                    option value=(k) { (k) " (" (n) ")" }
                }
            }
        }
    }
}

/// Counts over the rows the summary shows.
#[derive(Default)]
struct Tally {
    verdicts: BTreeMap<String, usize>,
    /// Reasons of the rows with a report.
    reasons: BTreeMap<String, usize>,
    /// What a row can be filtered by: its reasons, or a failed row's error code.
    filter_tags: BTreeMap<String, usize>,
    errors: BTreeMap<String, usize>,
    photo_blur: Vec<f64>,
    region_blur: Vec<f64>,
    thresholds: Option<crate::pipeline::verdict::Thresholds>,
}

impl Tally {
    fn of<'r>(rows: impl IntoIterator<Item = &'r Row>) -> Tally {
        let mut t = Tally::default();
        for row in rows {
            *t.verdicts.entry(row.verdict().to_string()).or_insert(0) += 1;
            for tag in row.reasons() {
                *t.filter_tags.entry(tag).or_insert(0) += 1;
            }
            match &row.outcome {
                Ok(r) => {
                    for reason in row.reasons() {
                        *t.reasons.entry(reason).or_insert(0) += 1;
                    }
                    t.photo_blur.push(r.blur_score_normalized.0);
                    t.region_blur.extend(r.region_blur_score);
                    t.thresholds.get_or_insert(r.thresholds);
                }
                Err((code, _)) => *t.errors.entry(code.clone()).or_insert(0) += 1,
            }
        }
        t
    }
}

/// The whole page. Every text is escaped by maud as it is written.
fn page(
    jsonl: &Path,
    rows: &[Row],
    shown: &[&Row],
    images: &[Option<String>],
    all: bool,
) -> String {
    let every = Tally::of(rows);
    let gallery = Tally::of(shown.iter().copied());
    let t = every.thresholds.unwrap_or_default();
    let source = jsonl
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let which = if all {
        "every row"
    } else {
        "rows that are not MATCH"
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { "labelcheck review: " (source) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "labelcheck review: " (source) }
                p id="about" {
                    (rows.len()) " rows; the gallery shows " (shown.len()) " (" (which) ")."
                }
                section id="summary" {
                    (table("by-verdict", "verdict", &every.verdicts))
                    (table("by-reason", "reason", &every.reasons))
                    @if !every.errors.is_empty() {
                        (table("by-error", "error", &every.errors))
                    }
                    (histogram(
                        "photo-blur",
                        "Photo blur score (normalised variance of the Laplacian)",
                        &every.photo_blur,
                        t.photo_blur_min,
                    ))
                    (histogram(
                        "region-blur",
                        "Serial field blur score",
                        &every.region_blur,
                        t.region_blur_min,
                    ))
                }
                section id="filters" {
                    (options("filter-verdict", "Verdict", &gallery.verdicts))
                    (options("filter-reason", "Reason", &gallery.filter_tags))
                    span id="shown-count" {}
                }
                section id="gallery" {
                    @for (row, problem) in shown.iter().zip(images) {
                        (card(row, problem.as_ref()))
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    markup.into_string() + "\n"
}

/// Where a batch's photos are found: the manifest's folder (the `photo` column is relative to it).
pub fn photos_root_of(manifest: &Path) -> PathBuf {
    manifest.parent().unwrap_or(Path::new("")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_rows_is_escaped() {
        let row = Row {
            row: 7,
            photo: "<script>alert('x')</script>.jpg".into(),
            outcome: Err(("bad\"code".into(), "a <b>message</b> & more".into())),
        };
        let html = card(&row, None).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains("a &lt;b&gt;message&lt;/b&gt; &amp; more"),
            "{html}"
        );
        assert!(html.contains("data-reasons=\"bad&quot;code\""), "{html}");
    }

    #[test]
    fn the_histogram_puts_every_score_in_a_bar() {
        let svg = histogram("h", "t", &[0.0, 5.0, 50.0, 500.0, 5000.0], 150.0).into_string();
        let total: usize = svg
            .split("<title>")
            .skip(1)
            .filter_map(|s| s.split('<').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(total, 5);
        assert!(svg.contains("class=\"threshold\""));
    }
}
