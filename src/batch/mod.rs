//! `labelcheck batch` and `labelcheck rescore`: the door for the data team.
//!
//! A batch streams a manifest CSV (`photo`, `reported_serial`, optional `case_id`, any other
//! columns) through the [`crate::workers::Workers`] pool and streams one output row per input row
//! (JSON Lines or CSV), in the order rows finish. At most `2 x jobs` rows are in flight, so
//! memory does not grow with the manifest. Each row is written whole and flushed: a run stopped
//! by SIGINT/SIGTERM finishes its rows in flight first; one killed outright loses at most those
//! rows and at most a partial last line, which `--resume` cuts off before appending the rows
//! still missing.
//!
//! Rows carry the report's evidence, so [`rescore()`] can decide them again under new thresholds
//! without OCR.
//!
//! Files: [`manifest`] (reading rows), [`shard`] (`--shard K/N`), `resume` (rows already
//! written), [`sink`] (output rows), [`summary`] (counts and progress), [`runner`] (the run) and
//! [`rescore`](mod@rescore).

pub mod manifest;
pub mod rescore;
mod resume;
pub mod runner;
pub mod shard;
pub mod sink;
pub mod summary;

pub use manifest::{column, open_manifest, photo_path};
pub use rescore::{RescoreSummary, report_of_row, rescore};
pub use runner::{BatchOptions, run};
pub use shard::Shard;
pub use sink::{Format, REPORT_KEYS};
pub use summary::{ProgressMode, Summary, describe};
