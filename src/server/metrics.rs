//! Prometheus metrics of one server, in its own registry (so that tests can run several servers
//! in one process), served as text at `GET /metrics` on a separate port.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `labelcheck_requests_total` | counter | `verdict` (MATCH, …, or `none` for errors), `code` (gRPC code name) |
//! | `labelcheck_request_duration_seconds` | histogram | `code`: whole call, admission to reply |
//! | `labelcheck_stage_duration_seconds` | histogram | `stage`: queue, decode, blur, barcode, locate, ocr, total |
//! | `labelcheck_in_flight` | gauge | requests admitted (running plus queued) |
//! | `labelcheck_queue_depth` | gauge | requests admitted and waiting for a worker |
//! | `labelcheck_rejected_total` | counter | `reason`: overloaded, invalid_argument, deadline_exceeded, … |
//! | `labelcheck_workers` | gauge | worker threads (OCR engines) |
//! | `labelcheck_codes_found_total` | counter | `symbology` (qr, code128), `serial` (`yes` if the code held a serial, else `no`) |
//! | `labelcheck_heap_bytes` | gauge | bytes the C allocator has handed out and not had back, read at each scrape (glibc only; 0 elsewhere) |

use std::net::SocketAddr;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Latency buckets, seconds: 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0,
    3.0, 5.0, 10.0, 30.0,
];

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Finished calls by verdict and gRPC code.
    pub requests: IntCounterVec,
    /// Whole-call latency by gRPC code, seconds.
    pub request_seconds: HistogramVec,
    /// Per-stage latency, seconds.
    pub stage_seconds: HistogramVec,
    /// Requests admitted (running plus queued).
    pub in_flight: IntGauge,
    /// Requests admitted and waiting for a worker.
    pub queue_depth: IntGauge,
    /// Calls refused or failed, by reason.
    pub rejected: IntCounterVec,
    /// Worker threads.
    pub workers: IntGauge,
    /// QR codes and barcodes decoded, by symbology and whether they held a serial.
    pub codes_found: IntCounterVec,
    /// Bytes in use from the C allocator ([`heap_bytes`]), set at each render.
    pub heap: IntGauge,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Metric names and labels are constants checked by the tests below; a failure here is a bug
    // in this file, found at start-up, never on a request.
    #[allow(clippy::expect_used)]
    r.expect("metric definitions are valid")
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let histogram = |name: &str, help: &str, label: &str| {
            must(HistogramVec::new(
                HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                &[label],
            ))
        };
        let m = Metrics {
            requests: must(IntCounterVec::new(
                Opts::new("labelcheck_requests_total", "Finished Verify calls."),
                &["verdict", "code"],
            )),
            request_seconds: histogram(
                "labelcheck_request_duration_seconds",
                "Verify call latency, admission to reply, seconds.",
                "code",
            ),
            stage_seconds: histogram(
                "labelcheck_stage_duration_seconds",
                "Latency per pipeline stage, seconds.",
                "stage",
            ),
            in_flight: must(IntGauge::new(
                "labelcheck_in_flight",
                "Requests admitted (running plus queued).",
            )),
            queue_depth: must(IntGauge::new(
                "labelcheck_queue_depth",
                "Requests admitted and waiting for a worker.",
            )),
            rejected: must(IntCounterVec::new(
                Opts::new(
                    "labelcheck_rejected_total",
                    "Verify calls refused or failed.",
                ),
                &["reason"],
            )),
            workers: must(IntGauge::new(
                "labelcheck_workers",
                "Worker threads, one OCR engine each.",
            )),
            codes_found: must(IntCounterVec::new(
                Opts::new(
                    "labelcheck_codes_found_total",
                    "QR codes and barcodes decoded on the photos checked.",
                ),
                &["symbology", "serial"],
            )),
            heap: must(IntGauge::new(
                "labelcheck_heap_bytes",
                "Bytes the C allocator has handed out and not had back (glibc mallinfo2: chunks in use plus mmapped blocks); 0 where unknown.",
            )),
            registry,
        };
        for c in [
            Box::new(m.requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.request_seconds.clone()),
            Box::new(m.stage_seconds.clone()),
            Box::new(m.in_flight.clone()),
            Box::new(m.queue_depth.clone()),
            Box::new(m.rejected.clone()),
            Box::new(m.workers.clone()),
            Box::new(m.codes_found.clone()),
            Box::new(m.heap.clone()),
        ] {
            must(m.registry.register(c));
        }
        m
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        self.heap
            .set(i64::try_from(heap_bytes().unwrap_or(0)).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            return format!("# encoding failed: {e}\n");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes in use from the C allocator, which Rust's, Tesseract's and ONNX Runtime's allocations
/// all come from: glibc's `mallinfo2`, chunks in use (`uordblks`) plus blocks mapped on their own
/// (`hblkhd`), over every arena. Unlike RSS it does not count freed memory the allocator keeps
/// for reuse, which swings RSS by 100 MiB between idle moments of a busy server: a leak shows
/// here as growth. `None` off glibc.
pub fn heap_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value.
        let info = unsafe { libc::mallinfo2() };
        Some(info.uordblks as u64 + info.hblkhd as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    metrics: Metrics,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let body = metrics.render();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The address metrics are served on, for logs.
pub fn describe(addr: Option<SocketAddr>) -> String {
    addr.map_or("off".into(), |a| format!("http://{a}/metrics"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_renders() {
        let m = Metrics::new();
        m.requests.with_label_values(&["MATCH", "OK"]).inc();
        m.stage_seconds.with_label_values(&["ocr"]).observe(0.2);
        m.rejected.with_label_values(&["overloaded"]).inc();
        m.request_seconds.with_label_values(&["OK"]).observe(0.3);
        let text = m.render();
        for name in [
            "labelcheck_requests_total{code=\"OK\",verdict=\"MATCH\"} 1",
            "labelcheck_stage_duration_seconds_bucket{stage=\"ocr\",le=\"0.2\"} 1",
            "labelcheck_rejected_total{reason=\"overloaded\"} 1",
            "labelcheck_in_flight 0",
            "labelcheck_queue_depth 0",
            "labelcheck_workers 0",
            "labelcheck_request_duration_seconds_count{code=\"OK\"} 1",
            "labelcheck_heap_bytes ",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_heap_gauge_follows_allocations() {
        let before = heap_bytes().expect("glibc");
        // 256 MiB, far beyond what the tests running beside this one allocate meanwhile.
        let block: Vec<u8> = vec![0; 256 << 20];
        let during = heap_bytes().expect("glibc");
        assert!(during >= before + (200 << 20), "{before} -> {during}");
        drop(std::hint::black_box(block));
        let after = heap_bytes().expect("glibc");
        assert!(after + (200 << 20) <= during, "{during} -> {after}");
    }
}
