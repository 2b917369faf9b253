//! The CPU side of the server and the batch runner: a rayon pool whose threads each own one
//! Tesseract engine, created once when the pool starts (so a broken model fails start-up, not the
//! first request) and reused for every photo that thread handles.
//!
//! Async code never runs a photo itself: it hands a job to [`Workers::spawn`] and awaits the
//! answer. A panic inside a job is caught, reported as [`Error::Internal`], and the engine of that
//! thread is dropped (it may be half-way through a call) and made afresh on its next job.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::pipeline::ocr::{Recognizer, TesseractEngine};

thread_local! {
    /// This thread's engine and the model folder it was made from.
    static ENGINE: RefCell<Option<(PathBuf, TesseractEngine)>> = const { RefCell::new(None) };
}

/// A rayon pool of OCR workers, one engine per thread.
pub struct Workers {
    pool: rayon::ThreadPool,
    model_dir: Arc<PathBuf>,
    threads: usize,
}

fn internal(detail: impl Into<String>) -> Error {
    Error::Internal {
        component: "workers",
        detail: detail.into(),
    }
}

impl Workers {
    /// Starts `threads` workers (threads named `{name}-{i}`) and creates each one's engine from
    /// the model in `model_dir`.
    pub fn new(model_dir: &Path, threads: usize, name: &str) -> Result<Workers> {
        Self::with_priority(model_dir, threads, name, 0)
    }

    /// [`Workers::new`], with the workers' nice value raised by `nice_increment` (Linux; ignored
    /// elsewhere). The server uses +5 so that, with every CPU busy reading photos, its I/O
    /// threads still answer at once: health checks, refusals of excess calls and replies.
    /// Measured with `load/measure.sh` on 2 cores at 64x overload: refusal p99 4.47 ms with
    /// workers at equal priority, 3.28 ms at +5, and saturation throughput 97.7% -> 99.6% of
    /// workers x the one-worker rate.
    pub fn with_priority(
        model_dir: &Path,
        threads: usize,
        name: &str,
        nice_increment: i32,
    ) -> Result<Workers> {
        if threads == 0 {
            return Err(Error::Config {
                name: "workers",
                reason: "must be at least 1".into(),
            });
        }
        let prefix = name.to_string();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{prefix}-{i}"))
            .start_handler(move |_| lower_priority(nice_increment))
            .build()
            .map_err(|e| internal(e.to_string()))?;
        let model_dir = Arc::new(model_dir.to_path_buf());
        let dir = Arc::clone(&model_dir);
        pool.broadcast(|_| with_engine(&dir, |_| Ok(())))
            .into_iter()
            .collect::<Result<()>>()?;
        Ok(Workers {
            pool,
            model_dir,
            threads,
        })
    }

    /// Number of worker threads (and engines).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `job` on a free worker with that worker's engine, then hands its result to `done`
    /// (on the worker thread). Returns at once.
    pub fn spawn<R, J, D>(&self, job: J, done: D)
    where
        R: Send + 'static,
        J: FnOnce(&mut dyn Recognizer) -> Result<R> + Send + 'static,
        D: FnOnce(Result<R>) + Send + 'static,
    {
        let dir = Arc::clone(&self.model_dir);
        self.pool.spawn(move || done(with_engine(&dir, job)));
    }

    /// Runs `f` inside the pool, so that rayon iterators in it use these workers; `f` calls
    /// [`Workers::engine`] per item.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Runs `job` with the current worker's engine (call it on a worker, inside
    /// [`Workers::install`]).
    pub fn engine<R>(&self, job: impl FnOnce(&mut dyn Recognizer) -> Result<R>) -> Result<R> {
        with_engine(&self.model_dir, job)
    }
}

impl Drop for Workers {
    /// Drops every worker's engine before the pool goes away: thread-locals of pool threads are
    /// not destroyed at process exit, and Tesseract then complains of leaked model objects.
    fn drop(&mut self) {
        self.pool
            .broadcast(|_| ENGINE.with(|slot| slot.borrow_mut().take()));
    }
}

/// Raises this thread's nice value by `increment` (a no-op for 0, and off Linux).
fn lower_priority(increment: i32) {
    #[cfg(target_os = "linux")]
    if increment > 0 {
        // SAFETY: plain system calls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid() as libc::id_t;
            let current = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, current + increment)
        };
        if result != 0 {
            tracing::debug!("could not lower a worker's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = increment;
}

/// Runs `job` with this thread's engine, creating it first if the thread has none (or one for
/// another model). The engine is taken out of its slot while `job` runs, so a job nested on the
/// same thread (rayon work stealing) makes its own instead of sharing one mid-call.
fn with_engine<R>(
    model_dir: &Path,
    job: impl FnOnce(&mut dyn Recognizer) -> Result<R>,
) -> Result<R> {
    let taken = ENGINE.with(|slot| slot.borrow_mut().take());
    let mut engine = match taken {
        Some((dir, engine)) if dir == model_dir => engine,
        _ => TesseractEngine::new(model_dir)?,
    };
    match catch_unwind(AssertUnwindSafe(|| job(&mut engine))) {
        Ok(result) => {
            ENGINE.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    *slot = Some((model_dir.to_path_buf(), engine));
                }
            });
            result
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            tracing::error!(cause = %what, "a job panicked; its worker's OCR engine is replaced");
            Err(Error::Internal {
                component: "pipeline",
                detail: format!("panicked: {what}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
    }

    #[test]
    fn a_panicking_job_is_an_internal_error_and_the_pool_keeps_working() {
        let workers = Workers::new(&model_dir(), 1, "test").expect("workers start");
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        workers.spawn(
            |_engine| -> Result<()> { panic!("boom") },
            move |r| {
                let _ = tx.send(r.map(|_| String::new()));
            },
        );
        let first = rx.recv().expect("an answer");
        assert!(
            matches!(&first, Err(Error::Internal { detail, .. }) if detail.contains("boom")),
            "{first:?}"
        );
        let white = image::GrayImage::from_pixel(200, 48, image::Luma([255]));
        workers.spawn(
            move |engine| {
                engine.read_line(&white, crate::pipeline::ocr::Charset::Any)?;
                Ok("read".to_string())
            },
            move |r| {
                let _ = tx2.send(r);
            },
        );
        assert_eq!(rx.recv().expect("an answer").expect("works"), "read");
    }

    #[test]
    fn a_missing_model_fails_start_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Workers::new(dir.path(), 2, "test").is_err());
        assert!(matches!(
            Workers::new(&model_dir(), 0, "test"),
            Err(Error::Config { .. })
        ));
    }
}
