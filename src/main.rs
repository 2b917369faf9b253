//! The `labelcheck` binary: parse flags, set up logging, run one command, map how it ended to an
//! exit code. The commands themselves are in [`labelcheck::commands`].
//!
//! Exit codes: `check --serial`: 0 for MATCH, 1 for any other verdict; 0 for `check` without a
//! serial; 130 for a batch stopped by SIGINT/SIGTERM; for a failure, its kind's
//! [`labelcheck::ErrorKind::exit_code`] (2: bad input, bad settings, a missing model, a file or
//! connection that failed).

use std::process::ExitCode;

use clap::Parser;
use labelcheck::Config;
use labelcheck::cli::{Cli, Command};
use labelcheck::commands::{self, Ended};
use labelcheck::config::{
    BatchSettings, CheckSettings, LoadSettings, RescoreSettings, ReviewSettings, ServeSettings,
};

/// Exit code for any verdict other than MATCH.
const EXIT_NOT_MATCH: u8 = 1;
/// Exit code of a batch stopped by SIGINT/SIGTERM before its end (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

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
    commands::init_tracing(cli.global.log_format, level);
    match run(cli) {
        Ok(Ended::Success) => ExitCode::SUCCESS,
        Ok(Ended::NotMatch) => ExitCode::from(EXIT_NOT_MATCH),
        Ok(Ended::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(error) => {
            eprintln!("labelcheck: {error}");
            ExitCode::from(error.kind().exit_code())
        }
    }
}

/// Turns the command's flags into settings ([`labelcheck::config`]) and runs it.
fn run(cli: Cli) -> commands::Outcome {
    let config = || Config::from_args(&cli.global);
    match cli.command {
        // One photo, one engine set: the model files are checked, and the command's own engines
        // are the check that Tesseract and ONNX Runtime load them.
        Command::Check(args) => commands::check(
            &Config::for_one_photo(&cli.global)?,
            &CheckSettings::from_args(&args)?,
        ),
        Command::Serve(args) => commands::serve(ServeSettings::from_args(&config()?, &args)?),
        Command::Batch(args) => {
            let config = config()?;
            let settings = BatchSettings::from_args(&config, &args)?;
            commands::batch(&config, &settings)
        }
        // The load driver is a client: it needs no model.
        Command::Load(args) => commands::load(&LoadSettings::from_args(&args)?),
        Command::GhzPayload(args) => commands::ghz_payload(&args),
        // Re-scoring reads stored evidence: no model, no photos.
        Command::Rescore(args) => commands::rescore(&RescoreSettings::from_args(&args)?),
        Command::Review(args) => commands::review(&config()?, &ReviewSettings::from_args(&args)),
    }
}
