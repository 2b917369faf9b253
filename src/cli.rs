//! Command-line flags (clap derive), raw: [`crate::config`] validates them into settings.
//!
//! The flags shared by every command and every flag of `serve` can also be set by a
//! `LABELCHECK_*` environment variable (a container's configuration), as can `batch --jobs`
//! (`LABELCHECK_JOBS`) and `check --json` (`LABELCHECK_JSON`); the other commands' flags, which
//! name files and runs, cannot. A flag given on the command line wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::pipeline::decode::{DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS};

/// labelcheck: does this photo of a device label prove the serial the device reports?
#[derive(Debug, Parser)]
#[command(name = "labelcheck", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Folder holding the models: labeltext.traineddata, the learned detector and recogniser
    /// (ONNX) and ONNX Runtime's library [default: ./models, else the source tree's models/].
    #[arg(long, env = "LABELCHECK_MODEL_DIR", global = true)]
    pub model_dir: Option<PathBuf>,
    /// Largest photo accepted, in bytes.
    #[arg(long, env = "LABELCHECK_MAX_INPUT_BYTES", default_value_t = DEFAULT_MAX_INPUT_BYTES, global = true)]
    pub max_input_bytes: usize,
    /// Largest decoded photo accepted, in pixels (width x height).
    #[arg(long, env = "LABELCHECK_MAX_PIXELS", default_value_t = DEFAULT_MAX_PIXELS, global = true)]
    pub max_pixels: u64,
    /// Log format on standard error.
    #[arg(long, env = "LABELCHECK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API (labelcheck.v1.LabelVerifier, health, reflection) until SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// Check one photo and print what is known about it.
    Check(CheckArgs),
    /// Write a binary VerifyRequest for ghz's -B option (see load/README.md).
    GhzPayload(GhzPayloadArgs),
    /// Check every photo of a manifest CSV in parallel and write one row per photo (JSON Lines
    /// or CSV); resumable, shardable across machines.
    Batch(BatchArgs),
    /// Decide the rows of an earlier JSON Lines batch output again under other thresholds,
    /// from the evidence they carry (no OCR).
    Rescore(RescoreArgs),
    /// Write a static review page (summary, blur histograms, annotated photos, filters) for an
    /// earlier JSON Lines batch output; it opens from the file system in any browser.
    Review(ReviewArgs),
    /// Drive load against a running server and print throughput, latency percentiles and counts
    /// by status code. Plaintext gRPC only: it does not speak TLS (use ghz for a TLS listener).
    Load(LoadArgs),
}

/// Arguments of `labelcheck serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the gRPC service.
    #[arg(long, env = "LABELCHECK_LISTEN", default_value = crate::server::DEFAULT_LISTEN)]
    pub listen: String,
    /// Address of the Prometheus endpoint (GET /metrics), or "off".
    #[arg(long, env = "LABELCHECK_METRICS_LISTEN", default_value = crate::server::DEFAULT_METRICS_LISTEN)]
    pub metrics_listen: String,
    /// Worker threads, one OCR engine each [default: the number of CPUs].
    #[arg(long, env = "LABELCHECK_WORKERS")]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker beyond those running; past that, calls get
    /// RESOURCE_EXHAUSTED at once [default: 4 x workers].
    #[arg(long, env = "LABELCHECK_MAX_QUEUE")]
    pub max_queue: Option<usize>,
    /// Largest request message, bytes.
    #[arg(long, env = "LABELCHECK_MAX_MESSAGE_BYTES", default_value_t = crate::server::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Longest a request may run when its caller sets no deadline, seconds.
    #[arg(long, env = "LABELCHECK_MAX_REQUEST_SECS", default_value_t = 30.0)]
    pub max_request_secs: f64,
    /// After SIGTERM/SIGINT, how long in-flight requests may take to finish, seconds.
    #[arg(long, env = "LABELCHECK_GRACE_SECS", default_value_t = 20.0)]
    pub grace_secs: f64,
    /// Most concurrent calls (HTTP/2 streams) one client connection may have open.
    #[arg(long, env = "LABELCHECK_MAX_STREAMS", default_value_t = 64)]
    pub max_streams: u32,
    /// Largest header list (metadata) a client may send, bytes; a larger one is refused.
    #[arg(long, env = "LABELCHECK_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: u32,
    /// How often an open connection is pinged (HTTP/2 PING), seconds.
    #[arg(long, env = "LABELCHECK_KEEPALIVE_SECS", default_value_t = 60.0)]
    pub keepalive_secs: f64,
    /// How long a ping may go unanswered before the connection is dropped, seconds.
    #[arg(
        long,
        env = "LABELCHECK_KEEPALIVE_TIMEOUT_SECS",
        default_value_t = 20.0
    )]
    pub keepalive_timeout_secs: f64,
    /// A connection with no call in flight for this long is closed, seconds.
    #[arg(long, env = "LABELCHECK_IDLE_TIMEOUT_SECS", default_value_t = 300.0)]
    pub idle_timeout_secs: f64,
    /// A connection older than this is asked to go away (calls in flight finish first), seconds.
    #[arg(
        long,
        env = "LABELCHECK_MAX_CONNECTION_AGE_SECS",
        default_value_t = 3600.0
    )]
    pub max_connection_age_secs: f64,
    /// Server certificate chain (PEM); turns TLS on (with --tls-key).
    #[arg(long, env = "LABELCHECK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, env = "LABELCHECK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) that client certificates must chain to: turns on mutual TLS, and a
    /// client without such a certificate is refused.
    #[arg(long, env = "LABELCHECK_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

