//! Output rows: JSON Lines or CSV, one row per input row, each written whole and flushed, so a
//! run killed outright loses at most its rows in flight and a partial last line.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::pipeline::Report;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header; nested values (reasons, region, evidence, ...) as compact JSON.
    Csv,
}

/// The keys of a serialised [`Report`], in CSV column order (`tests/batch.rs` checks them against
/// real rows).
pub const REPORT_KEYS: &[&str] = &[
    "verdict",
    "reasons",
    "reported_serial",
    "serial_read",
    "serial_read_raw",
    "serial_rereads_raw",
    "match_kind",
    "confidence",
    "serial_region",
    "blur_score",
    "blur_score_normalized",
    "region_blur_score",
    "text_blur_score",
    "thresholds",
    "format",
    "width",
    "height",
    "exif_orientation",
    "lines_found",
    "text_lines",
    "serials_found",
    "ocr_calls",
    "timings",
    "codes",
    "evidence",
];

/// What became of one row.
pub(super) enum Outcome {
    /// The core's report.
    Report(Box<Report>),
    /// The row could not be checked.
    Failed {
        /// Stable error code (`unreadable_file`, `invalid_serial`, [`crate::Error::code`], ...).
        code: &'static str,
        /// Human-readable message naming the file or field.
        message: String,
    },
}

/// Writes output rows.
pub(super) struct Sink {
    path: PathBuf,
    out: BufWriter<File>,
    format: Format,
    input_columns: Vec<String>,
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl Sink {
    /// Opens `out` for appending; a CSV output that is `fresh` (new or empty) gets its header.
    pub fn open(
        out: &Path,
        format: Format,
        input_columns: Vec<String>,
        fresh: bool,
    ) -> Result<Sink> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .map_err(|e| Error::file(out, e))?;
        let mut sink = Sink {
            path: out.to_path_buf(),
            out: BufWriter::new(file),
            format,
            input_columns,
        };
        if fresh && format == Format::Csv {
            sink.header().map_err(|e| Error::file(out, e))?;
        }
        Ok(sink)
    }

    fn header(&mut self) -> std::io::Result<()> {
        let mut record: Vec<String> = vec!["row".into()];
        record.extend(self.input_columns.iter().map(|c| format!("input.{c}")));
        record.extend(["error_code".into(), "error_message".into()]);
        record.extend(REPORT_KEYS.iter().map(|k| k.to_string()));
        self.write_csv(&record)
    }

    fn write_csv(&mut self, record: &[String]) -> std::io::Result<()> {
        let mut line = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        line.write_record(record)?;
        let bytes = line.into_inner().map_err(|e| e.into_error())?;
        self.out.write_all(&bytes)?;
        self.out.flush()
    }

    /// Writes one row whole and flushes it.
    pub fn write(&mut self, row: u64, input: &Map<String, Value>, outcome: &Outcome) -> Result<()> {
        let mut object = Map::new();
        object.insert("row".into(), row.into());
        object.insert("input".into(), Value::Object(input.clone()));
        match outcome {
            Outcome::Report(report) => {
                object.insert("error".into(), Value::Null);
                if let Value::Object(fields) =
                    serde_json::to_value(report).map_err(|e| Error::internal("json", e))?
                {
                    object.extend(fields);
                }
            }
            Outcome::Failed { code, message } => {
                object.insert(
                    "error".into(),
                    serde_json::json!({ "code": code, "message": message }),
                );
            }
        }
        let result = match self.format {
            Format::Jsonl => {
                let mut line =
                    serde_json::to_vec(&object).map_err(|e| Error::internal("json", e))?;
                line.push(b'\n');
                self.out.write_all(&line).and_then(|()| self.out.flush())
            }
            Format::Csv => {
                let mut record = vec![row.to_string()];
                record.extend(self.input_columns.iter().map(|c| cell(input.get(c))));
                let error = object.get("error");
                record.push(cell(error.and_then(|e| e.get("code"))));
                record.push(cell(error.and_then(|e| e.get("message"))));
                record.extend(REPORT_KEYS.iter().map(|k| cell(object.get(*k))));
                self.write_csv(&record)
            }
        };
        result.map_err(|e| Error::file(&self.path, e))
    }
}
