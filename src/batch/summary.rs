//! What a batch run did: rows by verdict and error code, throughput, and progress on standard
//! error while it runs.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::sink::Outcome;

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

impl Summary {
    /// Counts one written row.
    pub(super) fn count(&mut self, outcome: &Outcome) {
        self.written += 1;
        match outcome {
            Outcome::Report(r) => {
                *self
                    .verdicts
                    .entry(r.verdict.as_str().to_string())
                    .or_insert(0) += 1;
            }
            Outcome::Failed { code, .. } => {
                *self.errors.entry(code.to_string()).or_insert(0) += 1;
            }
        }
    }

    /// Fills in what is known only at the end: rows missing, wall time since `started`, rate.
    pub(super) fn finish(&mut self, started: Instant) {
        self.missing = self
            .shard_rows
            .saturating_sub(self.already_done + self.written);
        self.seconds = started.elapsed().as_secs_f64();
        self.rows_per_second = self.written as f64 / self.seconds.max(1e-9);
    }
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

/// Progress on standard error.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    log: bool,
    total: u64,
    done: u64,
    start: Instant,
    last_log: Instant,
}

impl Progress {
    /// Progress over `total` rows, shown as `mode` says.
    pub fn new(mode: ProgressMode, total: u64) -> Progress {
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

    /// One more row done.
    pub fn tick(&mut self) {
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

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
