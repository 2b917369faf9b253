//! `labelcheck batch` and `labelcheck rescore`: the door for the data team.
//!
//! A batch streams a manifest CSV (`photo`, `reported_serial`, optional `case_id`, any other
//! columns) through the [`Workers`] pool and streams one output row per input row (JSON Lines or
//! CSV), in the order rows finish. At most `2 x jobs` rows are in flight, so memory does not grow
//! with the manifest. Each row is written whole and flushed: a run stopped by SIGINT/SIGTERM
//! finishes its rows in flight first; one killed outright loses at most those rows and at most a
//! partial last line, which `--resume` cuts off before appending the rows still missing.
//!
//! Rows carry the report's evidence, so [`rescore`] can decide them again under new thresholds
//! without OCR.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::pipeline::serial::parse_reported;
use crate::pipeline::verdict::Thresholds;
use crate::pipeline::{PipelineConfig, Report, check};
use crate::workers::Workers;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header; nested values (reasons, region, evidence, ...) as compact JSON.
    Csv,
}

/// A deterministic share of rows: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `K/N` with 1 <= K <= N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not K/N"))?;
        let (k, n): (u64, u64) = (
            k.trim()
                .parse()
                .map_err(|_| format!("{text:?} is not K/N"))?,
            n.trim()
                .parse()
                .map_err(|_| format!("{text:?} is not K/N"))?,
        );
        if n == 0 || k == 0 || k > n {
            return Err(format!("{text:?}: need 1 <= K <= N"));
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }
}

impl Shard {
    /// Whether a row belongs to this shard: by a stable hash (SHA-256) of its case id when it has
    /// one, else of its row number, so every machine splits a manifest the same way.
    pub fn takes(&self, row: u64, case_id: Option<&str>) -> bool {
        let digest = match case_id.filter(|c| !c.is_empty()) {
            Some(id) => Sha256::digest(format!("case:{id}")),
            None => Sha256::digest(format!("row:{row}")),
        };
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % self.count == self.index
    }
}

/// How progress is shown on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, else a log line every 10 s.
    Auto,
    /// Always a log line every 10 s.
    Log,
    /// Nothing until the summary.
    Off,
}

/// What a batch run does.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The manifest CSV.
    pub manifest: PathBuf,
    /// The output file.
    pub out: PathBuf,
    /// Its format.
    pub format: Format,
    /// Worker threads.
    pub jobs: usize,
    /// Keep the rows already in `out` and append the rest.
    pub resume: bool,
    /// Only this share of rows.
    pub shard: Option<Shard>,
    /// Write the summary as JSON here too.
    pub summary_json: Option<PathBuf>,
    /// Progress display.
    pub progress: ProgressMode,
}

/// Counts and speed of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Rows in the manifest.
    pub manifest_rows: u64,
    /// Rows this run was responsible for (its shard).
    pub shard_rows: u64,
    /// Rows already in the output when resuming.
    pub already_done: u64,
    /// Rows written by this run.
    pub written: u64,
    /// Rows of the shard still missing (stopped early).
    pub missing: u64,
    /// Written rows by verdict.
    pub verdicts: BTreeMap<String, u64>,
    /// Written rows that failed, by error code.
    pub errors: BTreeMap<String, u64>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Rows written per second.
    pub rows_per_second: f64,
    /// Worker threads.
    pub jobs: usize,
    /// Whether the run was stopped by a signal before the end.
    pub interrupted: bool,
}

/// One manifest row, read.
struct Input {
    row: u64,
    columns: Map<String, Value>,
    photo: PathBuf,
    serial: String,
}

/// What became of one row.
enum Outcome {
    Report(Box<Report>),
    Failed { code: &'static str, message: String },
}

/// The index of the header column `name` (surrounding spaces ignored).
pub fn column(headers: &csv::StringRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| h.trim() == name)
}

/// Opens a manifest CSV and checks that its header has `photo` and `reported_serial`.
pub fn open_manifest(path: &Path) -> Result<(csv::Reader<File>, csv::StringRecord), String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    for required in ["photo", "reported_serial"] {
        if column(&headers, required).is_none() {
            return Err(format!(
                "{}: the header has no {required:?} column",
                path.display()
            ));
        }
    }
    Ok((reader, headers))
}

/// The file a manifest's `photo` cell names: relative to the manifest's folder unless absolute.
pub fn photo_path(manifest: &Path, cell: &str) -> PathBuf {
    manifest.parent().unwrap_or(Path::new("")).join(cell.trim())
}

impl Input {
    /// A row known only by its number and columns (a malformed line, a job that panicked).
    fn bare(row: u64, columns: Map<String, Value>) -> Input {
        Input {
            row,
            columns,
            photo: PathBuf::new(),
            serial: String::new(),
        }
    }
}

