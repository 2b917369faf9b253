//! The CPU side of the server and the batch runner: a rayon pool whose threads each own one set
//! of engines (the learned reader and Tesseract), made by an [`EngineFactory`] once when the pool
//! starts (so a broken model fails start-up, not the first request) and reused for every line
//! that thread reads. Tests hand in a factory of fakes.
//!
//! A job (one photo) does not hold an engine. It reads through a [`PoolReader`]: each line read
//! borrows the engine of the pool thread that runs it for that one read, and the lines a pipeline
//! step reads together are spread over the pool: its threads take them from one queue, longest
//! first. An idle pool thus puts every core on one photo, while a busy one runs no more reads at
//! once than it has threads (a free thread takes the waiting lines of one photo or the next
//! photo; no thread is added).
//!
//! Async code never runs a photo itself: it hands a job to [`Workers::spawn`] and awaits the
//! answer. A panic inside a job is caught and reported as [`Error::Internal`]; an engine that
//! was half-way through a read when it panicked is dropped with the unwinding, and that thread
//! makes a fresh one on its next read.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use image::GrayImage;

use crate::engines::EngineFactory;
use crate::error::{Error, Result};
use crate::pipeline::ocr::{Ask, LineRead, Readers};

/// This thread's engines, keyed by the id of the pool ([`Source`]) that made them.
type Slot = Option<(u64, Box<dyn Readers + Send>)>;

thread_local! {
    static ENGINE: RefCell<Slot> = const { RefCell::new(None) };
}

/// Ids of pools, so that a thread never reads with engines another pool's factory made.
static NEXT_POOL: AtomicU64 = AtomicU64::new(1);

/// Where a pool's engines come from: its factory and its id.
#[derive(Clone)]
struct Source {
    factory: Arc<dyn EngineFactory>,
    id: u64,
}

/// A rayon pool of OCR workers, one set of engines per thread.
pub struct Workers {
    pool: rayon::ThreadPool,
    source: Source,
}

fn internal(detail: impl Into<String>) -> Error {
    Error::Internal {
        component: "workers",
        detail: detail.into(),
    }
}

impl Workers {
    /// Starts `threads` workers (threads named `{name}-{i}`) and makes each one's engines with
    /// `factory`.
    pub fn new(factory: Arc<dyn EngineFactory>, threads: usize, name: &str) -> Result<Workers> {
        Self::with_priority(factory, threads, name, 0)
    }

    /// [`Workers::new`], with the workers' nice value raised by `nice_increment` (Linux; ignored
    /// elsewhere). The server uses +5 so that, with every CPU busy reading photos, its I/O
    /// threads still answer at once: health checks, refusals of excess calls and replies.
    /// Measured with `load/measure.sh` on 2 cores at 64x overload: refusal p99 4.47 ms with
    /// workers at equal priority, 3.28 ms at +5, and saturation throughput 97.7% -> 99.6% of
    /// workers x the one-worker rate.
    pub fn with_priority(
        factory: Arc<dyn EngineFactory>,
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
        let source = Source {
            factory,
            id: NEXT_POOL.fetch_add(1, Ordering::Relaxed),
        };
        pool.broadcast(|_| with_thread_engine(&source, |_| Ok(())))
            .into_iter()
            .collect::<Result<()>>()?;
        Ok(Workers { pool, source })
    }

    /// Runs `job` on a free worker, reading through a [`PoolReader`], then hands its result to
    /// `done` (on a worker thread). Returns at once.
    pub fn spawn<R, J, D>(&self, job: J, done: D)
    where
        R: Send + 'static,
        J: FnOnce(&mut dyn Readers) -> Result<R> + Send + 'static,
        D: FnOnce(Result<R>) + Send + 'static,
    {
        let source = self.source.clone();
        self.pool.spawn(move || done(run_job(&source, job)));
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

/// The readers a job reads through: every read borrows the engines of the pool thread it runs
/// on for that read only, and [`Readers::read_all`] spreads its lines over the pool (call it on a
/// pool thread).
pub struct PoolReader<'a> {
    source: &'a Source,
}

impl Readers for PoolReader<'_> {
    fn read(&mut self, line: &GrayImage, ask: Ask) -> Result<LineRead> {
        with_thread_engine(self.source, |engine| engine.read(line, ask))
    }

