//! Command-line flags (clap derive). Every flag can also be set by a `LABELCHECK_*` environment
//! variable; a flag given on the command line wins.

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
    /// Folder holding eng.traineddata [default: ./models, else the source tree's models/].
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
    /// Check one photo and print what is known about it.
    Check(CheckArgs),
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
}