/// Rows already in an output file, as a bitset over row numbers. A partial last line (a run
/// killed mid-write) is cut off first.
fn rows_done(out: &Path, format: Format) -> Result<Vec<u64>, String> {
    let name = out.display();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(out)
        .map_err(|e| format!("{name}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    // Find the end of the last complete line, reading backwards in chunks.
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    'scan: while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| format!("{name}: {e}"))?;
        file.read_exact(&mut chunk[..n])
            .map_err(|e| format!("{name}: {e}"))?;
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
        file.set_len(end).map_err(|e| format!("{name}: {e}"))?;
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| format!("{name}: {e}"))?;
    let mut done: Vec<u64> = Vec::new();
    let mut mark = |row: u64| {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if done.len() <= word {
            done.resize(word + 1, 0);
        }
        done[word] |= 1 << bit;
    };
    match format {
        Format::Jsonl => {
            for (n, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| format!("{name}: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("row")?.as_u64())
                    .ok_or_else(|| format!("{name}: line {} is not an output row", n + 1))?;
                mark(row);
            }
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(file);
            for record in reader.records() {
                let record = record.map_err(|e| format!("{name}: {e}"))?;
                let row = record
                    .get(0)
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| format!("{name}: a line has no row number"))?;
                mark(row);
            }
        }
    }
    Ok(done)
}

fn is_done(done: &[u64], row: u64) -> bool {
    done.get((row / 64) as usize)
        .is_some_and(|w| w & (1 << (row % 64)) != 0)
}

/// The keys of a serialised [`Report`], in CSV column order (checked by a test).
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
    "serials_found",
    "ocr_calls",
    "timings",
    "evidence",
];

/// Writes output rows.
struct Sink {
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
    fn write(
        &mut self,
        row: u64,
        input: &Map<String, Value>,
        outcome: &Outcome,
    ) -> Result<(), String> {
        let mut object = Map::new();
        object.insert("row".into(), row.into());
        object.insert("input".into(), Value::Object(input.clone()));
        match outcome {
            Outcome::Report(report) => {
                object.insert("error".into(), Value::Null);
                if let Value::Object(fields) =
                    serde_json::to_value(report).map_err(|e| e.to_string())?
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
                let mut line = serde_json::to_vec(&object).map_err(|e| e.to_string())?;
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
        result.map_err(|e| format!("cannot write the output: {e}"))
    }
}

/// Progress on standard error.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    log: bool,
    total: u64,
    done: u64,
    start: Instant,
    last_log: Instant,
}

impl Progress {
    fn new(mode: ProgressMode, total: u64) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && tty).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            log: bar.is_none() && mode != ProgressMode::Off,
            bar,
            total,
            done: 0,
            start: Instant::now(),
            last_log: Instant::now(),
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if self.log && self.last_log.elapsed() >= Duration::from_secs(10) {
            self.last_log = Instant::now();
            let rate = self.done as f64 / self.start.elapsed().as_secs_f64();
            let eta = (self.total.saturating_sub(self.done)) as f64 / rate.max(1e-9);
            eprintln!(
                "labelcheck batch: {}/{} rows, {rate:.2} rows/s, ETA {eta:.0} s",
                self.done, self.total
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Checks one row on a worker.
fn run_row(
    input: &Input,
    config: &PipelineConfig,
    engine: &mut dyn crate::pipeline::ocr::Recognizer,
) -> Outcome {
    let reported = match parse_reported(&input.serial) {
        Ok(serial) => serial,
        Err(e) => {
            return Outcome::Failed {
                code: "invalid_serial",
                message: format!("reported_serial {:?}: {e}", input.serial),
            };
        }
    };
    let bytes = match std::fs::read(&input.photo) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Outcome::Failed {
                code: "unreadable_file",
                message: format!("{}: {e}", input.photo.display()),
            };
        }
    };
    match check(&bytes, &reported, config, engine, &mut |_, _| {}) {
        Ok(report) => Outcome::Report(Box::new(report)),
        Err(e) => Outcome::Failed {
            code: e.code(),
            message: format!("{}: {e}", input.photo.display()),
        },
    }
}

/// The next manifest record: `Ok(None)` at the end, `Ok(Some(Err(..)))` for a malformed row
/// (wrong number of fields, bad UTF-8), which is reported as a failed row and skipped, and `Err`
/// for a failure that ends the run (the file cannot be read).
fn next_record(
    reader: &mut csv::Reader<File>,
    record: &mut csv::StringRecord,
    manifest: &Path,
) -> Result<Option<Result<(), String>>, String> {
    match reader.read_record(record) {
        Ok(true) => Ok(Some(Ok(()))),
        Ok(false) => Ok(None),
        Err(e) => match e.kind() {
            csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. } => {
                Ok(Some(Err(e.to_string())))
            }
            _ => Err(format!("{}: {e}", manifest.display())),
        },
    }
}