    /// Reads the longest lines first: each of the pool's threads takes the next line from one
    /// shared queue, longest (widest for its height) first, so that a photo's lines end at about
    /// the same time on every thread rather than one thread finishing the widest line alone.
    fn read_all(&mut self, lines: &[(&GrayImage, Ask)]) -> Result<Vec<LineRead>> {
        let source = self.source;
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by(|&a, &b| length(lines[b].0).total_cmp(&length(lines[a].0)));
        let next = AtomicUsize::new(0);
        let reads: Vec<OnceLock<Result<LineRead>>> =
            lines.iter().map(|_| OnceLock::new()).collect();
        let take = || {
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                let (line, ask) = lines[i];
                let _ = reads[i].set(with_thread_engine(source, |engine| engine.read(line, ask)));
            }
        };
        let helpers = rayon::current_num_threads()
            .min(lines.len())
            .saturating_sub(1);
        rayon::scope(|s| {
            for _ in 0..helpers {
                s.spawn(|_| take());
            }
            take();
        });
        reads
            .into_iter()
            .map(|read| {
                read.into_inner()
                    .unwrap_or_else(|| Err(internal("a line was not read")))
            })
            .collect()
    }

    fn detect(&mut self, view: &GrayImage) -> Result<Option<GrayImage>> {
        with_thread_engine(self.source, |engine| engine.detect(view))
    }
}

/// How long a line crop is for its height: what a read of it costs, roughly.
fn length(line: &GrayImage) -> f32 {
    line.width() as f32 / line.height().max(1) as f32
}

/// Runs `job` with a [`PoolReader`], turning a panic into [`Error::Internal`].
fn run_job<R>(source: &Source, job: impl FnOnce(&mut dyn Readers) -> Result<R>) -> Result<R> {
    let mut reader = PoolReader { source };
    catch_unwind(AssertUnwindSafe(|| job(&mut reader))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        tracing::error!(cause = %what, "a job panicked");
        Err(Error::Internal {
            component: "pipeline",
            detail: format!("panicked: {what}"),
        })
    })
}

