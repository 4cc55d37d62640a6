//! Command-line definitions (clap). Nothing outside this module sees clap types: commands
//! turn these into validated configurations first.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod analyze_trace;
pub mod config;
pub mod kube;
pub mod profile;
pub mod sim;
pub mod speed_bench_report;
pub mod syntax;
pub mod synthesize;

/// Benchmark LLM inference servers that speak the OpenAI API.
#[derive(Debug, Parser)]
#[command(name = "aiperf", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
    /// The command line as given, recorded (secrets redacted) in the artifacts.
    #[arg(skip)]
    pub argv: Vec<String>,
}

impl Cli {
    /// Parses a command line, keeping it and, for `profile`, which flags it gave explicitly
    /// (clap's own record, so aliases and `--flag=value` need no scanning).
    pub fn parse_command_line<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
        let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
        let command = syntax::adapt(Self::command());
        let matches = command
            .clone()
            .try_get_matches_from(syntax::normalize(&command, argv.clone()))?;
        let mut cli = Self::from_arg_matches(&matches)?;
        cli.argv = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if let Command::Profile(args) = &mut cli.command
            && let Some(given) = matches.subcommand_matches("profile")
            && let Some(profile) = command.find_subcommand("profile")
        {
            args.given = profile
                .get_arguments()
                .filter(|a| {
                    given.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
                })
                .map(|a| match a.get_long() {
                    Some(long) => format!("--{long}"),
                    None => a.get_id().to_string(),
                })
                .collect();
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Benchmark an OpenAI-compatible inference server.
    #[command(allow_negative_numbers = true)]
    Profile(Box<profile::ProfileArgs>),
    /// Charts and a self-contained HTML report from the artifacts of a run, a sweep or a search.
    Plot(PlotArgs),
    /// List the built-in search recipes, or print one (a template for your own).
    Recipes(RecipesArgs),
    /// Run the simulated OpenAI-compatible LLM server on its own.
    #[command(allow_negative_numbers = true)]
    Sim(Box<sim::SimArgs>),
    /// Run sweeps, searches and sharded benchmarks on Kubernetes.
    #[command(subcommand)]
    Kube(kube::KubeCommand),
    /// Combine the shards of one benchmark (`--shards`) into one run whose statistics come
    /// from every request.
    Merge(MergeArgs),
    /// Analyze a mooncake trace file for ISL/OSL distributions and cache hit rates.
    AnalyzeTrace(analyze_trace::AnalyzeTraceArgs),
    /// Synthesize a dataset workload.
    #[command(visible_alias = "synthesize-trace")]
    Synthesize(synthesize::SynthesizeArgs),
    /// Assemble per-category SPEED-Bench aiperf results into a matrix report.
    SpeedBenchReport(speed_bench_report::SpeedBenchReportArgs),
    /// YAML configuration files: bundled templates, validation, sweep previews.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' artifact directories.
    #[arg(required = true, num_args = 1..)]
    pub dirs: Vec<std::path::PathBuf>,
    /// Where to write the merged run.
    #[arg(long, short)]
    pub output: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Results directories: a run, repeated runs, a sweep or a search; several are compared.
    /// [default: ./artifacts]
    pub paths: Vec<std::path::PathBuf>,
    /// More results directories (the same as giving them as arguments).
    #[arg(long = "paths", num_args = 1.., value_name = "PATH")]
    pub more_paths: Vec<std::path::PathBuf>,
    /// Where to write the charts and report.html. [default: FIRST_PATH/plots]
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// The report's and the charts' colours.
    #[arg(long, value_enum, default_value_t = PlotTheme::Light, ignore_case = true)]
    pub theme: PlotTheme,
    /// A plot configuration YAML of the Python AIPerf; accepted and noted (the report's
    /// charts are chosen from the results).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Serve the report on a local web server that follows the results as they are written.
    #[arg(long)]
    pub dashboard: bool,
    /// The dashboard's address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The dashboard's port (0: any free port).
    #[arg(long, default_value_t = 8050)]
    pub port: u16,
    /// Upload the charts to an MLflow run; accepted and noted (no MLflow upload).
    #[arg(long)]
    pub mlflow_upload: bool,
    /// The MLflow tracking URI for --mlflow-upload.
    #[arg(long, value_name = "URI")]
    pub mlflow_tracking_uri: Option<String>,
    /// The MLflow run for --mlflow-upload.
    #[arg(long, value_name = "ID")]
    pub mlflow_run_id: Option<String>,
}

/// Report colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlotTheme {
    Light,
    Dark,
}

#[derive(Debug, Args)]
pub struct RecipesArgs {
    /// Print this recipe's definition (TOML) instead of the list.
    pub name: Option<String>,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output: `-v` for debug, `-vv` for trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log level (overridden by `-v`).
    #[arg(long, value_enum, default_value_t = LogLevel::Info, global = true, ignore_case = true)]
    pub log_level: LogLevel,

    /// Trace logging, the same as `-vv` (the Python AIPerf's name).
    #[arg(long, global = true)]
    pub extra_verbose: bool,
}

impl GlobalArgs {
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            _ if self.extra_verbose => "trace",
            0 => self.log_level.as_str(),
            1 => "debug",
            _ => "trace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    /// NOTICE and SUCCESS, levels of the Python AIPerf between INFO and WARNING, log as INFO.
    #[value(alias = "notice", alias = "success")]
    Info,
    #[value(alias = "warn")]
    Warning,
    #[value(alias = "critical")]
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warn",
            Self::Error => "error",
        }
    }
}

/// Prints a command-line error as clap does (help and version go to stdout, exit 0) and
/// returns its exit code; a flag given twice gets a hint, since the sweep syntax is a list.
pub fn exit_with(error: &clap::Error) -> std::process::ExitCode {
    let _ = error.print();
    if error.kind() == clap::error::ErrorKind::ArgumentConflict
        && error.to_string().contains("cannot be used multiple times")
    {
        crate::ui::console::notice(
            "hint: give a flag once; to sweep several values, list them with commas \
             (e.g. --concurrency 1,4,16)",
        );
    }
    std::process::ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
