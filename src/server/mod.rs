//! The gRPC door into the core: `labelcheck.v1.LabelVerifier` over tonic, with the standard
//! health (`grpc.health.v1`) and reflection (v1 and v1alpha) services, optional TLS and mutual
//! TLS, admission control, Prometheus metrics on a separate port and graceful shutdown.
//!
//! Threads: tokio's runtime only moves bytes and awaits; every photo runs on the [`Workers`]
//! rayon pool (one engine set, the learned reader and Tesseract, per worker) and its handler awaits
//! a oneshot.

pub mod admission;
pub mod connection;
pub mod metrics;
pub mod proto;
pub mod request;
pub mod service;
pub mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::pipeline::PipelineConfig;
use crate::workers::Workers;
use admission::Admission;
pub use connection::ConnectionLimits;
use connection::{CallCountLayer, Watched};
use metrics::Metrics;
use proto::pb;
use service::Verifier;

/// Default address of the gRPC service.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the metrics endpoint.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
/// Default largest request message, bytes: a photo at the default photo limit (32 MiB) plus
/// 64 KiB for the other fields.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024 + 64 * 1024;
/// The fully qualified service name, as health and reflection know it.
pub const SERVICE_NAME: &str = "labelcheck.v1.LabelVerifier";
/// How much lower than the I/O threads the workers run (nice increment), so that refusals,
/// health checks and replies are not starved when every CPU is reading photos.
pub const WORKER_NICE: i32 = 5;
/// The HTTP/2 path of the Verify method (admission control applies to it).
pub const VERIFY_PATH: &str = "/labelcheck.v1.LabelVerifier/Verify";

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to; set for mutual TLS, where a
    /// client without a valid certificate is refused during the handshake.
    pub client_ca: Option<PathBuf>,
}

/// Validated server settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The OCR model.
    pub model: Model,
    /// Core settings (limits and thresholds), used as given: [`crate::config::ServeSettings`]
    /// turns the core's own parallel passes off, since the workers fill the CPUs.
    pub pipeline: PipelineConfig,
    /// Worker threads, one OCR engine each.
    pub workers: usize,
    /// Requests that may wait for a worker beyond those running; past `workers + max_queue`
    /// admitted requests, calls get RESOURCE_EXHAUSTED at once.
    pub max_queue: usize,
    /// Largest request message, bytes.
    pub max_message_bytes: usize,
    /// Longest a request may take when its caller sets no deadline.
    pub max_request_time: Duration,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub grace_period: Duration,
    /// TLS, if any.
    pub tls: Option<TlsFiles>,
    /// Limits on each client connection.
    pub connections: ConnectionLimits,
    /// The workers' engines when not those of [`ServeConfig::model`] (tests hand in fakes).
    pub engines: Option<Engines>,
}

/// A factory of the workers' engines, set in place of the model's.
#[derive(Clone)]
pub struct Engines(pub Arc<dyn crate::engines::EngineFactory>);

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engines(..)")
    }
}

impl ServeConfig {
    /// The factory of the workers' engines: [`ServeConfig::engines`] when set, else the
    /// detector and both readers from [`ServeConfig::model`].
    pub fn engines(&self) -> Arc<dyn crate::engines::EngineFactory> {
        match &self.engines {
            Some(Engines(factory)) => Arc::clone(factory),
            None => Arc::new(crate::engines::ModelEngines::new(
                self.model.clone(),
                self.workers,
            )),
        }
    }
}

/// The listening sockets of a server.
pub struct Listeners {
    /// gRPC.
    pub grpc: TcpListener,
    /// Metrics (`None` turns them off).
    pub metrics: Option<TcpListener>,
}

fn io_error(what: &str, path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Config {
        name: "tls",
        reason: format!("{what} {}: {e}", path.display()),
    }
}

fn tls_config(files: &TlsFiles) -> Result<ServerTlsConfig> {
    let read =
        |what: &str, path: &PathBuf| std::fs::read(path).map_err(|e| io_error(what, path, e));
    let cert = read("certificate", &files.cert)?;
    let key = read("key", &files.key)?;
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(ca) = &files.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read("client CA", ca)?));
    }
    Ok(tls)
}

