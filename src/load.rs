//! `labelcheck load`: a load driver speaking the service's own proto, for operations where ghz is
//! not installed and for the load figures of `docs/performance.md`.
//!
//! It sends a fixed number of calls or calls for a fixed time, at a given concurrency and an
//! optional top rate, over one or more HTTP/2 connections, and reports throughput, latency
//! percentiles (all calls, OK calls, refused calls) and counts by status code and verdict. It is
//! always bounded: by `--requests`, or by `--duration` (at most an hour).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prost::bytes::Bytes;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};

use crate::batch::{column, open_manifest, photo_path};
use crate::config::{LoadLength, LoadSettings, LoadSource};
use crate::error::{Error, Result};
use crate::server::proto::pb;
use crate::server::proto::pb::label_verifier_client::LabelVerifierClient;

/// One photo and its reported serial.
#[derive(Debug, Clone)]
pub struct Payload {
    /// A name for reports (the file name).
    pub name: String,
    /// The request.
    pub request: pb::VerifyRequest,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Calls measured.
    pub count: usize,
    /// Mean, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

impl Percentiles {
    /// Percentiles of `latencies` (ms), nearest rank.
    pub fn of(mut latencies: Vec<f64>) -> Percentiles {
        if latencies.is_empty() {
            return Percentiles::default();
        }
        latencies.sort_by(f64::total_cmp);
        let mean_ms = latencies.iter().sum::<f64>() / latencies.len() as f64;
        let at = |q: f64| {
            let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[rank - 1]
        };
        Percentiles {
            count: latencies.len(),
            mean_ms,
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Calls sent.
    pub requests: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Calls answered (any status) per second.
    pub throughput_rps: f64,
    /// OK calls per second.
    pub ok_rps: f64,
    /// Concurrency used.
    pub concurrency: usize,
    /// Every call.
    pub all: Percentiles,
    /// OK calls.
    pub ok: Percentiles,
    /// Calls refused with RESOURCE_EXHAUSTED.
    pub resource_exhausted: Percentiles,
    /// Calls by gRPC status code name.
    pub codes: BTreeMap<String, u64>,
    /// OK calls by verdict.
    pub verdicts: BTreeMap<String, u64>,
}

/// Reads the payloads the settings name: one photo, or every row of a manifest.
pub fn payloads(source: &LoadSource) -> Result<Vec<Payload>> {
    let read = |path: &Path, serial: &str| -> Result<Payload> {
        let photo =
            std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Ok(Payload {
            request: pb::VerifyRequest {
                photo: Bytes::from(photo),
                reported_serial: serial.to_string(),
                case_id: format!("load-{name}"),
                ..Default::default()
            },
            name,
        })
    };
    let manifest = match source {
        LoadSource::Photo { path, serial } => return Ok(vec![read(path, serial)?]),
        LoadSource::Manifest(manifest) => manifest,
    };
    let (mut reader, headers) = open_manifest(manifest)?;
    let (photo_col, serial_col) = (
        column(&headers, "photo").unwrap_or(0),
        column(&headers, "reported_serial").unwrap_or(0),
    );
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::file(manifest, e))?;
        let (Some(photo), Some(serial)) = (row.get(photo_col), row.get(serial_col)) else {
            return Err(Error::file(manifest, "a row is short"));
        };
        out.push(read(&photo_path(manifest, photo), serial.trim())?);
    }
    if out.is_empty() {
        return Err(Error::file(manifest, "no rows"));
    }
    Ok(out)
}

/// One call's outcome.
struct Sample {
    ms: f64,
    code: tonic::Code,
    verdict: Option<pb::Verdict>,
}

/// Runs the load described by `settings` with `payloads` and reports what it measured.
pub async fn run(settings: &LoadSettings, payloads: Vec<Payload>) -> Result<LoadReport> {
    let target = &settings.target;
    let unreachable = |e: &dyn std::fmt::Display| Error::Connection {
        target: target.clone(),
        reason: e.to_string(),
    };
    let endpoint = Endpoint::from_shared(format!("http://{target}"))
        .map_err(|e| unreachable(&e))?
        .connect_timeout(Duration::from_secs(5));
    let mut clients = Vec::new();
    for _ in 0..settings.connections {
        let channel: Channel = endpoint
            .connect()
            .await
            .map_err(|e| unreachable(&format!("cannot connect: {e}")))?;
        clients.push(
            LabelVerifierClient::new(channel)
                .max_encoding_message_size(usize::MAX)
                .max_decoding_message_size(64 << 20),
        );
    }
    let payloads = Arc::new(payloads);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (stop_at, limit) = match settings.length {
        LoadLength::Duration(d) => (Some(start + d), u64::MAX),
        LoadLength::Requests(n) => (None, n),
    };
    let timeout = settings.timeout;
    let mut tasks = Vec::new();
    for worker in 0..settings.concurrency {
        let mut client = clients[worker % clients.len()].clone();
        let (payloads, next, rate) = (Arc::clone(&payloads), Arc::clone(&next), settings.rate);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                if let Some(rate) = rate {
                    tokio::time::sleep_until(
                        (start + Duration::from_secs_f64(i as f64 / rate)).into(),
                    )
                    .await;
                }
                if stop_at.is_some_and(|t| Instant::now() >= t) {
                    break;
                }
                let payload = &payloads[(i % payloads.len() as u64) as usize];
                let mut request = tonic::Request::new(payload.request.clone());
                request.set_timeout(timeout);
                let sent = Instant::now();
                let result = client.verify(request).await;
                let ms = sent.elapsed().as_secs_f64() * 1e3;
                samples.push(match result {
                    Ok(reply) => Sample {
                        ms,
                        code: tonic::Code::Ok,
                        verdict: Some(reply.get_ref().verdict()),
                    },
                    Err(status) => Sample {
                        ms,
                        code: status.code(),
                        verdict: None,
                    },
                });
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.map_err(|e| Error::internal("load task", e))?);
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(summarise(samples, seconds, settings.concurrency))
}

fn summarise(samples: Vec<Sample>, seconds: f64, concurrency: usize) -> LoadReport {
    let mut codes = BTreeMap::new();
    let mut verdicts = BTreeMap::new();
    for s in &samples {
        *codes.entry(format!("{:?}", s.code)).or_insert(0) += 1;
        if let Some(v) = s.verdict {
            *verdicts.entry(v.as_str_name().to_string()).or_insert(0) += 1;
        }
    }
    let latencies = |keep: &dyn Fn(&Sample) -> bool| {
        Percentiles::of(samples.iter().filter(|s| keep(s)).map(|s| s.ms).collect())
    };
    let ok = latencies(&|s| s.code == tonic::Code::Ok);
    let requests = samples.len() as u64;
    LoadReport {
        requests,
        seconds,
        throughput_rps: requests as f64 / seconds,
        ok_rps: ok.count as f64 / seconds,
        concurrency,
        all: latencies(&|_| true),
        resource_exhausted: latencies(&|s| s.code == tonic::Code::ResourceExhausted),
        ok,
        codes,
        verdicts,
    }
}

/// The report as text.
pub fn describe(r: &LoadReport) -> String {
    let line = |name: &str, p: &Percentiles| {
        format!(
            "{name:<20} n {:>7}  p50 {:>9.2} ms  p95 {:>9.2} ms  p99 {:>9.2} ms  max {:>9.2} ms\n",
            p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
        )
    };
    let mut out = format!(
        "{} calls in {:.2} s at concurrency {}: {:.2} calls/s, {:.2} OK/s\n",
        r.requests, r.seconds, r.concurrency, r.throughput_rps, r.ok_rps
    );
    out += &line("all", &r.all);
    out += &line("OK", &r.ok);
    out += &line("RESOURCE_EXHAUSTED", &r.resource_exhausted);
    out += &format!("codes:    {:?}\n", r.codes);
    out += &format!("verdicts: {:?}\n", r.verdicts);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(vec![]).count, 0);
        assert_eq!(Percentiles::of(vec![7.0]).p99_ms, 7.0);
    }
}
