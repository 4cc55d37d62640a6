//! The `aiperf` command: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

// mimalloc: the client allocates and frees small buffers for every response frame; it spends
// markedly less CPU per request than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match aiperf::config::file::parse_command_line(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return aiperf::cli::exit_with(&e),
    };
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
