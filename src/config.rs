//! Validated settings, built once at start-up from the raw command-line flags.
//!
//! Every command's raw flags ([`crate::cli`]) are turned here into settings that check ranges,
//! parse the reported serial and load the models, so the rest of the program only ever sees
//! settings known to work. Below `main` and the commands (which read only the log format and
//! `ghz-payload`'s three plain arguments), this is the one module that reads `cli`'s types: the
//! adapters and the core take settings.

use std::path::{Path, PathBuf};

use crate::batch::{BatchOptions, Format};
use crate::cli::{BatchArgs, CheckArgs, GlobalArgs, LoadArgs, RescoreArgs, ReviewArgs, ServeArgs};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pipeline::PipelineConfig;
use crate::pipeline::decode::DecodeLimits;
use crate::pipeline::serial::{FullSerial, parse_reported};
use crate::pipeline::verdict::{ThresholdOverrides, Thresholds};

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
    /// The core's own parallel passes are off: the workers fill the CPUs.
    pub fn from_args(config: &Config, args: &ServeArgs) -> Result<ServeSettings> {
        let workers = in_range("workers", args.workers.unwrap_or_else(cpus), 1, MAX_WORKERS)?;
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
                pipeline: PipelineConfig {
                    parallel: false,
                    ..config.pipeline
                },
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

/// Settings of `labelcheck check`.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// The photo file.
    pub photo: PathBuf,
    /// The reported serial, parsed; `None` prints the photo's facts only.
    pub reported: Option<FullSerial>,
    /// Print JSON instead of text.
    pub json: bool,
    /// Where to write every crop read, if anywhere.
    pub debug_dir: Option<PathBuf>,
    /// Where to write the annotated photo, if anywhere.
    pub annotate: Option<PathBuf>,
}

impl CheckSettings {
    /// Validates `labelcheck check`'s flags: the serial must follow the serial grammar.
    pub fn from_args(args: &CheckArgs) -> Result<CheckSettings> {
        let reported = match &args.serial {
            Some(text) => Some(parse_reported(text).map_err(|e| Error::Config {
                name: "serial",
                reason: format!("{text:?}: {e}"),
            })?),
            None => None,
        };
        Ok(CheckSettings {
            photo: args.photo.clone(),
            reported,
            json: args.json,
            debug_dir: args.debug_dir.clone(),
            annotate: args.annotate.clone(),
        })
    }
}

/// A review page to write.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// The batch output (JSON Lines) the page shows.
    pub input: PathBuf,
    /// The folder the rows' `photo` paths are relative to.
    pub photos_root: PathBuf,
    /// The folder the page is written into.
    pub out: PathBuf,
    /// Every row in the gallery, MATCH included.
    pub all: bool,
}

impl ReviewSettings {
    /// `labelcheck review`'s flags.
    pub fn from_args(args: &ReviewArgs) -> ReviewSettings {
        ReviewSettings {
            input: args.input.clone(),
            photos_root: args.photos_root.clone(),
            out: args.out.clone(),
            all: args.all,
        }
    }
}

/// Settings of `labelcheck batch`.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// The core's settings, with its own parallel passes off: the workers fill the CPUs.
    pub pipeline: PipelineConfig,
    /// What to run.
    pub options: BatchOptions,
    /// Where to write the summary as JSON, if anywhere.
    pub summary_json: Option<PathBuf>,
    /// The review page to write after the run, if any.
    pub review: Option<ReviewSettings>,
}

/// The number of CPUs this process may use (1 if unknown).
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl BatchSettings {
    /// Validates `labelcheck batch`'s flags on top of the shared settings.
    pub fn from_args(config: &Config, args: &BatchArgs) -> Result<BatchSettings> {
        let jobs = in_range("jobs", args.jobs.unwrap_or_else(cpus), 1, MAX_WORKERS)?;
        if args.review.is_some() && args.format != Format::Jsonl {
            return Err(Error::Config {
                name: "review",
                reason: "the page reads the output, so it needs --format jsonl".into(),
            });
        }
        Ok(BatchSettings {
            pipeline: PipelineConfig {
                parallel: false,
                ..config.pipeline
            },
            options: BatchOptions {
                manifest: args.manifest.clone(),
                out: args.out.clone(),
                format: args.format,
                jobs,
                resume: args.resume,
                shard: args.shard,
                progress: args.progress,
            },
            summary_json: args.summary_json.clone(),
            review: args.review.as_ref().map(|dir| ReviewSettings {
                input: args.out.clone(),
                photos_root: crate::review::photos_root_of(&args.manifest),
                out: dir.clone(),
                all: args.review_all,
            }),
        })
    }
}