/// One pass over the manifest: its rows, the rows of `shard`, and how many of those are `done`.
fn scan(manifest: &Path, shard: Option<Shard>, done: &[u64]) -> Result<(u64, u64, u64), String> {
    let (mut reader, headers) = open_manifest(manifest)?;
    let case_col = column(&headers, "case_id");
    let (mut rows, mut mine, mut already) = (0u64, 0u64, 0u64);
    let mut record = csv::StringRecord::new();
    while let Some(parsed) = next_record(&mut reader, &mut record, manifest)? {
        let case_id = parsed
            .is_ok()
            .then(|| case_col.and_then(|c| record.get(c)))
            .flatten();
        if shard.is_none_or(|s| s.takes(rows, case_id)) {
            mine += 1;
            already += u64::from(is_done(done, rows));
        }
        rows += 1;
    }
    Ok((rows, mine, already))
}

/// Runs a batch. `stop` is set by SIGINT/SIGTERM: no new rows start, rows in flight finish.
pub fn run(
    model_dir: &Path,
    pipeline: &PipelineConfig,
    options: &BatchOptions,
    stop: &AtomicBool,
) -> Result<Summary, String> {
    let started = Instant::now();
    let exists = options.out.metadata().map(|m| m.len() > 0).unwrap_or(false);
    if exists && !options.resume {
        return Err(format!(
            "{} already exists: pass --resume to keep its rows and add the missing ones, or remove it",
            options.out.display()
        ));
    }
    let done = if exists {
        rows_done(&options.out, options.format)?
    } else {
        Vec::new()
    };
    let (mut reader, headers) = open_manifest(&options.manifest)?;
    let (photo_col, serial_col, case_col) = (
        column(&headers, "photo").unwrap_or(0),
        column(&headers, "reported_serial").unwrap_or(0),
        column(&headers, "case_id"),
    );
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.out)
        .map_err(|e| format!("{}: {e}", options.out.display()))?;
    let mut sink = Sink {
        out: BufWriter::new(file),
        format: options.format,
        input_columns: headers.iter().map(str::to_string).collect(),
    };
    if !exists && options.format == Format::Csv {
        sink.header()
            .map_err(|e| format!("cannot write the output: {e}"))?;
    }

    let workers =
        Workers::new(model_dir, options.jobs, "labelcheck-batch").map_err(|e| e.to_string())?;
    let mut config = *pipeline;
    config.parallel = false;
    let config = Arc::new(config);
    let (manifest_rows, shard_rows, already_done) = scan(&options.manifest, options.shard, &done)?;
    let mut summary = Summary {
        manifest_rows,
        shard_rows,
        already_done,
        jobs: options.jobs,
        ..Summary::default()
    };
    let todo = shard_rows - already_done;
    let mut progress = Progress::new(options.progress, todo);
    let (tx, rx) = mpsc::channel::<(Input, Outcome)>();
    let max_in_flight = 2 * options.jobs;
    let mut in_flight = 0usize;
    let mut write = |summary: &mut Summary, input: Input, outcome: Outcome| -> Result<(), String> {
        sink.write(input.row, &input.columns, &outcome)?;
        summary.written += 1;
        match &outcome {
            Outcome::Report(r) => {
                *summary
                    .verdicts
                    .entry(r.verdict.as_str().to_string())
                    .or_insert(0) += 1;
            }
            Outcome::Failed { code, .. } => {
                *summary.errors.entry(code.to_string()).or_insert(0) += 1;
            }
        }
        progress.tick();
        Ok(())
    };

    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            summary.interrupted = true;
            break;
        }
        let Some(parsed) = next_record(&mut reader, &mut record, &options.manifest)? else {
            break;
        };
        if let Err(message) = parsed {
            let this = row;
            row += 1;
            if options.shard.is_some_and(|s| !s.takes(this, None)) || is_done(&done, this) {
                continue;
            }
            let input = Input::bare(this, Map::new());
            write(
                &mut summary,
                input,
                Outcome::Failed {
                    code: "bad_manifest_row",
                    message,
                },
            )?;
            continue;
        }
        let this = row;
        row += 1;
        let case_id = case_col.and_then(|c| record.get(c));
        if options.shard.is_some_and(|s| !s.takes(this, case_id)) || is_done(&done, this) {
            continue;
        }
        let columns: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
            .collect();
        let input = Input {
            row: this,
            columns,
            photo: photo_path(&options.manifest, record.get(photo_col).unwrap_or_default()),
            serial: record.get(serial_col).unwrap_or_default().to_string(),
        };
        while in_flight >= max_in_flight {
            let (input, outcome) = rx.recv().map_err(|_| "a worker went away".to_string())?;
            in_flight -= 1;
            write(&mut summary, input, outcome)?;
        }
        let (tx, config) = (tx.clone(), Arc::clone(&config));
        // What the row is, kept outside the job: a job that panics still gives its row.
        let (row_number, columns) = (input.row, input.columns.clone());
        in_flight += 1;
        workers.spawn(
            move |engine| Ok((run_row(&input, &config, engine), input)),
            move |result| {
                let _ = tx.send(match result {
                    Ok((outcome, input)) => (input, outcome),
                    Err(e) => (
                        Input::bare(row_number, columns),
                        Outcome::Failed {
                            code: e.code(),
                            message: e.to_string(),
                        },
                    ),
                });
            },
        );
    }
    drop(tx);
    while in_flight > 0 {
        match rx.recv() {
            Ok((input, outcome)) => {
                in_flight -= 1;
                write(&mut summary, input, outcome)?;
            }
            Err(_) => break,
        }
    }
    progress.finish();
    summary.missing = summary
        .shard_rows
        .saturating_sub(summary.already_done + summary.written);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.written as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// The summary as a text table.
