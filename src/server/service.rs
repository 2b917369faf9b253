//! The `LabelVerifier` service: validate, admit, hand the photo to a worker, await the answer
//! within the caller's deadline, translate, record metrics and one log line.
//!
//! Nothing here decides anything about labels: the verdict comes from [`crate::pipeline::check()`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use tracing::{Instrument, field};

use crate::error::{Error, Result};
use crate::pipeline::ocr::{Ask, LineRead, Readers};
use crate::pipeline::{PipelineConfig, Report, check};
use crate::workers::Workers;

use super::admission::{Admission, AdmittedSlot, Slot};
use super::metrics::Metrics;
use super::proto::{pb, response};
use super::request::{case_id as valid_case_id, validate};
use super::status::to_status;

/// The service's shared state.
pub struct Verifier {
    /// CPU workers, one OCR engine each.
    pub workers: Arc<Workers>,
    /// The admission gate.
    pub admission: Admission,
    /// Metrics.
    pub metrics: Metrics,
    /// The server's pipeline settings (per-request options may tighten them).
    pub pipeline: PipelineConfig,
    /// Longest a request may take when its caller sets no deadline.
    pub max_request_time: Duration,
    /// What GetServerInfo answers.
    pub info: pb::GetServerInfoResponse,
}

/// Parses a `grpc-timeout` value (`1-8 digits` + `H M S m u n`).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The time this request may take: the caller's deadline, capped by `max`.
fn budget(metadata: &MetadataMap, max: Duration) -> Duration {
    metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
        .map_or(max, |d| d.min(max))
}

/// Sets its flag when dropped: the handler's future is dropped when the caller goes away, and the
/// worker then abandons the photo at its next OCR call.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Readers that refuse to start another line once the request is cancelled.
struct Cancellable<'a> {
    inner: &'a mut dyn Readers,
    cancelled: &'a AtomicBool,
}

impl Readers for Cancellable<'_> {
    fn read(&mut self, line: &image::GrayImage, ask: Ask) -> Result<LineRead> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        self.inner.read(line, ask)
    }

    /// Checked once per batch: a batch is the lines one pipeline step reads at a time.
    fn read_all(&mut self, lines: &[(&image::GrayImage, Ask)]) -> Result<Vec<LineRead>> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        self.inner.read_all(lines)
    }

    fn detect(&mut self, view: &image::GrayImage) -> Result<Option<image::GrayImage>> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        self.inner.detect(view)
    }
}