/// Settings of `labelcheck rescore`.
#[derive(Debug, Clone)]
pub struct RescoreSettings {
    /// The batch output (JSON Lines) to decide again.
    pub input: PathBuf,
    /// Where to write the re-decided rows.
    pub out: PathBuf,
    /// The thresholds to decide under: the built-in ones with the flags' values in place.
    pub thresholds: Thresholds,
}

impl RescoreSettings {
    /// Validates `labelcheck rescore`'s flags ([`Thresholds::overridden`]).
    pub fn from_args(args: &RescoreArgs) -> Result<RescoreSettings> {
        let overrides = ThresholdOverrides {
            region_blur_min: args.region_blur_min,
            photo_blur_min: args.photo_blur_min,
            min_char_confidence: args.min_char_confidence,
        };
        let thresholds = Thresholds::default()
            .overridden(overrides, false)
            .map_err(|refused| Error::Config {
                name: refused.threshold.flag(),
                reason: refused.reason,
            })?;
        Ok(RescoreSettings {
            input: args.input.clone(),
            out: args.out.clone(),
            thresholds,
        })
    }
}

/// Most requests in flight accepted by `load --concurrency`.
pub const MAX_LOAD_CONCURRENCY: usize = 10_000;
/// Most connections accepted by `load --connections`.
pub const MAX_LOAD_CONNECTIONS: usize = 1_000;
/// Longest `load --duration`, seconds.
pub const MAX_LOAD_SECS: f64 = 3600.0;

/// Where the load driver's requests come from.
#[derive(Debug, Clone)]
pub enum LoadSource {
    /// One photo and its reported serial, sent again and again.
    Photo {
        /// The photo file.
        path: PathBuf,
        /// The serial sent with it, as given.
        serial: String,
    },
    /// A manifest CSV whose rows are sent in order, cycling.
    Manifest(PathBuf),
}

/// When a load run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadLength {
    /// After this many calls.
    Requests(u64),
    /// After this long.
    Duration(std::time::Duration),
}

/// Settings of `labelcheck load`.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// The server, `host:port`, plaintext gRPC.
    pub target: String,
    /// What to send.
    pub source: LoadSource,
    /// When to stop.
    pub length: LoadLength,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Top rate, calls per second; `None` sends as fast as replies come.
    pub rate: Option<f64>,
    /// HTTP/2 connections the calls are spread over.
    pub connections: usize,
    /// Deadline of each call.
    pub timeout: std::time::Duration,
    /// Print JSON instead of text.
    pub json: bool,
}

