//! `aiperf analyze-trace`: flags. Each parameter may be given by position or by its flag, as
//! the Python AIPerf takes them (`analyze-trace trace.jsonl 256 report.json` or
//! `analyze-trace --input-file trace.jsonl --block-size 256 --output-file report.json`).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct AnalyzeTraceArgs {
    /// Path to the mooncake trace (JSON lines) to analyze.
    #[arg(
        value_name = "INPUT-FILE",
        required_unless_present = "input_file_flag",
        conflicts_with = "input_file_flag"
    )]
    pub input_file: Option<PathBuf>,

    /// KV-cache block size in tokens: the tokens each `hash_ids` entry stands for. [default:
    /// 512]
    #[arg(value_name = "BLOCK-SIZE", conflicts_with = "block_size_flag",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub block_size: Option<u32>,

    /// Where to write the analysis report (JSON). Not written when not given.
    #[arg(value_name = "OUTPUT-FILE", conflicts_with = "output_file_flag")]
    pub output_file: Option<PathBuf>,

    /// INPUT-FILE as a flag.
    #[arg(long = "input-file", id = "input_file_flag", value_name = "INPUT-FILE")]
    pub input_file_flag: Option<PathBuf>,

    /// BLOCK-SIZE as a flag.
    #[arg(long = "block-size", id = "block_size_flag", value_name = "BLOCK-SIZE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub block_size_flag: Option<u32>,

    /// OUTPUT-FILE as a flag.
    #[arg(
        long = "output-file",
        id = "output_file_flag",
        value_name = "OUTPUT-FILE"
    )]
    pub output_file_flag: Option<PathBuf>,
}

impl AnalyzeTraceArgs {
    /// The trace to read (clap requires one of the two forms).
    pub fn input(&self) -> Option<&PathBuf> {
        self.input_file.as_ref().or(self.input_file_flag.as_ref())
    }

    /// Tokens per block.
    pub fn block_size(&self) -> u32 {
        self.block_size.or(self.block_size_flag).unwrap_or(512)
    }

    /// Where to write the report, if anywhere.
    pub fn output(&self) -> Option<&PathBuf> {
        self.output_file.as_ref().or(self.output_file_flag.as_ref())
    }
}