/// Runs the server on `listeners` until `shutdown` resolves, then drains: health turns
/// NOT_SERVING, no new calls are taken, and in-flight calls get up to the grace period to finish.
///
/// Engines are created before the first call is accepted; a broken model or TLS file fails here.
pub async fn serve(
    config: ServeConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let workers = start_workers(&config).await?;
    let metrics = Metrics::new();
    let admission =
        Admission::new(config.workers + config.max_queue).with_gauge(metrics.in_flight.clone());
    metrics.workers.set(config.workers as i64);
    let gate = admission::AdmissionLayer::new(admission.clone(), metrics.clone(), VERIFY_PATH);
    let verifier = Verifier {
        workers,
        info: server_info(&config, &admission),
        admission,
        metrics: metrics.clone(),
        pipeline: config.pipeline,
        max_request_time: config.max_request_time,
    };
    let service = pb::label_verifier_server::LabelVerifierServer::new(verifier)
        .max_decoding_message_size(config.max_message_bytes);

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::label_verifier_server::LabelVerifierServer<Verifier>>()
        .await;
    let reflection_error = |e: tonic_reflection::server::Error| Error::Internal {
        component: "reflection",
        detail: e.to_string(),
    };
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection_error)?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection_error)?;
    let grpc_addr = local_addr(&listeners.grpc);
    let router = transport(&config)?
        .layer(CallCountLayer)
        .layer(gate)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service);

    // One shutdown signal, fanned out to the gRPC server and the metrics endpoint.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|&stop| stop).await;
    };
    let metrics_addr = listeners.metrics.as_ref().map(local_addr);
    let metrics_task = listeners
        .metrics
        .map(|listener| tokio::spawn(metrics::serve(metrics, listener, stopped(stop_rx.clone()))));
    tracing::info!(
        grpc = %grpc_addr,
        tls = config.tls.is_some(),
        mutual_tls = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        metrics = %metrics::describe(metrics_addr),
        workers = config.workers,
        max_in_flight = config.workers + config.max_queue,
        model_sha256 = %config.model.sha256,
        "labelcheck serving"
    );
    let idle = config.connections.idle_timeout;
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listeners.grpc),
        move |accepted| accepted.map(|tcp| Watched::new(tcp, idle)),
    );
    let mut server =
        tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped(stop_rx.clone())));

    tokio::select! {
        result = &mut server => {
            return finished(result);
        }
        () = shutdown => {}
    }
    health_reporter
        .set_not_serving::<pb::label_verifier_server::LabelVerifierServer<Verifier>>()
        .await;
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let _ = stop_tx.send(true);
    let outcome = drain(server, config.grace_period).await;
    if let Some(task) = metrics_task {
        let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    }
    tracing::info!("stopped");
    outcome
}

/// The worker pool, its engines created off the async runtime (a broken model fails here).
async fn start_workers(config: &ServeConfig) -> Result<Arc<Workers>> {
    let (factory, threads) = (config.engines(), config.workers);
    let workers = tokio::task::spawn_blocking(move || {
        Workers::with_priority(factory, threads, "labelcheck-worker", WORKER_NICE)
    })
    .await
    .map_err(|e| Error::Internal {
        component: "workers",
        detail: e.to_string(),
    })??;
    Ok(Arc::new(workers))
}

/// What `GetServerInfo` answers: the version, limits, thresholds, workers and model digest.
fn server_info(config: &ServeConfig, admission: &Admission) -> pb::GetServerInfoResponse {
    let pipeline = &config.pipeline;
    pb::GetServerInfoResponse {
        version: env!("CARGO_PKG_VERSION").into(),
        max_photo_bytes: pipeline.limits.max_input_bytes as u64,
        max_message_bytes: config.max_message_bytes as u64,
        max_pixels: pipeline.limits.max_pixels,
        thresholds: Some(pipeline.thresholds.into()),
        workers: config.workers as u32,
        max_in_flight: admission.limit() as u32,
        model_sha256: config.model.sha256.clone(),
    }
}

/// The HTTP/2 transport with the connection limits, the whole-call timeout and TLS if set.
fn transport(config: &ServeConfig) -> Result<Server> {
    let limits = config.connections;
    let builder = Server::builder()
        .max_concurrent_streams(limits.max_streams)
        .http2_max_header_list_size(limits.max_header_list_bytes)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .max_connection_age(limits.max_connection_age)
        .max_connection_age_grace(config.max_request_time)
        // The whole call, the photo's upload included: a client sending one byte a second
        // holds its admission slot no longer than this.
        .timeout(config.max_request_time);
    match &config.tls {
        None => Ok(builder),
        Some(files) => builder
            .tls_config(tls_config(files)?)
            .map_err(|e| Error::Config {
                name: "tls",
                reason: e.to_string(),
            }),
    }
}

/// Waits up to `grace` for the calls in flight to finish after the server stopped taking new
/// ones; past it, the calls still running are dropped.
async fn drain(
    mut server: tokio::task::JoinHandle<std::result::Result<(), tonic::transport::Error>>,
    grace: Duration,
) -> Result<()> {
    tracing::info!(
        grace_s = grace.as_secs_f64(),
        "shutting down: draining in-flight calls"
    );
    match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => finished(result),
        Err(_) => {
            tracing::warn!("grace period over: calls still running are dropped");
            server.abort();
            Ok(())
        }
    }
}

fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}

fn finished(
    result: std::result::Result<
        std::result::Result<(), tonic::transport::Error>,
        tokio::task::JoinError,
    >,
) -> Result<()> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::Internal {
            component: "grpc server",
            detail: e.to_string(),
        }),
        Err(e) => Err(Error::Internal {
            component: "grpc server",
            detail: e.to_string(),
        }),
    }
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