impl LoadSettings {
    /// Validates `labelcheck load`'s flags.
    pub fn from_args(args: &LoadArgs) -> Result<LoadSettings> {
        let source = match (&args.photo, &args.serial, &args.manifest) {
            (Some(path), Some(serial), None) => LoadSource::Photo {
                path: path.clone(),
                serial: serial.clone(),
            },
            (None, _, Some(manifest)) => LoadSource::Manifest(manifest.clone()),
            _ => {
                return Err(Error::Config {
                    name: "manifest",
                    reason: "give --photo and --serial, or --manifest".into(),
                });
            }
        };
        let length = match args.duration {
            Some(d) => LoadLength::Duration(seconds("duration", d, MAX_LOAD_SECS)?),
            None => LoadLength::Requests(in_range("requests", args.requests, 1, u64::MAX)?),
        };
        let rate = match args.rate {
            Some(r) if !(r.is_finite() && r > 0.0) => {
                return Err(Error::Config {
                    name: "rate",
                    reason: format!("{r} is not a positive number of calls per second"),
                });
            }
            rate => rate,
        };
        if format!("http://{}", args.target)
            .parse::<tonic::codegen::http::Uri>()
            .is_err()
            || args.target.contains('/')
        {
            return Err(Error::Config {
                name: "target",
                reason: format!("{:?} is not an address like 127.0.0.1:50051", args.target),
            });
        }
        Ok(LoadSettings {
            target: args.target.clone(),
            source,
            length,
            concurrency: in_range("concurrency", args.concurrency, 1, MAX_LOAD_CONCURRENCY)?,
            rate,
            connections: in_range("connections", args.connections, 1, MAX_LOAD_CONNECTIONS)?,
            timeout: std::time::Duration::from_millis(in_range(
                "timeout-ms",
                args.timeout_ms,
                1,
                3_600_000,
            )?),
            json: args.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn command(args: &[&str]) -> Command {
        let mut argv = vec!["labelcheck"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("flags parse").command
    }

    fn refused_flag(result: Result<impl std::fmt::Debug>) -> &'static str {
        match result {
            Err(Error::Config { name, .. }) => name,
            other => panic!("expected a refused setting, got {other:?}"),
        }
    }

    #[test]
    fn rescore_thresholds_are_validated_into_settings() {
        let Command::Rescore(args) = command(&[
            "rescore",
            "in.jsonl",
            "--out",
            "out.jsonl",
            "--region-blur-min",
            "40",
        ]) else {
            panic!("rescore");
        };
        let settings = RescoreSettings::from_args(&args).expect("valid");
        // Rescoring may lower a threshold, unlike a request.
        assert_eq!(settings.thresholds.region_blur_min, 40.0);
        assert_eq!(
            settings.thresholds.min_char_confidence,
            Thresholds::default().min_char_confidence
        );
        let Command::Rescore(args) = command(&[
            "rescore",
            "in.jsonl",
            "--out",
            "out.jsonl",
            "--min-char-confidence",
            "101",
        ]) else {
            panic!("rescore");
        };
        assert_eq!(
            refused_flag(RescoreSettings::from_args(&args)),
            "min-char-confidence"
        );
    }

    #[test]
    fn load_flags_become_settings_or_name_the_flag() {
        let Command::Load(args) = command(&["load", "--photo", "p.jpg", "--serial", "S"]) else {
            panic!("load");
        };
        let settings = LoadSettings::from_args(&args).expect("valid");
        assert_eq!(settings.length, LoadLength::Requests(100));
        assert!(matches!(settings.source, LoadSource::Photo { .. }));
        for (flags, flag) in [
            (&["load"][..], "manifest"),
            (
                &["load", "--manifest", "m.csv", "-c", "0"][..],
                "concurrency",
            ),
            (
                &["load", "--manifest", "m.csv", "--connections", "0"][..],
                "connections",
            ),
            (
                &["load", "--manifest", "m.csv", "--duration", "4000"][..],
                "duration",
            ),
            (&["load", "--manifest", "m.csv", "--rate=-1"][..], "rate"),
            (
                &["load", "--manifest", "m.csv", "--target", "http://x:1"][..],
                "target",
            ),
        ] {
            let Command::Load(args) = command(flags) else {
                panic!("load");
            };
            assert_eq!(
                refused_flag(LoadSettings::from_args(&args)),
                flag,
                "{flags:?}"
            );
        }
    }

    #[test]
    fn batch_settings_turn_the_cores_parallel_passes_off() {
        let config = Config {
            model: Model::inspect(&default_model_dir()).expect("bundled model"),
            pipeline: PipelineConfig::default(),
        };
        let Command::Batch(args) = command(&["batch", "m.csv", "--out", "o.jsonl", "-j", "3"])
        else {
            panic!("batch");
        };
        let settings = BatchSettings::from_args(&config, &args).expect("valid");
        assert!(!settings.pipeline.parallel);
        assert_eq!(settings.options.jobs, 3);
        let Command::Batch(args) = command(&["batch", "m.csv", "--out", "o.jsonl", "-j", "0"])
        else {
            panic!("batch");
        };
        assert_eq!(
            refused_flag(BatchSettings::from_args(&config, &args)),
            "jobs"
        );
        let Command::Batch(args) = command(&[
            "batch", "m.csv", "--out", "o.csv", "--format", "csv", "--review", "page",
        ]) else {
            panic!("batch");
        };
        assert_eq!(
            refused_flag(BatchSettings::from_args(&config, &args)),
            "review"
        );
    }

    #[test]
    fn check_refuses_a_serial_outside_the_grammar() {
        let Command::Check(args) = command(&["check", "p.jpg", "--serial", "not a serial"]) else {
            panic!("check");
        };
        let refused = CheckSettings::from_args(&args).expect_err("bad serial");
        assert!(refused.to_string().starts_with("--serial:"), "{refused}");
    }
}
