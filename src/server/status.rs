//! The one table from [`Error`] to a gRPC [`Status`].
//!
//! | error kind         | gRPC code          | details                                  |
//! |--------------------|--------------------|------------------------------------------|
//! | bad input          | INVALID_ARGUMENT   | google.rpc.BadRequest field violation     |
//! | overloaded         | RESOURCE_EXHAUSTED | google.rpc.RetryInfo (retry after 100 ms) |
//! | deadline exceeded  | DEADLINE_EXCEEDED  |                                          |
//! | cancelled          | CANCELLED          |                                          |
//! | internal, config   | INTERNAL           | logged with its cause; the caller sees a generic message |
//!
//! Every status also carries google.rpc.ErrorInfo with the error's stable [`Error::code`]
//! (domain `labelcheck`), so callers can branch without parsing messages. UNAVAILABLE at
//! shutdown is the transport's (the server sends GOAWAY and stops accepting calls), with no
//! ErrorInfo; `docs/calling.md` lists every status a caller may see.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{Error, ErrorKind};

/// How long an overloaded caller is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// The gRPC code for an error kind.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::BadInput => Code::InvalidArgument,
        ErrorKind::Overloaded => Code::ResourceExhausted,
        ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorKind::Cancelled => Code::Cancelled,
        ErrorKind::Internal | ErrorKind::Config | ErrorKind::Io => Code::Internal,
    }
}

/// The status for `error`. Internal failures are logged here, with their cause, and reach the
/// caller only as "internal error" (their details may name server paths).
pub fn to_status(error: &Error) -> Status {
    let kind = error.kind();
    let code = code(kind);
    let mut details = ErrorDetails::with_error_info(error.code(), "labelcheck", []);
    let message = match kind {
        ErrorKind::BadInput => {
            let field = error.field().unwrap_or("request");
            details.add_bad_request_violation(field, error.to_string());
            error.to_string()
        }
        ErrorKind::Overloaded => {
            details.set_retry_info(Some(RETRY_AFTER));
            error.to_string()
        }
        ErrorKind::Internal | ErrorKind::Config | ErrorKind::Io => {
            tracing::error!(error = %error, code = error.code(), "request failed inside the service");
            "internal error; the server logged its cause".to_string()
        }
        ErrorKind::DeadlineExceeded | ErrorKind::Cancelled => error.to_string(),
    };
    Status::with_error_details(code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_errors_are_invalid_argument_naming_the_photo_field() {
        let status = to_status(&Error::EmptyInput);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violations = &details
            .bad_request()
            .expect("field violations")
            .field_violations;
        assert_eq!(violations[0].field, "photo");
        assert_eq!(
            details.error_info().expect("error info").reason,
            "empty_input"
        );
    }

    #[test]
    fn every_kind_has_its_code() {
        let cases = [
            (Error::Overloaded { limit: 4 }, Code::ResourceExhausted),
            (
                Error::DeadlineExceeded { budget_ms: 10 },
                Code::DeadlineExceeded,
            ),
            (Error::Cancelled, Code::Cancelled),
            (
                Error::Internal {
                    component: "ocr",
                    detail: "/secret/path".into(),
                },
                Code::Internal,
            ),
            (
                Error::InvalidField {
                    field: "reported_serial",
                    reason: "empty".into(),
                },
                Code::InvalidArgument,
            ),
        ];
        for (error, code) in cases {
            let status = to_status(&error);
            assert_eq!(status.code(), code, "{error}");
            assert!(!status.message().contains("/secret/path"));
        }
    }
}
