//! The commands behind `labelcheck`'s subcommands: each turns its validated flags into a call of
//! the core or an adapter and says how it ended ([`Ended`]); `main` maps that to an exit code.
//! Failures are messages for standard error that name the file or flag at fault.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{
    BatchArgs, CheckArgs, GhzPayloadArgs, LoadArgs, LogFormat, RescoreArgs, ReviewArgs, ServeArgs,
};
use crate::config::{Config, MAX_WORKERS, ServeSettings};
use crate::output::{facts_text, json_with_photo, report_text, rescore_text};
use crate::pipeline::serial::parse_reported;
use crate::pipeline::verdict::{Thresholds, Verdict};
use crate::server::{self, proto::pb};
use crate::{analyze_photo, batch, load as load_driver, pipeline};

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Done; for `check --serial`, the verdict was MATCH.
    Success,
    /// `check --serial` gave a verdict other than MATCH.
    NotMatch,
    /// A batch stopped by SIGINT/SIGTERM before its end.
    Interrupted,
}

/// A command's result: how it ended, or a message naming what failed.
pub type Outcome = Result<Ended, String>;

/// Sets up logging on standard error: `format`, filtered by `LABELCHECK_LOG` (tracing's filter
/// syntax) or else `default_level` (`info` for `serve`, one line per call; `warn` otherwise).
/// Colour codes only when standard error is a terminal, so a log file or collector gets plain
/// text.
pub fn init_tracing(format: LogFormat, default_level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("LABELCHECK_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `labelcheck check PHOTO [--serial S]`: the report (exit 0 for MATCH, 1 otherwise), or without
/// a serial the photo's facts.
pub fn check(config: &Config, args: &CheckArgs) -> Outcome {
    let path = args.photo.display();
    let bytes = read_photo(&args.photo)?;
    if let Some(serial) = &args.serial {
        return check_serial(config, args, &bytes, serial);
    }
    let facts = analyze_photo(&bytes, &config.pipeline).map_err(|e| format!("{path}: {e}"))?;
    if args.json {
        println!("{}", json_with_photo(&facts, &args.photo)?);
    } else {
        print!("{}", facts_text(&path.to_string(), &facts));
    }
    Ok(Ended::Success)
}

fn check_serial(config: &Config, args: &CheckArgs, bytes: &[u8], serial: &str) -> Outcome {
    let path = args.photo.display();
    let reported = parse_reported(serial).map_err(|e| format!("--serial {serial:?}: {e}"))?;
    let mut engine = crate::engines::EnginePair::new(&config.model).map_err(|e| e.to_string())?;
    if let Some(dir) = &args.debug_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut write_errors = Vec::new();
    let mut debug = |name: &str, crop: &image::GrayImage| {
        if let Some(dir) = &args.debug_dir {
            let file = dir.join(format!("{name}.png"));
            if let Err(e) = crop.save(&file) {
                write_errors.push(format!("{}: {e}", file.display()));
            }
        }
    };
    let report = pipeline::check(bytes, &reported, &config.pipeline, &mut engine, &mut debug)
        .map_err(|e| format!("{path}: {e}"))?;
    if let Some(first) = write_errors.first() {
        eprintln!("labelcheck: could not write debug crops: {first}");
    }
    if let Some(out) = &args.annotate {
        let photo = pipeline::decode::decode_rgb(bytes, &config.pipeline.limits)
            .map_err(|e| format!("{path}: {e}"))?;
        crate::annotate::annotate(&photo, &report)
            .image
            .save_with_format(out, image::ImageFormat::Png)
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    if args.json {
        println!("{}", json_with_photo(&report, &args.photo)?);
    } else {
        print!("{}", report_text(&path.to_string(), &report));
    }
    Ok(if report.verdict == Verdict::Match {
        Ended::Success
    } else {
        Ended::NotMatch
    })
}

/// `labelcheck batch MANIFEST --out FILE`: every row checked, the summary on standard error.
pub fn batch(config: &Config, args: &BatchArgs) -> Outcome {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if !(1..=MAX_WORKERS).contains(&jobs) {
        return Err(format!("--jobs {jobs} is outside 1..={MAX_WORKERS}"));
    }
    if args.review.is_some() && args.format != batch::Format::Jsonl {
        return Err("--review reads the output, so it needs --format jsonl".into());
    }
    let stop = stop_on_signals()?;
    let options = batch::BatchOptions {
        manifest: args.manifest.clone(),
        out: args.out.clone(),
        format: args.format,
        jobs,
        resume: args.resume,
        shard: args.shard,
        progress: args.progress,
    };
    let summary = batch::run(
        std::sync::Arc::new(crate::engines::ModelEngines(config.model.clone())),
        &config.pipeline,
        &options,
        &stop,
    )?;
    eprint!("{}", batch::describe(&summary));
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(dir) = &args.review
        && !summary.interrupted
    {
        let root = crate::review::photos_root_of(&args.manifest);
        write_review_page(config, &args.out, &root, dir, args.review_all)?;
    }
    Ok(if summary.interrupted {
        Ended::Interrupted
    } else {
        Ended::Success
    })
}

/// A flag set by the first SIGINT or SIGTERM (rows in flight finish and are written); a second
/// one exits at once with status 130.
fn stop_on_signals() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    Ok(stop)
}

/// `labelcheck rescore OLD.jsonl --out NEW.jsonl`: every row decided again under the given
/// thresholds (unset ones keep the built-in values), without OCR.
pub fn rescore(args: &RescoreArgs) -> Outcome {
    let mut t = Thresholds::default();
    if let Some(v) = args.region_blur_min {
        t.region_blur_min = v;
    }
    if let Some(v) = args.photo_blur_min {
        t.photo_blur_min = v;
    }
    if let Some(v) = args.min_char_confidence {
        t.min_char_confidence = v;
    }
    let usable = |v: f64| v.is_finite() && v >= 0.0;
    if !usable(t.region_blur_min)
        || !usable(t.photo_blur_min)
        || !(0.0..=100.0).contains(&t.min_char_confidence)
    {
        return Err("thresholds must be finite and non-negative, confidence 0-100".into());
    }
    let summary = batch::rescore(&args.input, &args.out, t)?;
    eprint!("{}", rescore_text(&summary));
    Ok(Ended::Success)
}

/// `labelcheck review OUT.jsonl --photos-root R --out DIR`: the static review page.
pub fn review(config: &Config, args: &ReviewArgs) -> Outcome {
    write_review_page(config, &args.input, &args.photos_root, &args.out, args.all)?;
    Ok(Ended::Success)
}

fn write_review_page(
    config: &Config,
    jsonl: &Path,
    photos_root: &Path,
    out: &Path,
    all: bool,
) -> Result<(), String> {
    let summary =
        crate::review::write_review(jsonl, photos_root, out, all, &config.pipeline.limits)?;
    eprintln!(
        "labelcheck: review page {} ({} rows, {} in the gallery, {} annotated photos, {} photos unreadable)",
        out.join("index.html").display(),
        summary.rows,
        summary.shown,
        summary.images,
        summary.photos_unreadable
    );
    Ok(())
}

/// The async runtime for `serve` and `load`: tokio only moves bytes; photos run on the workers.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("labelcheck-io")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `labelcheck serve`: the gRPC service (and metrics) until SIGTERM/SIGINT and a graceful drain.
pub fn serve(config: &Config, args: &ServeArgs) -> Outcome {
    let settings = ServeSettings::from_args(config, args).map_err(|e| e.to_string())?;
    runtime()?.block_on(async move {
        let grpc = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
        let metrics = match settings.metrics_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?,
            ),
            None => None,
        };
        server::serve(
            settings.server,
            server::Listeners { grpc, metrics },
            server::termination_signal(),
        )
        .await
        .map_err(|e| e.to_string())
    })?;
    Ok(Ended::Success)
}

/// `labelcheck ghz-payload PHOTO --serial S --out FILE`: a binary `VerifyRequest` for ghz's `-B`.
pub fn ghz_payload(args: &GhzPayloadArgs) -> Outcome {
    use prost::Message;
    let photo = read_photo(&args.photo)?;
    let request = pb::VerifyRequest {
        photo: photo.into(),
        reported_serial: args.serial.clone(),
        case_id: args.case_id.clone(),
        ..Default::default()
    };
    let bytes = request.encode_to_vec();
    std::fs::write(&args.out, &bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!(
        "labelcheck: wrote a {}-byte VerifyRequest to {} (use with ghz -B)",
        bytes.len(),
        args.out.display()
    );
    Ok(Ended::Success)
}

fn read_photo(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// `labelcheck load`: the load driver against a running server; its report as text or JSON.
pub fn load(args: &LoadArgs) -> Outcome {
    let payloads = load_driver::payloads(args)?;
    let report = runtime()?.block_on(load_driver::run(args, payloads))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", load_driver::describe(&report));
    }
    Ok(Ended::Success)
}
