//! Errors of the CLI and their exit codes.

use std::path::PathBuf;

/// Why a CLI command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API refused the request (exit code 1).
    #[error("{}", format_api(*status, code, message, field.as_deref()))]
    Api {
        /// HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// The API's message.
        message: String,
        /// The request field the API blamed, if any.
        field: Option<String>,
    },
    /// The API could not be reached or answered garbage (exit code 2).
    #[error("cannot reach the API: {message}")]
    Connection {
        /// Base URL used.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Bad arguments (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read (exit code 2).
    #[error("cannot read {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn format_api(status: u16, code: &str, message: &str, field: Option<&str>) -> String {
    let mut s = format!("{code} (HTTP {status})");
    if let Some(f) = field {
        s.push_str(&format!(" [field {f}]"));
    }
    if !message.is_empty() {
        s.push_str(": ");
        s.push_str(message);
    }
    s
}

impl CliError {
    /// Process exit code: 1 for API errors, 2 for usage and connection errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Api { .. } => 1,
            _ => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_code_field_and_message() {
        let e = CliError::Api {
            status: 422,
            code: "invalid".into(),
            message: "bad ttl".into(),
            field: Some("ttl".into()),
        };
        assert_eq!(e.to_string(), "invalid (HTTP 422) [field ttl]: bad ttl");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
    }
}
