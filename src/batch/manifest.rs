//! Reading a manifest CSV: its header, its rows streamed one at a time (never held in memory),
//! and the photo file each row names.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::resume::DoneRows;
use super::shard::Shard;
use crate::error::{Error, Result};

/// The index of the header column `name` (surrounding spaces ignored).
pub fn column(headers: &csv::StringRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| h.trim() == name)
}

/// Opens a manifest CSV and checks that its header has `photo` and `reported_serial`.
pub fn open_manifest(path: &Path) -> Result<(csv::Reader<File>, csv::StringRecord)> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| Error::file(path, e))?;
    let headers = reader.headers().map_err(|e| Error::file(path, e))?.clone();
    for required in ["photo", "reported_serial"] {
        if column(&headers, required).is_none() {
            return Err(Error::file(
                path,
                format!("the header has no {required:?} column"),
            ));
        }
    }
    Ok((reader, headers))
}

/// The file a manifest's `photo` cell names: relative to the manifest's folder unless absolute.
pub fn photo_path(manifest: &Path, cell: &str) -> PathBuf {
    manifest.parent().unwrap_or(Path::new("")).join(cell.trim())
}

/// One manifest row, read.
pub(super) struct Input {
    /// 0-based row number (header excluded).
    pub row: u64,
    /// Every column, copied to the output row.
    pub columns: Map<String, Value>,
    /// The photo file.
    pub photo: PathBuf,
    /// The reported serial, as given.
    pub serial: String,
}

impl Input {
    /// A row known only by its number and columns (a malformed line, a job that panicked).
    pub fn bare(row: u64, columns: Map<String, Value>) -> Input {
        Input {
            row,
            columns,
            photo: PathBuf::new(),
            serial: String::new(),
        }
    }
}

/// A row of the manifest that this run has to write.
pub(super) enum Todo {
    /// A row to check.
    Check(Input),
    /// A malformed line (wrong number of fields, bad UTF-8): written as a failed row.
    Malformed {
        /// Its row number.
        row: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// A manifest streamed row by row.
pub(super) struct Manifest {
    path: PathBuf,
    reader: csv::Reader<File>,
    headers: csv::StringRecord,
    photo_col: usize,
    serial_col: usize,
    case_col: Option<usize>,
    record: csv::StringRecord,
    next_row: u64,
}

impl Manifest {
    /// Opens `path` ([`open_manifest`]).
    pub fn open(path: &Path) -> Result<Manifest> {
        let (reader, headers) = open_manifest(path)?;
        Ok(Manifest {
            path: path.to_path_buf(),
            reader,
            photo_col: column(&headers, "photo").unwrap_or(0),
            serial_col: column(&headers, "reported_serial").unwrap_or(0),
            case_col: column(&headers, "case_id"),
            headers,
            record: csv::StringRecord::new(),
            next_row: 0,
        })
    }

    /// The header's column names, in order.
    pub fn columns(&self) -> Vec<String> {
        self.headers.iter().map(str::to_string).collect()
    }

    /// The next manifest record: `Ok(None)` at the end, `Ok(Some(Err(..)))` for a malformed row
    /// (wrong number of fields, bad UTF-8), which is reported as a failed row and skipped, and
    /// `Err` for a failure that ends the run (the file cannot be read). Counts the row.
    fn next_record(&mut self) -> Result<Option<Result<u64, String>>> {
        let row = self.next_row;
        let parsed = match self.reader.read_record(&mut self.record) {
            Ok(true) => Ok(row),
            Ok(false) => return Ok(None),
            Err(e) => match e.kind() {
                csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. } => {
                    Err(e.to_string())
                }
                _ => return Err(Error::file(&self.path, e)),
            },
        };
        self.next_row += 1;
        Ok(Some(parsed))
    }

    /// The current record's case id, if the manifest has that column.
    fn case_id(&self) -> Option<&str> {
        self.case_col.and_then(|c| self.record.get(c))
    }

    /// The next row that `shard` takes and that is not `done`, or `None` at the end.
    pub fn next_todo(&mut self, shard: Option<Shard>, done: &DoneRows) -> Result<Option<Todo>> {
        while let Some(parsed) = self.next_record()? {
            let (row, case_id) = match &parsed {
                Ok(row) => (*row, self.case_id()),
                Err(_) => (self.next_row - 1, None),
            };
            if shard.is_some_and(|s| !s.takes(row, case_id)) || done.contains(row) {
                continue;
            }
            return Ok(Some(match parsed {
                Err(message) => Todo::Malformed { row, message },
                Ok(row) => Todo::Check(self.input(row)),
            }));
        }
        Ok(None)
    }

    /// The current record as an [`Input`].
    fn input(&self, row: u64) -> Input {
        let columns: Map<String, Value> = self
            .headers
            .iter()
            .zip(self.record.iter())
            .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
            .collect();
        Input {
            row,
            columns,
            photo: photo_path(
                &self.path,
                self.record.get(self.photo_col).unwrap_or_default(),
            ),
            serial: self
                .record
                .get(self.serial_col)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// Row counts of one pass over a manifest.
pub(super) struct Counts {
    /// Rows in the manifest.
    pub rows: u64,
    /// Rows of the shard.
    pub shard_rows: u64,
    /// Rows of the shard already done.
    pub already_done: u64,
}

/// One pass over the manifest: its rows, the rows of `shard`, and how many of those are `done`.
pub(super) fn count(manifest: &Path, shard: Option<Shard>, done: &DoneRows) -> Result<Counts> {
    let mut m = Manifest::open(manifest)?;
    let mut counts = Counts {
        rows: 0,
        shard_rows: 0,
        already_done: 0,
    };
    while let Some(parsed) = m.next_record()? {
        let row = counts.rows;
        let case_id = parsed.is_ok().then(|| m.case_id()).flatten();
        if shard.is_none_or(|s| s.takes(row, case_id)) {
            counts.shard_rows += 1;
            counts.already_done += u64::from(done.contains(row));
        }
        counts.rows += 1;
    }
    Ok(counts)
}