/// Arguments of `labelcheck ghz-payload`.
#[derive(Debug, Args)]
pub struct GhzPayloadArgs {
    /// The photo.
    pub photo: PathBuf,
    /// The full serial the device reports.
    #[arg(long)]
    pub serial: String,
    /// Case id to put in the request.
    #[arg(long, default_value = "ghz")]
    pub case_id: String,
    /// Where to write the binary VerifyRequest.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Arguments of `labelcheck load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Server address (host:port) of a listener without TLS: the driver speaks plaintext gRPC
    /// only (ghz covers TLS and mutual TLS).
    #[arg(long, default_value = crate::server::DEFAULT_LISTEN)]
    pub target: String,
    /// A photo to send (with --serial); or use --manifest.
    #[arg(long, requires = "serial", conflicts_with = "manifest")]
    pub photo: Option<PathBuf>,
    /// The serial reported with --photo.
    #[arg(long)]
    pub serial: Option<String>,
    /// A CSV with `photo` and `reported_serial` columns (testdata/manifest.csv); requests cycle
    /// through its photos in order.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Requests to send in all (ignored with --duration).
    #[arg(long, default_value_t = 100)]
    pub requests: u64,
    /// Send for this many seconds instead of a fixed count (at most 3600).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Requests in flight at once.
    #[arg(long, short, default_value_t = 4)]
    pub concurrency: usize,
    /// Largest rate to send at, requests per second (default: as fast as replies come).
    #[arg(long)]
    pub rate: Option<f64>,
    /// HTTP/2 connections to spread the calls over.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Deadline per call, milliseconds (sent as grpc-timeout).
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `labelcheck check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The photo (JPEG, PNG or WebP).
    pub photo: PathBuf,
    /// The full serial the device reports. Without it, only the photo's facts (size,
    /// orientation, blur) are printed.
    #[arg(long)]
    pub serial: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long, env = "LABELCHECK_JSON")]
    pub json: bool,
    /// Write every crop that is read (line and value crops, PNG) into this folder.
    #[arg(long)]
    pub debug_dir: Option<PathBuf>,
    /// Write the annotated photo here (PNG): the upright photo at most 1600 px long with the
    /// text lines, codes and serial field boxed, over a strip with the verdict, reasons, the
    /// serial read against the reported one and the scores against their thresholds.
    #[arg(long, value_name = "OUT.png", requires = "serial")]
    pub annotate: Option<PathBuf>,
}

/// Arguments of `labelcheck batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// CSV with a header: `photo` (relative to the manifest's folder unless absolute),
    /// `reported_serial`, optionally `case_id`; other columns pass through to the output.
    pub manifest: PathBuf,
    /// Output file (refused if it exists, unless --resume).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::batch::Format::Jsonl)]
    pub format: crate::batch::Format,
    /// Worker threads, one OCR engine each [default: the number of CPUs].
    #[arg(long, short, env = "LABELCHECK_JOBS")]
    pub jobs: Option<usize>,
    /// Keep the rows already in --out (cutting off a partial last line) and add the missing ones.
    #[arg(long)]
    pub resume: bool,
    /// Take only shard K of N (1-based): rows split by a stable hash of case_id, else the row
    /// number, so N machines cover a manifest with no row lost or doubled.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::batch::Shard>,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Progress display on standard error.
    #[arg(long, value_enum, default_value_t = crate::batch::ProgressMode::Auto)]
    pub progress: crate::batch::ProgressMode,
    /// After the run, write a review page of the output into this folder (index.html with
    /// annotated photos; needs --format jsonl). See `labelcheck review`.
    #[arg(long, value_name = "DIR")]
    pub review: Option<PathBuf>,
    /// Put every row in the review page's gallery, MATCH included (default: rows not MATCH).
    #[arg(long, requires = "review")]
    pub review_all: bool,
}

/// Arguments of `labelcheck review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// An earlier `labelcheck batch` output in JSON Lines.
    pub input: PathBuf,
    /// The folder the rows' `photo` paths are relative to (the batch manifest's folder).
    #[arg(long, value_name = "R")]
    pub photos_root: PathBuf,
    /// The folder to write the page into (created if missing): index.html, img/, thumbs/.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Put every row in the gallery, MATCH included (default: rows not MATCH).
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `labelcheck rescore`.
#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// An earlier `labelcheck batch` output in JSON Lines.
    pub input: PathBuf,
    /// Where to write the re-decided rows (JSON Lines).
    #[arg(long, short)]
    pub out: PathBuf,
    /// New minimum serial-region sharpness (squared gray levels) [default: the built-in one].
    #[arg(long)]
    pub region_blur_min: Option<f64>,
    /// New minimum normalised photo sharpness when no text is found [default: built-in].
    #[arg(long)]
    pub photo_blur_min: Option<f64>,
    /// New minimum character confidence (0-100) for a MATCH [default: built-in].
    #[arg(long)]
    pub min_char_confidence: Option<f32>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// What the module documentation claims: every `serve` flag and every shared flag has a
    /// `LABELCHECK_*` variable.
    #[test]
    fn serve_and_shared_flags_are_environment_variables() {
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").expect("serve");
        let flags = serve
            .get_arguments()
            .chain(cli.get_arguments())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"));
        for flag in flags {
            let env = flag.get_env().map(|e| e.to_string_lossy().into_owned());
            assert!(
                env.as_deref().is_some_and(|e| e.starts_with("LABELCHECK_")),
                "--{} has no LABELCHECK_* variable",
                flag.get_id()
            );
        }
    }
}
