//! One module per subcommand: flags in, the plan run by its driver, an exit status out.

pub mod analyze_trace;
pub mod config;
pub mod kube;
pub mod plot;
pub mod profile;
pub mod recipes;
pub mod sim;
pub mod speed_bench_report;
pub mod synthesize;
