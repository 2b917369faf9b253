//! labelcheck decides whether a phone photo of a device's serial-number label proves the serial
//! that the device reports.
//!
//! The crate is a pure core ([`pipeline`]: bytes + reported serial in, report out) with thin
//! adapters around it: the command line ([`cli`]) today, the gRPC server and the batch runner
//! later. Start-up settings are validated once in [`config`]; every failure is an [`Error`].

pub mod batch;
pub mod cli;
pub mod config;
pub mod error;
pub mod load;
pub mod model;
pub mod pipeline;
pub mod server;
pub mod workers;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use pipeline::{BlurScore, PhotoFacts, PipelineConfig, analyze_photo};
