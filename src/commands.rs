//! The commands behind `labelcheck`'s subcommands: each takes its validated settings
//! ([`crate::config`]), calls the core or an adapter and says how it ended ([`Ended`]); `main`
//! maps that to an exit code. Failures are [`Error`]s whose messages name the file or flag at
//! fault.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{GhzPayloadArgs, LogFormat};
use crate::config::{
    BatchSettings, CheckSettings, Config, LoadSettings, RescoreSettings, ReviewSettings,
    ServeSettings,
};
use crate::error::{Error, Result};
use crate::output::{facts_text, json_with_photo, report_text, rescore_text};
use crate::pipeline::serial::FullSerial;
use crate::pipeline::verdict::Verdict;
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

/// A command's result: how it ended, or what failed.
pub type Outcome = Result<Ended>;

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
pub fn check(config: &Config, settings: &CheckSettings) -> Outcome {
    let path = &settings.photo;
    let bytes = read_photo(path)?;
    if let Some(reported) = &settings.reported {
        return check_serial(config, settings, &bytes, reported);
    }
    let facts = analyze_photo(&bytes, &config.pipeline).map_err(|e| Error::file(path, e))?;
    if settings.json {
        println!("{}", json_with_photo(&facts, path)?);
    } else {
        print!("{}", facts_text(&path.display().to_string(), &facts));
    }
    Ok(Ended::Success)
}

fn check_serial(
    config: &Config,
    settings: &CheckSettings,
    bytes: &[u8],
    reported: &FullSerial,
) -> Outcome {
    let path = &settings.photo;
    let mut engine = crate::engines::EnginePair::new(&config.model)?;
    if let Some(dir) = &settings.debug_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    }
    let mut write_errors = Vec::new();
    let mut debug = |name: &str, crop: &image::GrayImage| {
        if let Some(dir) = &settings.debug_dir {
            let file = dir.join(format!("{name}.png"));
            if let Err(e) = crop.save(&file) {
                write_errors.push(Error::file(&file, e));
            }
        }
    };
    let report = pipeline::check(bytes, reported, &config.pipeline, &mut engine, &mut debug)
        .map_err(|e| Error::file(path, e))?;
    if let Some(first) = write_errors.first() {
        eprintln!("labelcheck: could not write debug crops: {first}");
    }
    if let Some(out) = &settings.annotate {
        let photo = pipeline::decode::decode_rgb(bytes, &config.pipeline.limits)
            .map_err(|e| Error::file(path, e))?;
        crate::annotate::annotate(&photo, &report)
            .image
            .save_with_format(out, image::ImageFormat::Png)
            .map_err(|e| Error::file(out, e))?;
    }
    if settings.json {
        println!("{}", json_with_photo(&report, path)?);
    } else {
        print!("{}", report_text(&path.display().to_string(), &report));
    }
    Ok(if report.verdict == Verdict::Match {
        Ended::Success
    } else {
        Ended::NotMatch
    })
}

/// `labelcheck batch MANIFEST --out FILE`: every row checked, the summary on standard error.
pub fn batch(config: &Config, settings: &BatchSettings) -> Outcome {
    let stop = stop_on_signals()?;
    let summary = batch::run(
        std::sync::Arc::new(crate::engines::ModelEngines::new(
            config.model.clone(),
            settings.options.jobs,
        )),
        &settings.pipeline,
        &settings.options,
        &stop,
    )?;
    eprint!("{}", batch::describe(&summary));
    if let Some(path) = &settings.summary_json {
        let json =
            serde_json::to_string_pretty(&summary).map_err(|e| Error::internal("json", e))?;
        std::fs::write(path, json + "\n").map_err(|e| Error::file(path, e))?;
    }
    if let Some(review) = &settings.review
        && !summary.interrupted
    {
        write_review_page(config, review)?;
    }
    Ok(if summary.interrupted {
        Ended::Interrupted
    } else {
        Ended::Success
    })
}

/// A flag set by the first SIGINT or SIGTERM (rows in flight finish and are written); a second
/// one exits at once with status 130.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|e| Error::internal("signal handler", e))?;
    }
    Ok(stop)
}

/// `labelcheck rescore OLD.jsonl --out NEW.jsonl`: every row decided again under the given
/// thresholds (unset ones keep the built-in values), without OCR.
pub fn rescore(settings: &RescoreSettings) -> Outcome {
    let summary = batch::rescore(&settings.input, &settings.out, settings.thresholds)?;
    eprint!("{}", rescore_text(&summary));
    Ok(Ended::Success)
}

/// `labelcheck review OUT.jsonl --photos-root R --out DIR`: the static review page.
pub fn review(config: &Config, settings: &ReviewSettings) -> Outcome {
    write_review_page(config, settings)?;
    Ok(Ended::Success)
}

fn write_review_page(config: &Config, review: &ReviewSettings) -> Result<()> {
    let summary = crate::review::write_review(
        &review.input,
        &review.photos_root,
        &review.out,
        review.all,
        &config.pipeline.limits,
    )?;
    eprintln!(
        "labelcheck: review page {} ({} rows, {} in the gallery, {} annotated photos, {} photos unreadable)",
        review.out.join("index.html").display(),
        summary.rows,
        summary.shown,
        summary.images,
        summary.photos_unreadable
    );
    Ok(())
}

/// The async runtime for `serve` and `load`: tokio only moves bytes; photos run on the workers.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("labelcheck-io")
        .build()
        .map_err(|e| Error::internal("async runtime", e))
}

/// `labelcheck serve`: the gRPC service (and metrics) until SIGTERM/SIGINT and a graceful drain.
pub fn serve(settings: ServeSettings) -> Outcome {
    runtime()?.block_on(async move {
        let listen = |addr: std::net::SocketAddr, what: &'static str| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Connection {
                    target: addr.to_string(),
                    reason: format!("cannot listen{what}: {e}"),
                })
        };
        let grpc = listen(settings.listen, "").await?;
        let metrics = match settings.metrics_listen {
            Some(addr) => Some(listen(addr, " for metrics").await?),
            None => None,
        };
        server::serve(
            settings.server,
            server::Listeners { grpc, metrics },
            server::termination_signal(),
        )
        .await
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
    std::fs::write(&args.out, &bytes).map_err(|e| Error::file(&args.out, e))?;
    eprintln!(
        "labelcheck: wrote a {}-byte VerifyRequest to {} (use with ghz -B)",
        bytes.len(),
        args.out.display()
    );
    Ok(Ended::Success)
}

fn read_photo(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))
}

/// `labelcheck load`: the load driver against a running server; its report as text or JSON.
pub fn load(settings: &LoadSettings) -> Outcome {
    let payloads = load_driver::payloads(&settings.source)?;
    let report = runtime()?.block_on(load_driver::run(settings, payloads))?;
    if settings.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Error::internal("json", e))?
        );
    } else {
        print!("{}", load_driver::describe(&report));
    }
    Ok(Ended::Success)
}
