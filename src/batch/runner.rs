//! `labelcheck batch`: manifest rows through the [`Workers`] pool to output rows.
//!
//! At most `2 x jobs` rows are in flight, so memory does not grow with the manifest. Rows are
//! written in the order they finish. `stop` (set by SIGINT/SIGTERM) ends the reading of new rows;
//! rows in flight still finish and are written.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::manifest::{self, Input, Manifest, Todo};
use super::resume;
use super::shard::Shard;
use super::sink::{Format, Outcome, Sink};
use super::summary::{Progress, ProgressMode, Summary};
use crate::engines::EngineFactory;
use crate::error::{Error, Result};
use crate::pipeline::ocr::Readers;
use crate::pipeline::serial::parse_reported;
use crate::pipeline::{PipelineConfig, check};
use crate::workers::Workers;

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
    /// Progress display.
    pub progress: ProgressMode,
}

/// Runs a batch. `stop` is set by SIGINT/SIGTERM: no new rows start, rows in flight finish.
/// `pipeline` is used as given: the settings turn off the core's own parallel passes
/// ([`PipelineConfig::parallel`]), since the workers already fill the CPUs.
pub fn run(
    engines: Arc<dyn EngineFactory>,
    pipeline: &PipelineConfig,
    options: &BatchOptions,
    stop: &AtomicBool,
) -> Result<Summary> {
    let started = Instant::now();
    let done = resume::rows_to_skip(&options.out, options.format, options.resume)?;
    let fresh = done.is_none();
    let done = done.unwrap_or_default();
    let mut manifest = Manifest::open(&options.manifest)?;
    let mut sink = Sink::open(&options.out, options.format, manifest.columns(), fresh)?;
    let workers = Workers::new(engines, options.jobs, "labelcheck-batch")?;
    let config = Arc::new(*pipeline);
    let counts = manifest::count(&options.manifest, options.shard, &done)?;
    let mut summary = Summary {
        manifest_rows: counts.rows,
        shard_rows: counts.shard_rows,
        already_done: counts.already_done,
        jobs: options.jobs,
        ..Summary::default()
    };
    let mut progress = Progress::new(options.progress, counts.shard_rows - counts.already_done);
    let mut write = |summary: &mut Summary, input: Input, outcome: Outcome| -> Result<()> {
        sink.write(input.row, &input.columns, &outcome)?;
        summary.count(&outcome);
        progress.tick();
        Ok(())
    };

    let (tx, rx) = mpsc::channel::<(Input, Outcome)>();
    let max_in_flight = 2 * options.jobs;
    let mut in_flight = 0usize;
    loop {
        if stop.load(Ordering::Relaxed) {
            summary.interrupted = true;
            break;
        }
        let input = match manifest.next_todo(options.shard, &done)? {
            None => break,
            Some(Todo::Malformed { row, message }) => {
                let failed = Outcome::Failed {
                    code: "bad_manifest_row",
                    message,
                };
                write(&mut summary, Input::bare(row, Default::default()), failed)?;
                continue;
            }
            Some(Todo::Check(input)) => input,
        };
        while in_flight >= max_in_flight {
            let (input, outcome) = rx
                .recv()
                .map_err(|_| Error::internal("batch", "a worker went away"))?;
            in_flight -= 1;
            write(&mut summary, input, outcome)?;
        }
        in_flight += 1;
        dispatch(&workers, input, &config, tx.clone());
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
    summary.finish(started);
    Ok(summary)
}

/// Checks `input` on a free worker and sends the row and its outcome to `tx`. A job that panics
/// still gives its row, as a failed one.
fn dispatch(
    workers: &Workers,
    input: Input,
    config: &Arc<PipelineConfig>,
    tx: mpsc::Sender<(Input, Outcome)>,
) {
    let config = Arc::clone(config);
    // What the row is, kept outside the job.
    let (row_number, columns) = (input.row, input.columns.clone());
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

/// Checks one row on a worker.
fn run_row(input: &Input, config: &PipelineConfig, engine: &mut dyn Readers) -> Outcome {
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
                message: Error::file(&input.photo, e).to_string(),
            };
        }
    };
    match check(&bytes, &reported, config, engine, &mut |_, _| {}) {
        Ok(report) => Outcome::Report(Box::new(report)),
        Err(e) => Outcome::Failed {
            code: e.code(),
            message: Error::file(&input.photo, e).to_string(),
        },
    }
}
