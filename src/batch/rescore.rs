//! `labelcheck rescore`: decide a JSON Lines batch output again under other thresholds, from the
//! evidence each row carries: no photo, no OCR, well under a millisecond per row.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::sink::REPORT_KEYS;
use crate::error::{Error, Result};
use crate::pipeline::Report;
use crate::pipeline::serial::parse_reported;
use crate::pipeline::verdict::Thresholds;

/// What a re-scoring changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RescoreSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows decided again.
    pub rescored: u64,
    /// Failed rows copied unchanged.
    pub failed_rows: u64,
    /// `OLD -> NEW` verdict counts.
    pub transitions: BTreeMap<String, u64>,
}

/// Decides every report row of a JSON Lines batch output again under `thresholds`, from the
/// evidence it carries (no photo, no OCR), and writes the rows to `out`.
pub fn rescore(input: &Path, out: &Path, thresholds: Thresholds) -> Result<RescoreSummary> {
    let reader = BufReader::new(File::open(input).map_err(|e| Error::file(input, e))?);
    let mut writer = BufWriter::new(File::create(out).map_err(|e| Error::file(out, e))?);
    let mut summary = RescoreSummary::default();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::file(input, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let here = |e: &dyn std::fmt::Display| Error::file_line(input, n as u64 + 1, e);
        let mut object: Map<String, Value> = serde_json::from_str(&line).map_err(|e| here(&e))?;
        summary.rows += 1;
        if object.get("error").is_some_and(|e| !e.is_null()) {
            summary.failed_rows += 1;
        } else {
            let transition = rescore_row(&mut object, thresholds).map_err(|e| here(&e))?;
            *summary.transitions.entry(transition).or_insert(0) += 1;
            summary.rescored += 1;
        }
        let mut bytes = serde_json::to_vec(&object).map_err(|e| Error::internal("json", e))?;
        bytes.push(b'\n');
        writer.write_all(&bytes).map_err(|e| Error::file(out, e))?;
    }
    writer.flush().map_err(|e| Error::file(out, e))?;
    Ok(summary)
}

/// The report a batch output row carries (a row without an error).
pub fn report_of_row(object: &Map<String, Value>) -> Result<Report, String> {
    let report_fields: Map<String, Value> = REPORT_KEYS
        .iter()
        .filter_map(|k| Some((k.to_string(), object.get(*k)?.clone())))
        .collect();
    serde_json::from_value(Value::Object(report_fields))
        .map_err(|e| format!("not a report row ({e})"))
}

/// Decides one report row again in place; returns its `OLD -> NEW` verdict transition.
fn rescore_row(object: &mut Map<String, Value>, thresholds: Thresholds) -> Result<String, String> {
    let mut report = report_of_row(object)?;
    let reported = parse_reported(&report.reported_serial).map_err(|e| e.to_string())?;
    let before = report.verdict;
    report.redecide(&reported, thresholds);
    if let Value::Object(fields) = serde_json::to_value(&report).map_err(|e| e.to_string())? {
        object.extend(fields);
    }
    Ok(format!(
        "{} -> {}",
        before.as_str(),
        report.verdict.as_str()
    ))
}