/// Runs `read` with this thread's engine, creating it first if the thread has none (or one for
/// another model). The engine is out of its slot while `read` runs: a panic drops it with the
/// unwinding (it may be half-way through a call), and the thread makes a fresh one next time.
fn with_thread_engine<R>(
    source: &Source,
    read: impl FnOnce(&mut dyn Readers) -> Result<R>,
) -> Result<R> {
    let taken = ENGINE.with(|slot| slot.borrow_mut().take());
    let mut engine = match taken {
        Some((id, engine)) if id == source.id => engine,
        _ => source.factory.make()?,
    };
    #[cfg(test)]
    let _reading = tests::Reading::start();
    let result = read(engine.as_mut());
    ENGINE.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some((source.id, engine));
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Engine reads in progress, the most seen at once, and the threads that read.
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);
    static READERS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

    /// Counts one engine read while alive, on the threads of the pool named `spread` (other
    /// tests' pools run at the same time).
    pub(super) struct Reading(bool);

    impl Reading {
        pub(super) fn start() -> Reading {
            let name = std::thread::current().name().unwrap_or("?").to_string();
            if !name.starts_with("spread") {
                return Reading(false);
            }
            let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            MOST.fetch_max(now, Ordering::SeqCst);
            if let Ok(mut readers) = READERS.lock() {
                readers.get_or_insert_with(HashSet::new).insert(name);
            }
            Reading(true)
        }
    }

    impl Drop for Reading {
        fn drop(&mut self) {
            if self.0 {
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// A fake engine that takes a few milliseconds a read and reads nothing.
    struct Sleepy;

    impl Readers for Sleepy {
        fn read(&mut self, _line: &GrayImage, _ask: Ask) -> Result<LineRead> {
            std::thread::sleep(std::time::Duration::from_millis(3));
            Ok(LineRead::default())
        }
    }

    /// Makes [`Sleepy`] engines, or fails when `broken`.
    struct Fakes {
        broken: bool,
    }

    impl EngineFactory for Fakes {
        fn make(&self) -> Result<Box<dyn Readers + Send>> {
            if self.broken {
                return Err(Error::Model {
                    path: "fake".into(),
                    reason: "broken".into(),
                });
            }
            Ok(Box::new(Sleepy))
        }
    }

    fn fakes() -> Arc<dyn EngineFactory> {
        Arc::new(Fakes { broken: false })
    }

    #[test]
    fn one_photo_reads_on_every_thread_and_many_never_oversubscribe() {
        let workers = Workers::new(fakes(), 2, "spread").expect("workers start");
        let crop = Arc::new(image::GrayImage::from_pixel(600, 48, image::Luma([230])));
        let (tx, rx) = std::sync::mpsc::channel();
        // One job alone: its 24 lines are read by both threads.
        let job = |crop: Arc<image::GrayImage>| {
            move |reader: &mut dyn Readers| {
                let lines: Vec<(&image::GrayImage, Ask)> =
                    (0..24).map(|_| (&*crop, Ask::LINE)).collect();
                reader.read_all(&lines).map(|reads| reads.len())
            }
        };
        let send = |tx: std::sync::mpsc::Sender<Result<usize>>| move |r| drop(tx.send(r));
        workers.spawn(job(Arc::clone(&crop)), send(tx.clone()));
        assert_eq!(rx.recv().expect("an answer").expect("reads"), 24);
        let readers = READERS.lock().expect("lock").take().unwrap_or_default();
        assert_eq!(
            readers.len(),
            2,
            "one photo's lines were read on {readers:?}"
        );
        // Six jobs at once: never more reads at a time than threads.
        MOST.store(0, Ordering::SeqCst);
        for _ in 0..6 {
            workers.spawn(job(Arc::clone(&crop)), send(tx.clone()));
        }
        for _ in 0..6 {
            assert_eq!(rx.recv().expect("an answer").expect("reads"), 24);
        }
        assert!(
            MOST.load(Ordering::SeqCst) <= 2,
            "{} reads at once",
            MOST.load(Ordering::SeqCst)
        );
    }

    /// A fake engine that reads a crop's width as its text.
    struct Widths;

    impl Readers for Widths {
        fn read(&mut self, line: &GrayImage, _ask: Ask) -> Result<LineRead> {
            Ok(LineRead {
                chars: line
                    .width()
                    .to_string()
                    .chars()
                    .map(|ch| crate::pipeline::ocr::CharRead {
                        ch,
                        confidence: 90.0,
                        x0: 0,
                        x1: 1,
                        word_start: false,
                    })
                    .collect(),
            })
        }
    }

    struct WidthFakes;

    impl EngineFactory for WidthFakes {
        fn make(&self) -> Result<Box<dyn Readers + Send>> {
            Ok(Box::new(Widths))
        }
    }

    #[test]
    fn reads_come_back_in_the_order_of_the_lines_whatever_order_they_ran_in() {
        let workers = Workers::new(Arc::new(WidthFakes), 2, "order").expect("workers start");
        let widths = [120u32, 900, 40, 610, 610, 75, 2000, 300];
        let crops: Vec<GrayImage> = widths
            .iter()
            .map(|&w| GrayImage::from_pixel(w, 48, image::Luma([230])))
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        workers.spawn(
            move |reader| {
                let lines: Vec<(&GrayImage, Ask)> = crops.iter().map(|c| (c, Ask::LINE)).collect();
                reader
                    .read_all(&lines)
                    .map(|reads| reads.iter().map(LineRead::text).collect::<Vec<_>>())
            },
            move |r| drop(tx.send(r)),
        );
        let texts = rx.recv().expect("an answer").expect("reads");
        let expected: Vec<String> = widths.iter().map(u32::to_string).collect();
        assert_eq!(texts, expected);
    }

    #[test]
    fn a_panicking_job_is_an_internal_error_and_the_pool_keeps_working() {
        let workers = Workers::new(fakes(), 1, "test").expect("workers start");
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
                engine.read(&white, Ask::LINE)?;
                Ok("read".to_string())
            },
            move |r| {
                let _ = tx2.send(r);
            },
        );
        assert_eq!(rx.recv().expect("an answer").expect("works"), "read");
    }

    #[test]
    fn a_broken_engine_factory_fails_start_up() {
        assert!(Workers::new(Arc::new(Fakes { broken: true }), 2, "test").is_err());
        assert!(matches!(
            Workers::new(fakes(), 0, "test"),
            Err(Error::Config { .. })
        ));
    }
}
