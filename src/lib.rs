//! labelcheck decides whether a phone photo of a device's serial-number label proves the serial
//! that the device reports.
//!
//! The crate is a pure core ([`pipeline`]: bytes + reported serial in, report out) with three
//! thin doors into it: the gRPC service ([`server`]), the `check` command ([`commands`], flags in
//! [`cli`], printing in [`output`]) and the batch runner ([`batch`]). CPU work runs on a pool of
//! OCR workers ([`workers`]), each with one engine of each kind ([`engines`]: the learned reader
//! and Tesseract). Start-up settings are validated once in
//! [`config`]; every failure is an [`Error`]. `docs/architecture.md` has the whole picture.

pub mod annotate;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engines;
pub mod error;
pub mod load;
pub mod output;
pub mod photo_format;
pub mod pipeline;
pub mod review;
pub mod server;
pub mod workers;

pub use config::Config;
pub use engines::model;
pub use error::{Error, ErrorKind, Result};
pub use pipeline::{BlurScore, PhotoFacts, PipelineConfig, analyze_photo};