pub fn describe(s: &Summary) -> String {
    let mut out = String::new();
    out += &format!(
        "rows: {} in the manifest, {} in this shard, {} already done, {} written, {} missing{}\n",
        s.manifest_rows,
        s.shard_rows,
        s.already_done,
        s.written,
        s.missing,
        if s.interrupted { " (interrupted)" } else { "" }
    );
    out += "verdict            rows\n";
    for (verdict, n) in &s.verdicts {
        out += &format!("  {verdict:<16} {n:>6}\n");
    }
    if !s.errors.is_empty() {
        out += "error              rows\n";
        for (code, n) in &s.errors {
            out += &format!("  {code:<16} {n:>6}\n");
        }
    }
    out += &format!(
        "time: {:.1} s, {:.2} rows/s with {} jobs\n",
        s.seconds, s.rows_per_second, s.jobs
    );
    out
}

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
pub fn rescore(input: &Path, out: &Path, thresholds: Thresholds) -> Result<RescoreSummary, String> {
    let reader =
        BufReader::new(File::open(input).map_err(|e| format!("{}: {e}", input.display()))?);
    let mut writer =
        BufWriter::new(File::create(out).map_err(|e| format!("{}: {e}", out.display()))?);
    let mut summary = RescoreSummary::default();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", input.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let here = || format!("{} line {}", input.display(), n + 1);
        let mut object: Map<String, Value> =
            serde_json::from_str(&line).map_err(|e| format!("{}: {e}", here()))?;
        summary.rows += 1;
        if object.get("error").is_some_and(|e| !e.is_null()) {
            summary.failed_rows += 1;
        } else {
            let report_fields: Map<String, Value> = REPORT_KEYS
                .iter()
                .filter_map(|k| Some((k.to_string(), object.get(*k)?.clone())))
                .collect();
            let mut report: Report = serde_json::from_value(Value::Object(report_fields))
                .map_err(|e| format!("{}: not a report row ({e})", here()))?;
            let reported =
                parse_reported(&report.reported_serial).map_err(|e| format!("{}: {e}", here()))?;
            let before = report.verdict;
            report.redecide(&reported, thresholds);
            *summary
                .transitions
                .entry(format!(
                    "{} -> {}",
                    before.as_str(),
                    report.verdict.as_str()
                ))
                .or_insert(0) += 1;
            if let Value::Object(fields) =
                serde_json::to_value(&report).map_err(|e| e.to_string())?
            {
                object.extend(fields);
            }
            summary.rescored += 1;
        }
        let mut bytes = serde_json::to_vec(&object).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        writer
            .write_all(&bytes)
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    writer
        .flush()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_rows_without_loss_or_overlap() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x", "1/x", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3)
            .map(|k| format!("{k}/3").parse().expect("shard"))
            .collect();
        let mut sizes = [0; 3];
        for row in 0..3000u64 {
            let case = (row % 2 == 0).then(|| format!("case-{row}"));
            let owners: Vec<usize> = (0..3)
                .filter(|&i| shards[i].takes(row, case.as_deref()))
                .collect();
            assert_eq!(owners.len(), 1, "row {row} must have exactly one shard");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 900), "{sizes:?}");
    }

    #[test]
    fn a_partial_last_line_is_cut_and_complete_rows_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"row\":0}\n{\"row\":5}\n{\"row\":7,\"verd").expect("write");
        let done = rows_done(&path, Format::Jsonl).expect("scan");
        assert!(is_done(&done, 0) && is_done(&done, 5));
        assert!(!is_done(&done, 7) && !is_done(&done, 1) && !is_done(&done, 100_000));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"row\":0}\n{\"row\":5}\n"
        );
    }
}
