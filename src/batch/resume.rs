//! `--resume`: which rows an earlier run already wrote. A run killed mid-write may leave a
//! partial last line; it is cut off first, so the rows appended after it start on a fresh line.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

use super::sink::Format;
use crate::error::{Error, Result};

/// A set of row numbers, as a bitset.
#[derive(Debug, Default)]
pub(super) struct DoneRows {
    words: Vec<u64>,
}

impl DoneRows {
    /// Adds `row`.
    fn insert(&mut self, row: u64) {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    /// Whether `row` is in the set.
    pub fn contains(&self, row: u64) -> bool {
        self.words
            .get((row / 64) as usize)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }
}

/// The rows an output must not get again: `None` for a new (or empty) output; for an existing
/// one, its complete rows when resuming, else an error (an output is never overwritten).
pub(super) fn rows_to_skip(out: &Path, format: Format, resume: bool) -> Result<Option<DoneRows>> {
    let exists = out.metadata().map(|m| m.len() > 0).unwrap_or(false);
    if !exists {
        return Ok(None);
    }
    if !resume {
        return Err(Error::file(
            out,
            "already exists: pass --resume to keep its rows and add the missing ones, or remove it",
        ));
    }
    rows_done(out, format).map(Some)
}

/// Rows already in an output file. A partial last line (a run killed mid-write) is cut off
/// first.
fn rows_done(out: &Path, format: Format) -> Result<DoneRows> {
    let name = out.display();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(out)
        .map_err(|e| Error::file(out, e))?;
    let len = file.metadata().map_err(|e| Error::file(out, e))?.len();
    // Find the end of the last complete line, reading backwards in chunks.
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    'scan: while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::file(out, e))?;
        file.read_exact(&mut chunk[..n])
            .map_err(|e| Error::file(out, e))?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break 'scan;
        }
        end = start;
    }
    if end < len {
        eprintln!(
            "labelcheck: {name}: cutting off a partial last line ({} bytes)",
            len - end
        );
        file.set_len(end).map_err(|e| Error::file(out, e))?;
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::file(out, e))?;
    let mut done = DoneRows::default();
    match format {
        Format::Jsonl => {
            for (n, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| Error::file(out, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("row")?.as_u64())
                    .ok_or_else(|| Error::file_line(out, n as u64 + 1, "not an output row"))?;
                done.insert(row);
            }
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(file);
            for record in reader.records() {
                let record = record.map_err(|e| Error::file(out, e))?;
                let row = record
                    .get(0)
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| Error::file(out, "a line has no row number"))?;
                done.insert(row);
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_line_is_cut_and_complete_rows_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"row\":0}\n{\"row\":5}\n{\"row\":7,\"verd").expect("write");
        let done = rows_done(&path, Format::Jsonl).expect("scan");
        assert!(done.contains(0) && done.contains(5));
        assert!(!done.contains(7) && !done.contains(1) && !done.contains(100_000));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"row\":0}\n{\"row\":5}\n"
        );
    }

    #[test]
    fn an_existing_output_is_kept_only_when_resuming() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        assert!(
            rows_to_skip(&path, Format::Jsonl, false)
                .expect("new")
                .is_none()
        );
        std::fs::write(&path, "{\"row\":3}\n").expect("write");
        let refused = rows_to_skip(&path, Format::Jsonl, false).expect_err("exists");
        assert!(refused.to_string().contains("--resume"), "{refused}");
        let kept = rows_to_skip(&path, Format::Jsonl, true).expect("resume");
        assert!(kept.is_some_and(|done| done.contains(3)));
    }
}
