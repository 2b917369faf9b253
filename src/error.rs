//! The one error type of labelcheck: every way a request or start-up can *fail*.
//!
//! Verdicts (MATCH, MISMATCH, BLURRY, NOT_FOUND, INCONCLUSIVE) are data, never errors. An [`Error`]
//! means the service could not judge the photo at all: the input is bad, the model is broken, the
//! engine failed or the service is overloaded. Each variant has a stable machine-readable
//! [`Error::code`] and a [`Error::kind`] that adapters map to gRPC status codes and exit codes in
//! one place each.

use std::path::PathBuf;

use crate::photo_format::PhotoFormat;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad classes of failure, for mapping to transport codes in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something we cannot use (gRPC INVALID_ARGUMENT, CLI exit 2).
    BadInput,
    /// The service was configured wrongly or its model is missing or corrupt (refuses to start).
    Config,
    /// The OCR engine or another internal component failed (gRPC INTERNAL).
    Internal,
    /// The service is at its admission limit (gRPC RESOURCE_EXHAUSTED).
    Overloaded,
    /// The caller's deadline passed first (gRPC DEADLINE_EXCEEDED).
    DeadlineExceeded,
    /// The caller went away or cancelled (gRPC CANCELLED; nobody reads the answer).
    Cancelled,
    /// A file or connection a command uses failed: a manifest, an output, a server the load
    /// driver calls. Raised by the command-line tools only; the service reads no files per request.
    Io,
}

impl ErrorKind {
    /// The command-line exit code for a failure of this kind: 2 for every kind, as for a usage
    /// error clap refuses. Verdicts are not failures: `check --serial` exits 0 for MATCH and 1 for
    /// any other verdict, and a batch stopped by SIGINT/SIGTERM exits 130 (`main.rs`).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::BadInput
            | ErrorKind::Config
            | ErrorKind::Internal
            | ErrorKind::Overloaded
            | ErrorKind::DeadlineExceeded
            | ErrorKind::Cancelled
            | ErrorKind::Io => 2,
        }
    }
}

