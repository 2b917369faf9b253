//! What the commands print: the `check` report and photo facts as text or JSON, and the
//! `rescore` transitions. Pure formatting: every function returns the text, the caller prints it.

use std::fmt::Write as _;
use std::path::Path;

use crate::batch::RescoreSummary;
use crate::pipeline::Report;
use crate::pipeline::blur::NORMALIZED_LONG_SIDE;
use crate::{PhotoFacts, pipeline::CheckTimings};

/// `value` as one line of JSON with the photo's path added under `photo`.
pub fn json_with_photo(value: &impl serde::Serialize, photo: &Path) -> crate::Result<String> {
    let mut value = serde_json::to_value(value).map_err(|e| crate::Error::internal("json", e))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("photo".into(), photo.display().to_string().into());
    }
    Ok(value.to_string())
}

/// A `check --serial` report as aligned text lines.
pub fn report_text(photo: &str, r: &Report) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{:<18}{value}", format!("{label}:"));
    };
    let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
    line("photo", photo.to_string());
    line(
        "verdict",
        format!("{} ({})", r.verdict.as_str(), reasons.join(", ")),
    );
    line("reported serial", r.reported_serial.clone());
    line(
        "serial read",
        r.serial_read.as_deref().unwrap_or("-").to_string(),
    );
    if let Some(kind) = r.match_kind {
        line("match kind", format!("{kind:?}"));
    }
    if let Some(c) = r.confidence {
        line("confidence", format!("{c:.0} (lowest character)"));
    }
    if let Some(b) = r.serial_region {
        line(
            "serial region",
            format!("x {}..{}, y {}..{}", b.x0, b.x1, b.y0, b.y1),
        );
    }
    line(
        "size",
        format!(
            "{}x{} px, {} (EXIF orientation {})",
            r.width, r.height, r.format, r.exif_orientation
        ),
    );
    line(
        "blur",
        format!(
            "photo {:.1} (normalised {:.1}, min {}), region {} (min {})",
            r.blur_score.0,
            r.blur_score_normalized.0,
            r.thresholds.photo_blur_min,
            r.region_blur_score
                .map_or("-".to_string(), |v| format!("{v:.0}")),
            r.thresholds.region_blur_min
        ),
    );
    line(
        "lines found",
        format!("{} ({} OCR calls)", r.lines_found, r.ocr_calls),
    );
    if r.codes.is_empty() {
        line("codes", "none decoded".to_string());
    }
    for c in &r.codes {
        let b = c.bbox;
        line(
            "code",
            format!(
                "{} at x {}..{}, y {}..{}: {}",
                c.symbology.as_str(),
                b.x0,
                b.x1,
                b.y0,
                b.y1,
                c.serial.as_deref().unwrap_or("no serial")
            ),
        );
    }
    line("timings", timings_text(&r.timings));
    out
}

fn timings_text(t: &CheckTimings) -> String {
    format!(
        "decode {:.1} ms, blur {:.1} ms, codes {:.1} ms, locate {:.1} ms, ocr {:.1} ms, total {:.1} ms",
        t.decode_ms, t.blur_ms, t.barcode_ms, t.locate_ms, t.ocr_ms, t.total_ms
    )
}

/// `check` without a serial: what is known about the photo, as aligned text lines.
pub fn facts_text(photo: &str, facts: &PhotoFacts) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{:<23}{value}", format!("{label}:"));
    };
    line("photo", photo.to_string());
    line("format", facts.format.to_string());
    line(
        "size",
        format!("{}x{} px (upright)", facts.width, facts.height),
    );
    let orientation = if facts.orientation_applied {
        "applied"
    } else {
        "none needed"
    };
    line(
        "exif orientation",
        format!("{} ({orientation})", facts.exif_orientation),
    );
    line(
        "blur score",
        format!("{:.2} (variance of the Laplacian)", facts.blur_score.0),
    );
    line(
        "blur score normalised",
        format!(
            "{:.2} (at {NORMALIZED_LONG_SIDE} px long side)",
            facts.blur_score_normalized.0
        ),
    );
    line(
        "timings",
        format!(
            "decode {:.1} ms, blur {:.1} ms",
            facts.timings.decode_ms, facts.timings.blur_ms
        ),
    );
    out
}

/// What a re-scoring changed: rows rescored and the verdict transitions.
pub fn rescore_text(summary: &RescoreSummary) -> String {
    let mut out = format!(
        "rescored {} of {} rows ({} failed rows copied); verdict changes:\n",
        summary.rescored, summary.rows, summary.failed_rows
    );
    for (transition, n) in &summary.transitions {
        let _ = writeln!(out, "  {transition:<28} {n:>6}");
    }
    out
}
