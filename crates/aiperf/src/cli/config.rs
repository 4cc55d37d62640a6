//! `aiperf config init|validate|expand`, and `profile --config FILE`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `profile --config FILE` / `-f FILE`.
#[derive(Debug, Args)]
pub struct ConfigFileArgs {
    /// A YAML configuration file (the Python AIPerf's schema 2.0, see docs/config-files.md):
    /// its settings become flags, and the command line's flags override them. A flag that
    /// cannot be applied on top of a file is refused by name.
    #[arg(
        long = "config",
        short = 'f',
        value_name = "FILE",
        help_heading = "Input"
    )]
    pub config: Option<PathBuf>,
}

/// Configuration files: templates, validation, sweep previews.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Generate, list, or search the bundled configuration templates.
    ///
    /// Without --output the template is printed; with --output it is written there, after
    /// --model and --url replace the template's own.
    Init(InitArgs),
    /// Check a configuration file as `aiperf profile --config` reads it: errors exit 2,
    /// warnings go to stderr and exit 0.
    Validate(ValidateArgs),
    /// Print the variations of a file's sweep (what would run), without running them.
    Expand(ExpandArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Template to generate (e.g. minimal, goodput_slo).
    #[arg(short, long)]
    pub template: Option<String>,
    /// List the bundled templates and exit.
    #[arg(short, long)]
    pub list: bool,
    /// List the templates matching this keyword (name, title, description, tags).
    #[arg(short, long)]
    pub search: Option<String>,
    /// With --list, only this category. (`-v`, the global verbose flag, also shows each
    /// template's tags and difficulty.)
    #[arg(short, long)]
    pub category: Option<String>,
    /// Replace the template's model name.
    #[arg(short, long)]
    pub model: Option<String>,
    /// Replace the template's endpoint URL.
    #[arg(short, long)]
    pub url: Option<String>,
    /// Write the template to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The configuration file.
    #[arg(value_name = "CONFIG_FILE")]
    pub config_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// The configuration file (usually with a `sweep:` block).
    #[arg(value_name = "CONFIG_FILE")]
    pub config_file: PathBuf,
    /// Also print each variation's merged benchmark body and its flags.
    #[arg(short = 'F', long)]
    pub full: bool,
    /// Only the variation at this index (0-based); implies --full.
    #[arg(short, long)]
    pub index: Option<usize>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ExpandFormat::Text)]
    pub format: ExpandFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpandFormat {
    Text,
    Yaml,
    Json,
}