/// Decrements a gauge when dropped.
struct GaugeGuard(prometheus::IntGauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Verifier {
    /// Runs one request to a report, or fails.
    async fn run(
        &self,
        request: pb::VerifyRequest,
        slot: Option<Slot>,
        budget: Duration,
        started: Instant,
    ) -> Result<(Report, f64)> {
        let valid = validate(&request, &self.pipeline)?;
        // Normally admitted by the layer before the photo was read; a service used without the
        // layer admits here.
        let slot = match slot {
            Some(slot) => slot,
            None => self.admission.try_admit()?,
        };
        self.metrics.queue_depth.inc();
        let queued = GaugeGuard(self.metrics.queue_depth.clone());

        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancelled));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let photo = request.photo;
        let flag = Arc::clone(&cancelled);
        let span = tracing::Span::current();
        let enqueued = Instant::now();
        self.workers.spawn(
            move |engine| {
                let _entered = span.enter();
                let queue_ms = enqueued.elapsed().as_secs_f64() * 1e3;
                drop(queued);
                if flag.load(Ordering::Relaxed) {
                    return Err(Error::Cancelled);
                }
                let mut engine = Cancellable {
                    inner: engine,
                    cancelled: &flag,
                };
                let report = check(
                    &photo,
                    &valid.reported,
                    &valid.config,
                    &mut engine,
                    &mut |_, _| {},
                )?;
                Ok((report, queue_ms))
            },
            move |result| {
                // The slot (and the in-flight count) is held until the CPU work ends.
                drop(slot);
                let _ = tx.send(result);
            },
        );

        // Answer a little before the caller's deadline (a tenth of it, at most 20 ms): the
        // caller's clock started before the photo was uploaded, and a reply that arrives late is
        // read as a transport cancellation by some clients (tonic) instead of DEADLINE_EXCEEDED.
        let margin = (budget / 10).min(Duration::from_millis(20));
        let answer_by = (started + budget).checked_sub(margin).unwrap_or(started);
        match tokio::time::timeout_at(answer_by.into(), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Internal {
                component: "workers",
                detail: "a worker dropped the request".into(),
            }),
            Err(_) => {
                cancelled.store(true, Ordering::Relaxed);
                Err(Error::DeadlineExceeded {
                    budget_ms: budget.as_millis() as u64,
                })
            }
        }
    }

    fn record_report(&self, report: &Report, queue_ms: f64, started: Instant) {
        let m = &self.metrics;
        m.requests
            .with_label_values(&[report.verdict.as_str(), "OK"])
            .inc();
        m.request_seconds
            .with_label_values(&["OK"])
            .observe(started.elapsed().as_secs_f64());
        for code in &report.evidence.codes {
            let serial = if code.serial.is_some() { "yes" } else { "no" };
            m.codes_found
                .with_label_values(&[code.symbology.as_str(), serial])
                .inc();
        }
        let t = &report.timings;
        for (stage, ms) in [
            ("queue", queue_ms),
            ("decode", t.decode_ms),
            ("blur", t.blur_ms),
            ("locate", t.locate_ms),
            ("ocr", t.ocr_ms),
            ("barcode", t.barcode_ms),
            ("total", t.total_ms),
        ] {
            m.stage_seconds
                .with_label_values(&[stage])
                .observe(ms / 1e3);
        }
    }

    /// Records a failed call and returns its status.
    fn refuse(&self, error: &Error, started: Instant) -> Status {
        let m = &self.metrics;
        let status = to_status(error);
        let code_name = format!("{:?}", status.code());
        m.requests.with_label_values(&["none", &code_name]).inc();
        m.request_seconds
            .with_label_values(&[&code_name])
            .observe(started.elapsed().as_secs_f64());
        m.rejected.with_label_values(&[error.code()]).inc();
        tracing::info!(
            error = %error,
            code = %code_name,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "refused"
        );
        status
    }
}

#[tonic::async_trait]
impl pb::label_verifier_server::LabelVerifier for Verifier {
    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> std::result::Result<Response<pb::VerifyResponse>, Status> {
        let started = Instant::now();
        let budget = budget(request.metadata(), self.max_request_time);
        let slot = request
            .extensions()
            .get::<AdmittedSlot>()
            .and_then(AdmittedSlot::take);
        let request = request.into_inner();
        let case_id = match valid_case_id(&request.case_id) {
            Ok(id) => id.to_string(),
            Err(error) => return Err(self.refuse(&error, started)),
        };
        let span = tracing::info_span!(
            "verify",
            case_id = %case_id,
            photo_bytes = request.photo.len(),
            verdict = field::Empty,
        );
        let result = self
            .run(request, slot, budget, started)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match result {
            Ok((report, queue_ms)) => {
                self.record_report(&report, queue_ms, started);
                span.record("verdict", report.verdict.as_str());
                let t = report.timings;
                let reasons: Vec<&str> = report.reasons.iter().map(|r| r.as_str()).collect();
                let region = report
                    .serial_region
                    .map(|b| format!("{} {} {} {}", b.x0, b.y0, b.x1, b.y1));
                tracing::info!(
                    reasons = %reasons.join(","),
                    blur = report.blur_score_normalized.0,
                    region_blur = report.region_blur_score,
                    confidence = report.confidence,
                    region = region.as_deref(),
                    queue_ms,
                    decode_ms = t.decode_ms,
                    locate_ms = t.locate_ms,
                    ocr_ms = t.ocr_ms,
                    barcode_ms = t.barcode_ms,
                    codes = report.evidence.codes.len(),
                    total_ms = started.elapsed().as_secs_f64() * 1e3,
                    "verified"
                );
                // The serial read is not secret, but OCR text stays out of info-level logs.
                tracing::debug!(serial_read = report.serial_read.as_deref(), "serial read");
                Ok(Response::new(response(report, case_id, queue_ms)))
            }
            Err(error) => Err(self.refuse(&error, started)),
        }
    }

    async fn get_server_info(
        &self,
        _request: Request<pb::GetServerInfoRequest>,
    ) -> std::result::Result<Response<pb::GetServerInfoResponse>, Status> {
        Ok(Response::new(self.info.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_per_the_spec() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