/// Every failure labelcheck reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The photo has no bytes at all.
    #[error("the photo is empty (0 bytes)")]
    EmptyInput,

    /// The photo is larger than the configured byte limit.
    #[error("the photo is {size} bytes, over the limit of {limit} bytes")]
    InputTooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// Configured limit in bytes.
        limit: usize,
    },

    /// The bytes are not a JPEG, PNG or WebP image.
    #[error("the photo is not a JPEG, PNG or WebP image: {detail}")]
    UnsupportedFormat {
        /// What the bytes look like instead.
        detail: String,
    },

    /// The image header declares more pixels than allowed; nothing was allocated for it.
    #[error(
        "the photo declares {width}x{height} pixels ({} megapixels), over the limit of {} megapixels",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*limit)
    )]
    TooManyPixels {
        /// Declared width in pixels.
        width: u32,
        /// Declared height in pixels.
        height: u32,
        /// Configured limit in pixels.
        limit: u64,
    },

    /// The image is damaged: truncated, malformed or internally inconsistent.
    #[error("the {format} photo is corrupt or truncated: {detail}")]
    CorruptImage {
        /// Container format detected from the magic bytes.
        format: PhotoFormat,
        /// The decoder's own words.
        detail: String,
    },

    /// The OCR model is missing, unreadable or corrupt.
    #[error("OCR model {}: {reason}", path.display())]
    Model {
        /// Path of the model file or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A setting is out of its allowed range.
    #[error("--{name}: {reason}")]
    Config {
        /// Name of the setting (flag name without dashes).
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// A request field other than the photo is invalid (serial, model, case id, options).
    #[error("{field}: {reason}")]
    InvalidField {
        /// The field's name in the request (as in the proto).
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// The service already holds as many requests (running plus queued) as it admits.
    #[error("the service is busy: {limit} requests are running or queued, its limit; retry later")]
    Overloaded {
        /// Requests admitted at once.
        limit: usize,
    },

    /// The caller's deadline passed before the verdict was ready.
    #[error("the deadline ({budget_ms} ms) passed before the verdict was ready")]
    DeadlineExceeded {
        /// The time the caller allowed, milliseconds.
        budget_ms: u64,
    },

    /// The caller cancelled or went away, and the work was abandoned.
    #[error("the request was abandoned: its caller cancelled it or went away")]
    Cancelled,

    /// A file a command reads or writes could not be used (command-line tools only).
    #[error("{}{}: {reason}", path.display(), line.map(|n| format!(" line {n}")).unwrap_or_default())]
    File {
        /// The file.
        path: PathBuf,
        /// The line at fault (1-based), when the file's content is.
        line: Option<u64>,
        /// What went wrong.
        reason: String,
    },

    /// The load driver could not reach or talk to the server (command-line tools only).
    #[error("{target}: {reason}")]
    Connection {
        /// The address called.
        target: String,
        /// What went wrong.
        reason: String,
    },

    /// An internal component (OCR engine, decoder library) failed.
    #[error("internal failure in {component}: {detail}")]
    Internal {
        /// Which component failed.
        component: &'static str,
        /// Its own description of the failure.
        detail: String,
    },
}

impl Error {
    /// A [`Error::File`] for `path`, with the cause's own words.
    pub fn file(path: &std::path::Path, cause: impl std::fmt::Display) -> Error {
        Error::File {
            path: path.to_path_buf(),
            line: None,
            reason: cause.to_string(),
        }
    }

    /// A [`Error::File`] for line `line` (1-based) of `path`.
    pub fn file_line(path: &std::path::Path, line: u64, cause: impl std::fmt::Display) -> Error {
        Error::File {
            path: path.to_path_buf(),
            line: Some(line),
            reason: cause.to_string(),
        }
    }

    /// An [`Error::Internal`] in `component`.
    pub fn internal(component: &'static str, cause: impl std::fmt::Display) -> Error {
        Error::Internal {
            component,
            detail: cause.to_string(),
        }
    }
}

fn megapixels(pixels: u64) -> String {
    format!("{:.1}", pixels as f64 / 1e6)
}

impl Error {
    /// A stable, machine-readable code for this error (snake case; part of the API).
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyInput => "empty_input",
            Error::InputTooLarge { .. } => "input_too_large",
            Error::UnsupportedFormat { .. } => "unsupported_format",
            Error::TooManyPixels { .. } => "too_many_pixels",
            Error::CorruptImage { .. } => "corrupt_image",
            Error::Model { .. } => "model",
            Error::Config { .. } => "config",
            Error::Internal { .. } => "internal",
            Error::InvalidField { .. } => "invalid_field",
            Error::Overloaded { .. } => "overloaded",
            Error::DeadlineExceeded { .. } => "deadline_exceeded",
            Error::Cancelled => "cancelled",
            Error::File { .. } => "file",
            Error::Connection { .. } => "connection",
        }
    }

    /// The request field a bad-input error is about (`photo` for every photo error), as named in
    /// the proto; `None` for other errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::EmptyInput
            | Error::InputTooLarge { .. }
            | Error::UnsupportedFormat { .. }
            | Error::TooManyPixels { .. }
            | Error::CorruptImage { .. } => Some("photo"),
            Error::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The class of this error, for transport mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyInput
            | Error::InputTooLarge { .. }
            | Error::UnsupportedFormat { .. }
            | Error::TooManyPixels { .. }
            | Error::CorruptImage { .. }
            | Error::InvalidField { .. } => ErrorKind::BadInput,
            Error::Model { .. } | Error::Config { .. } => ErrorKind::Config,
            Error::Internal { .. } => ErrorKind::Internal,
            Error::Overloaded { .. } => ErrorKind::Overloaded,
            Error::DeadlineExceeded { .. } => ErrorKind::DeadlineExceeded,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::File { .. } | Error::Connection { .. } => ErrorKind::Io,
        }
    }
}
