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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use image::{RgbImage, imageops};
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

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A histogram of `scores` over log10(1 + score) as inline SVG, `threshold` marked.
fn histogram(id: &str, title: &str, scores: &[f64], threshold: f64) -> String {
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
    let mut svg = format!(
        "<figure id=\"{id}\"><figcaption>{} ({} rows; log scale; red line: threshold {threshold:.0})</figcaption>\
         <svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        scores.len(),
        esc(title)
    );
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = c as f64 / most * (h - 2.0 * pad);
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{c}</title></rect>",
            pad + i as f64 * bar_w + 1.0,
            h - pad - bh,
            bar_w - 2.0
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" class=\"axis\"/>",
        h - pad,
        w - pad
    );
    let mut tick = 1.0;
    while tick <= top {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{tick:.0}</text>",
            x_of(tick),
            h - pad + 16.0
        );
        tick *= 10.0;
    }
    let tx = x_of(threshold);
    let _ = write!(
        svg,
        "<line class=\"threshold\" x1=\"{tx:.1}\" y1=\"{0}\" x2=\"{tx:.1}\" y2=\"{1}\"/></svg></figure>",
        pad / 2.0,
        h - pad
    );
    svg
}

/// A count table.
fn table(id: &str, head: &str, counts: &BTreeMap<String, usize>) -> String {
    let mut t = format!(
        "<table id=\"{id}\"><thead><tr><th>{}</th><th>rows</th></tr></thead><tbody>",
        esc(head)
    );
    for (k, n) in counts {
        let _ = write!(t, "<tr><td>{}</td><td>{n}</td></tr>", esc(k));
    }
    t + "</tbody></table>"
}

/// The serial read set under the reported one, differing characters marked.
fn serial_lines(report: &Report) -> String {
    let read = report.serial_read.as_deref().unwrap_or("");
    let (offset, read_marks, reported_marks) = align(read, &report.reported_serial);
    let marked = |marks: &[Mark]| -> String {
        marks
            .iter()
            .map(|m| {
                let ch = esc(&m.ch.to_string());
                if m.differs {
                    format!("<mark>{ch}</mark>")
                } else {
                    ch
                }
            })
            .collect()
    };
    let read_line = if read.is_empty() {
        "(none)".to_string()
    } else {
        " ".repeat(offset) + &marked(&read_marks)
    };
    format!(
        "<pre class=\"serials\">reported {}\nread     {read_line}</pre>",
        marked(&reported_marks)
    )
}

