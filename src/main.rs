//! The `labelcheck` binary: parse flags, set up logging, run one command, map errors to exit codes.
//!
//! Exit codes: `check --serial`: 0 for MATCH, 1 for any other verdict; 0 for `check` without a
//! serial; 2 for any failure (bad input, bad settings, missing model).

use std::process::ExitCode;

use clap::Parser;
use labelcheck::cli::{
    BatchArgs, CheckArgs, Cli, Command, GhzPayloadArgs, LoadArgs, LogFormat, RescoreArgs, ServeArgs,
};
use labelcheck::config::ServeSettings;
use labelcheck::pipeline::serial::parse_reported;
use labelcheck::pipeline::verdict::Verdict;
use labelcheck::pipeline::{Report, check as check_photo};
use labelcheck::server::{self, proto::pb};
use labelcheck::{Config, PhotoFacts, analyze_photo};
use tracing_subscriber::EnvFilter;

/// Exit code for any verdict other than MATCH.
const EXIT_NOT_MATCH: u8 = 1;
/// Exit code for any failure.
const EXIT_FAILURE: u8 = 2;

/// Logs go to standard error; `LABELCHECK_LOG` (tracing's filter syntax) overrides the level,
/// which is `info` for `serve` (one line per call) and `warn` otherwise.
fn init_tracing(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_env("LABELCHECK_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Tesseract must not start OpenMP threads of its own (labelcheck runs one engine per worker, and
/// OpenMP threads spinning against those workers made each line read 5-10x slower). libgomp reads
/// `OMP_THREAD_LIMIT` only when it is loaded, before `main`, so setting it here is too late: the
/// process runs itself again with the variable set. Returns only when it is already set.
fn ensure_single_threaded_openmp() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some_and(|v| v == "1") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    // exec returns only on failure: carry on, slower but correct.
    eprintln!(
        "labelcheck: could not re-execute with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower"
    );
}

fn main() -> ExitCode {
    ensure_single_threaded_openmp();
    let cli = Cli::parse();
    let level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    init_tracing(cli.global.log_format, level);
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("labelcheck: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let config = || Config::from_args(&cli.global).map_err(|e| e.to_string());
    match cli.command {
        Command::Check(args) => check(
            &Config::for_one_photo(&cli.global).map_err(|e| e.to_string())?,
            &args,
        ),
        Command::Serve(args) => serve(&config()?, &args),
        Command::Batch(args) => batch(&config()?, &args),
        // The load driver is a client: it needs no model.
        Command::Load(args) => load(&args),
        Command::GhzPayload(args) => ghz_payload(&args),
        // Re-scoring reads stored evidence: no model, no photos.
        Command::Rescore(args) => rescore(&args),
    }
}

/// Exit code of a batch stopped by SIGINT/SIGTERM before its end (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

fn batch(config: &Config, args: &BatchArgs) -> Result<ExitCode, String> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if !(1..=labelcheck::config::MAX_WORKERS).contains(&jobs) {
        return Err(format!(
            "--jobs {jobs} is outside 1..={}",
            labelcheck::config::MAX_WORKERS
        ));
    }
    // The first SIGINT/SIGTERM stops new rows (rows in flight finish and are written); a second
    // one exits at once.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, std::sync::Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, std::sync::Arc::clone(&stop)))
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let options = labelcheck::batch::BatchOptions {
        manifest: args.manifest.clone(),
        out: args.out.clone(),
        format: args.format,
        jobs,
        resume: args.resume,
        shard: args.shard,
        summary_json: args.summary_json.clone(),
        progress: args.progress,
    };
    let summary = labelcheck::batch::run(&config.model.dir, &config.pipeline, &options, &stop)?;
    eprint!("{}", labelcheck::batch::describe(&summary));
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if summary.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn rescore(args: &RescoreArgs) -> Result<ExitCode, String> {
    let mut t = labelcheck::pipeline::verdict::Thresholds::default();
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
    let summary = labelcheck::batch::rescore(&args.input, &args.out, t)?;
    eprintln!(
        "rescored {} of {} rows ({} failed rows copied); verdict changes:",
        summary.rescored, summary.rows, summary.failed_rows
    );
    for (transition, n) in &summary.transitions {
        eprintln!("  {transition:<28} {n:>6}");
    }
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("labelcheck-io")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn serve(config: &Config, args: &ServeArgs) -> Result<ExitCode, String> {
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
    Ok(ExitCode::SUCCESS)
}

fn ghz_payload(args: &GhzPayloadArgs) -> Result<ExitCode, String> {
    use prost::Message;
    let path = args.photo.display();
    let photo = std::fs::read(&args.photo).map_err(|e| format!("{path}: cannot read: {e}"))?;
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
    Ok(ExitCode::SUCCESS)
}

fn load(args: &LoadArgs) -> Result<ExitCode, String> {
    let payloads = labelcheck::load::payloads(args)?;
    let report = runtime()?.block_on(labelcheck::load::run(args, payloads))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", labelcheck::load::describe(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: &Config, args: &CheckArgs) -> Result<ExitCode, String> {
    let path = args.photo.display();
    let bytes = std::fs::read(&args.photo).map_err(|e| format!("{path}: cannot read: {e}"))?;
    if let Some(serial) = &args.serial {
        return check_serial(config, args, &bytes, serial);
    }
    let facts = analyze_photo(&bytes, &config.pipeline).map_err(|e| format!("{path}: {e}"))?;
    if args.json {
        print_json(&facts, &args.photo)?;
    } else {
        print_text(&args.photo.display().to_string(), &facts);
    }
    Ok(ExitCode::SUCCESS)
}

fn check_serial(
    config: &Config,
    args: &CheckArgs,
    bytes: &[u8],
    serial: &str,
) -> Result<ExitCode, String> {
    let path = args.photo.display();
    let reported = parse_reported(serial).map_err(|e| format!("--serial {serial:?}: {e}"))?;
    let mut engine = config.model.engine().map_err(|e| e.to_string())?;
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
    let report = check_photo(bytes, &reported, &config.pipeline, &mut engine, &mut debug)
        .map_err(|e| format!("{path}: {e}"))?;
    if let Some(first) = write_errors.first() {
        eprintln!("labelcheck: could not write debug crops: {first}");
    }
    if args.json {
        print_json(&report, &args.photo)?;
    } else {
        print_report(&args.photo.display().to_string(), &report);
    }
    Ok(if report.verdict == Verdict::Match {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_MATCH)
    })
}

/// Prints `value` as one JSON object with the photo's path added under `photo`.
fn print_json(value: &impl serde::Serialize, photo: &std::path::Path) -> Result<(), String> {
    let mut value = serde_json::to_value(value).map_err(|e| e.to_string())?;
    if let Some(object) = value.as_object_mut() {
        object.insert("photo".into(), photo.display().to_string().into());
    }
    println!("{value}");
    Ok(())
}

fn print_report(photo: &str, r: &Report) {
    let reasons: Vec<String> = r.reasons.iter().map(|x| format!("{x:?}")).collect();
    println!("photo:            {photo}");
    println!(
        "verdict:          {} ({})",
        r.verdict.as_str(),
        reasons.join(", ")
    );
    println!("reported serial:  {}", r.reported_serial);
    println!(
        "serial read:      {}",
        r.serial_read.as_deref().unwrap_or("-")
    );
    if let Some(kind) = r.match_kind {
        println!("match kind:       {kind:?}");
    }
    if let Some(c) = r.confidence {
        println!("confidence:       {c:.0} (lowest character)");
    }
    if let Some(b) = r.serial_region {
        println!(
            "serial region:    x {}..{}, y {}..{}",
            b.x0, b.x1, b.y0, b.y1
        );
    }
    println!(
        "size:             {}x{} px, {} (EXIF orientation {})",
        r.width, r.height, r.format, r.exif_orientation
    );
    println!(
        "blur:             photo {:.1} (normalised {:.1}, min {}), region {} (min {})",
        r.blur_score.0,
        r.blur_score_normalized.0,
        r.thresholds.photo_blur_min,
        r.region_blur_score
            .map_or("-".to_string(), |v| format!("{v:.0}")),
        r.thresholds.region_blur_min
    );
    println!(
        "lines found:      {} ({} OCR calls)",
        r.lines_found, r.ocr_calls
    );
    let t = r.timings;
    println!(
        "timings:          decode {:.1} ms, blur {:.1} ms, locate {:.1} ms, ocr {:.1} ms, total {:.1} ms",
        t.decode_ms, t.blur_ms, t.locate_ms, t.ocr_ms, t.total_ms
    );
}

fn print_text(photo: &str, facts: &PhotoFacts) {
    println!("photo:                 {photo}");
    println!("format:                {}", facts.format);
    println!(
        "size:                  {}x{} px (upright)",
        facts.width, facts.height
    );
    let orientation = if facts.orientation_applied {
        "applied"
    } else {
        "none needed"
    };
    println!(
        "exif orientation:      {} ({orientation})",
        facts.exif_orientation
    );
    println!(
        "blur score:            {:.2} (variance of the Laplacian)",
        facts.blur_score.0
    );
    println!(
        "blur score normalised: {:.2} (at {} px long side)",
        facts.blur_score_normalized.0,
        labelcheck::pipeline::blur::NORMALIZED_LONG_SIDE
    );
    println!(
        "timings:               decode {:.1} ms, blur {:.1} ms",
        facts.timings.decode_ms, facts.timings.blur_ms
    );
}
