//! The `aiperf` command: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = aiperf::cli::Cli::parse();
    aiperf::logging::init(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return aiperf::report_error(&e.into()),
    };
    match runtime.block_on(aiperf::run(cli)) {
        Ok(status) => status.into(),
        Err(e) => aiperf::report_error(&e),
    }
}