fn card(row: &Row, problem: Option<&String>) -> String {
    let verdict = row.verdict();
    let reasons = row.reasons();
    let mut html = format!(
        "<article id=\"row-{0}\" data-verdict=\"{1}\" data-reasons=\"{2}\">",
        row.row,
        esc(verdict),
        esc(&reasons.join(" "))
    );
    match (&row.outcome, problem) {
        (Ok(_), None) => {
            let _ = write!(
                html,
                "<a href=\"img/row-{0}.jpg\"><img loading=\"lazy\" data-src=\"thumbs/row-{0}.jpg\" alt=\"row {0}, annotated\" width=\"{THUMB_WIDTH}\"></a>",
                row.row
            );
        }
        (Ok(_), Some(p)) => {
            let _ = write!(html, "<p class=\"nophoto\">photo not shown: {}</p>", esc(p));
        }
        (Err(_), _) => {}
    }
    let _ = write!(
        html,
        "<div class=\"facts\"><h2><span class=\"verdict v-{0}\">{0}</span> row {1}</h2><p class=\"photo\">{2}</p><p class=\"reasons\">{3}</p>",
        esc(verdict),
        row.row,
        esc(&row.photo),
        esc(&reasons.join(", "))
    );
    match &row.outcome {
        Ok(report) => {
            html += &serial_lines(report);
            let region = report
                .region_blur_score
                .map_or(String::new(), |r| format!(", serial field {r:.0}"));
            let _ = write!(
                html,
                "<p class=\"scores\">blur: photo {:.0}{region}</p>",
                report.blur_score_normalized.0
            );
        }
        Err((_, message)) => {
            let _ = write!(html, "<p class=\"error\">{}</p>", esc(message));
        }
    }
    html + "</div></article>\n"
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

fn options(id: &str, label: &str, values: &BTreeMap<String, usize>) -> String {
    let mut s = format!("<label>{label} <select id=\"{id}\"><option value=\"\">all</option>");
    for (k, n) in values {
        let _ = write!(s, "<option value=\"{0}\">{0} ({n})</option>", esc(k));
    }
    s + "</select></label>"
}

fn page(
    jsonl: &Path,
    rows: &[Row],
    shown: &[&Row],
    images: &[Option<String>],
    all: bool,
) -> String {
    let mut verdicts = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let (mut photo_blur, mut region_blur) = (Vec::new(), Vec::new());
    let mut thresholds = None;
    for row in rows {
        *verdicts.entry(row.verdict().to_string()).or_insert(0) += 1;
        match &row.outcome {
            Ok(r) => {
                for reason in row.reasons() {
                    *reasons.entry(reason).or_insert(0) += 1;
                }
                photo_blur.push(r.blur_score_normalized.0);
                region_blur.extend(r.region_blur_score);
                thresholds.get_or_insert(r.thresholds);
            }
            Err((code, _)) => *errors.entry(code.clone()).or_insert(0) += 1,
        }
    }
    let t = thresholds.unwrap_or_default();
    let mut shown_verdicts = BTreeMap::new();
    let mut shown_reasons = BTreeMap::new();
    for row in shown {
        *shown_verdicts.entry(row.verdict().to_string()).or_insert(0) += 1;
        for reason in row.reasons() {
            *shown_reasons.entry(reason).or_insert(0) += 1;
        }
    }
    let source = jsonl
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>labelcheck review: {0}</title><style>{STYLE}</style></head><body>\n\
         <h1>labelcheck review: {0}</h1><p id=\"about\">{1} rows; the gallery shows {2} ({3}).</p>\n<section id=\"summary\">",
        esc(&source),
        rows.len(),
        shown.len(),
        if all {
            "every row"
        } else {
            "rows that are not MATCH"
        }
    );
    html += &table("by-verdict", "verdict", &verdicts);
    html += &table("by-reason", "reason", &reasons);
    if !errors.is_empty() {
        html += &table("by-error", "error", &errors);
    }
    html += &histogram(
        "photo-blur",
        "Photo blur score (normalised variance of the Laplacian)",
        &photo_blur,
        t.photo_blur_min,
    );
    html += &histogram(
        "region-blur",
        "Serial field blur score",
        &region_blur,
        t.region_blur_min,
    );
    html += "</section>\n<section id=\"filters\">";
    html += &options("filter-verdict", "Verdict", &shown_verdicts);
    html += &options("filter-reason", "Reason", &shown_reasons);
    html += "<span id=\"shown-count\"></span></section>\n<section id=\"gallery\">\n";
    for (row, problem) in shown.iter().zip(images) {
        html += &card(row, problem.as_ref());
    }
    html + "</section>\n<script>" + SCRIPT + "</script></body></html>\n"
}

/// Where a batch's photos are found: the manifest's folder (the `photo` column is relative to it).
pub fn photos_root_of(manifest: &Path) -> PathBuf {
    manifest.parent().unwrap_or(Path::new("")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_histogram_puts_every_score_in_a_bar() {
        let svg = histogram("h", "t", &[0.0, 5.0, 50.0, 500.0, 5000.0], 150.0);
        let total: usize = svg
            .split("<title>")
            .skip(1)
            .filter_map(|s| s.split('<').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(total, 5);
        assert!(svg.contains("class=\"threshold\""));
    }
}
