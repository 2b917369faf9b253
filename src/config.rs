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
    if local.join("eng.traineddata").is_file() {
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
        let model = Model::load(&dir)?;
        Ok(Config {
            model,
            pipeline: PipelineConfig {
                limits,
                thresholds: Default::default(),
            },
        })
    }
}
