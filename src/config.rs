//! Validated settings, built once at start-up from the raw command-line flags.
//!
//! Raw flags ([`crate::cli::GlobalArgs`]) are turned into a [`Config`] in a second step that
//! checks ranges and loads the OCR model, so the rest of the program only ever sees settings that
//! are known to work.

use std::path::{Path, PathBuf};

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pipeline::PipelineConfig;
use crate::pipeline::decode::DecodeLimits;

/// Smallest accepted `--max-input-bytes`: 1 KiB.
pub const MIN_INPUT_BYTES: usize = 1024;
/// Largest accepted `--max-input-bytes`: 1 GiB.
pub const MAX_INPUT_BYTES: usize = 1 << 30;
/// Smallest accepted `--max-pixels`: 0.1 MP.
pub const MIN_PIXELS: u64 = 100_000;
/// Largest accepted `--max-pixels`: 200 MP.
pub const MAX_PIXELS: u64 = 200_000_000;

/// Settings every command uses, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The OCR model, checked and loadable.
    pub model: Model,
    /// Core pipeline settings.
    pub pipeline: PipelineConfig,
}

/// Where the bundled model is looked for when no folder is given: `./models`, then the `models`
/// folder of the source tree this binary was built from.
pub fn default_model_dir() -> PathBuf {
    let local = PathBuf::from("models");
    if local
        .join(format!("{}.traineddata", crate::model::LANGUAGE))
        .is_file()
    {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    name: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T> {
    if value < min || value > max {
        return Err(Error::Config {
            name,
            reason: format!("{value} is outside {min}..={max}"),
        });
    }
    Ok(value)
}

impl Config {
    /// Validates the flags and loads the model (refusing to start if it is missing or corrupt).
    pub fn from_args(args: &GlobalArgs) -> Result<Config> {
        Self::build(args, Model::load)
    }

    /// [`Config::from_args`] for a command that reads one photo with one engine: the model file
    /// is checked (container, digest) but Tesseract is not started here, since the command's own
    /// engine ([`Model::engine`]) is the check that it loads. Starting Tesseract takes about
    /// 55 ms; doing it twice was a sixth of a `labelcheck check` run (`docs/decisions.md`, "Start-up
    /// and service").
    pub fn for_one_photo(args: &GlobalArgs) -> Result<Config> {
        Self::build(args, Model::inspect)
    }

    fn build(args: &GlobalArgs, model: fn(&std::path::Path) -> Result<Model>) -> Result<Config> {
        let limits = DecodeLimits {
            max_input_bytes: in_range(
                "max-input-bytes",
                args.max_input_bytes,
                MIN_INPUT_BYTES,
                MAX_INPUT_BYTES,
            )?,
            max_pixels: in_range("max-pixels", args.max_pixels, MIN_PIXELS, MAX_PIXELS)?,
        };
        let dir = args.model_dir.clone().unwrap_or_else(default_model_dir);
        let model = model(&dir)?;
        Ok(Config {
            model,
            pipeline: PipelineConfig {
                limits,
                thresholds: Default::default(),
                parallel: true,
            },
        })
    }
}

/// Most worker threads accepted by `--workers`.
pub const MAX_WORKERS: usize = 256;
/// Most queued requests accepted by `--max-queue`.
pub const MAX_QUEUE: usize = 100_000;

/// Addresses and validated settings for `labelcheck serve`.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// gRPC address.
    pub listen: std::net::SocketAddr,
    /// Metrics address, `None` when off.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Everything else.
    pub server: crate::server::ServeConfig,
}

fn address(name: &'static str, text: &str) -> Result<std::net::SocketAddr> {
    text.parse().map_err(|e| Error::Config {
        name,
        reason: format!("{text:?} is not an address like 127.0.0.1:50051 ({e})"),
    })
}

fn seconds(name: &'static str, value: f64, max: f64) -> Result<std::time::Duration> {
    if !(value.is_finite() && value > 0.0 && value <= max) {
        return Err(Error::Config {
            name,
            reason: format!("{value} is outside (0, {max}] seconds"),
        });
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

impl ServeSettings {
    /// Validates `labelcheck serve`'s flags on top of the shared settings.
    pub fn from_args(config: &Config, args: &crate::cli::ServeArgs) -> Result<ServeSettings> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = in_range("workers", args.workers.unwrap_or(cpus), 1, MAX_WORKERS)?;
        let max_queue = in_range(
            "max-queue",
            args.max_queue.unwrap_or(4 * workers),
            0,
            MAX_QUEUE,
        )?;
        let max_message_bytes = in_range(
            "max-message-bytes",
            args.max_message_bytes,
            MIN_INPUT_BYTES,
            MAX_INPUT_BYTES + (1 << 20),
        )?;
        let metrics_listen = match args.metrics_listen.trim() {
            "off" | "" => None,
            text => Some(address("metrics-listen", text)?),
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: args.tls_client_ca.clone(),
            }),
            _ => None,
        };
        Ok(ServeSettings {
            listen: address("listen", &args.listen)?,
            metrics_listen,
            server: crate::server::ServeConfig {
                model: config.model.clone(),
                pipeline: config.pipeline,
                workers,
                max_queue,
                max_message_bytes,
                max_request_time: seconds("max-request-secs", args.max_request_secs, 3600.0)?,
                grace_period: seconds("grace-secs", args.grace_secs, 3600.0)?,
                tls,
                engines: None,
                connections: crate::server::ConnectionLimits {
                    max_streams: in_range("max-streams", args.max_streams, 1, 10_000)?,
                    max_header_list_bytes: in_range(
                        "max-header-bytes",
                        args.max_header_bytes,
                        1024,
                        1 << 20,
                    )?,
                    keepalive_interval: seconds("keepalive-secs", args.keepalive_secs, 86_400.0)?,
                    keepalive_timeout: seconds(
                        "keepalive-timeout-secs",
                        args.keepalive_timeout_secs,
                        3600.0,
                    )?,
                    idle_timeout: seconds("idle-timeout-secs", args.idle_timeout_secs, 86_400.0)?,
                    max_connection_age: seconds(
                        "max-connection-age-secs",
                        args.max_connection_age_secs,
                        30.0 * 86_400.0,
                    )?,
                },
            },
        })
    }
}
