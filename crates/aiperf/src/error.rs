//! Exit statuses and the errors that choose them.

use std::io::Write;
use std::process::ExitCode;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// It ran, but the outcome is a failure (e.g. every request failed).
    Failure,
    /// Bad flags, values, files or configuration: nothing was run.
    Usage,
    /// Stopped by the user (Ctrl-C) before it completed; what was measured is written.
    Interrupted,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Usage => Self::from(2),
            // 128 + SIGINT, as shells report a command stopped by Ctrl-C.
            ExitStatus::Interrupted => Self::from(130),
        }
    }
}

/// A mistake in what the user asked for. Its message names the flag (or file, or field) and
/// says how to fix it; it ends the process with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Prints `error` for the user and returns the exit code it calls for.
pub fn report_error(error: &anyhow::Error) -> ExitCode {
    let status = if error.downcast_ref::<UsageError>().is_some() {
        ExitStatus::Usage
    } else {
        ExitStatus::Failure
    };
    let _ = writeln!(std::io::stderr().lock(), "error: {error:#}");
    status.into()
}
