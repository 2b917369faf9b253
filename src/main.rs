//! The `labelcheck` binary: parse flags, set up logging, run one command, map errors to exit codes.
//!
//! Exit codes: 0 success, 2 failure (bad input, bad settings, missing model).

use std::process::ExitCode;

use clap::Parser;
use labelcheck::cli::{CheckArgs, Cli, Command, LogFormat};
use labelcheck::{Config, PhotoFacts, analyze_photo};
use tracing_subscriber::EnvFilter;

/// Exit code for any failure.
const EXIT_FAILURE: u8 = 2;

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("LABELCHECK_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    // Tesseract must not start OpenMP threads of its own: labelcheck runs one engine per worker.
    // SAFETY: this is the first statement of main, before any other thread exists.
    unsafe { std::env::set_var("OMP_THREAD_LIMIT", "1") };
    let cli = Cli::parse();
    init_tracing(cli.global.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("labelcheck: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let config = Config::from_args(&cli.global).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Check(args) => check(&config, &args),
    }
}

fn check(config: &Config, args: &CheckArgs) -> Result<ExitCode, String> {
    let path = args.photo.display();
    let bytes = std::fs::read(&args.photo).map_err(|e| format!("{path}: cannot read: {e}"))?;
    let facts = analyze_photo(&bytes, &config.pipeline).map_err(|e| format!("{path}: {e}"))?;
    if args.json {
        let mut value = serde_json::to_value(&facts).map_err(|e| e.to_string())?;
        if let Some(object) = value.as_object_mut() {
            object.insert("photo".into(), args.photo.display().to_string().into());
        }
        println!("{value}");
    } else {
        print_text(&args.photo.display().to_string(), &facts);
    }
    Ok(ExitCode::SUCCESS)
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
