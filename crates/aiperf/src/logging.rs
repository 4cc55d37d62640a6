//! Log output on stderr, controlled by `-v` and `--log-level`, and into the running
//! benchmark's `logs/aiperf.log` (info and above, or more with `-v`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

use crate::cli::GlobalArgs;
use crate::logfile::LogFile;

/// Installs the global logger. `RUST_LOG` wins over the flags on stderr when set.
pub fn init(args: &GlobalArgs) {
    let level = args.log_level();
    let stderr_filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,aiperf={level},aiperf_sim={level}")));
    let file_level = match level {
        "debug" | "trace" => level,
        _ => "info",
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(stderr_filter);
    let file = tracing_subscriber::fmt::layer()
        .with_writer(LogFile)
        .with_ansi(false)
        .with_target(false)
        .with_filter(EnvFilter::new(format!("warn,aiperf={file_level}")));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}
