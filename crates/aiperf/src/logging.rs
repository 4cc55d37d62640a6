//! Log output on stderr, controlled by `-v` and `--log-level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

/// Installs the global logger. `RUST_LOG` wins over the flags when set.
pub fn init(args: &GlobalArgs) {
    let level = args.log_level();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,aiperf={level},aiperf_sim={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
