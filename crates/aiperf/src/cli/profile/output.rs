//! What is written and shown, and what is scraped beside the run.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::settings::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiArg {
    Simple,
    None,
    Dashboard,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Service-level objectives defining a "good" request, `tag:value` separated by spaces,
    /// in display units, e.g. "time_to_first_token:200 inter_token_latency:20".
    #[arg(long)]
    pub goodput: Vec<String>,

    /// Directory for the artifacts, used as given. Default: artifacts/<model>-openai-<type>-<load>.
    #[arg(long, visible_alias = "output-artifact-dir")]
    pub artifact_dir: Option<PathBuf>,

    /// Base file name of every export: with `foo`, foo.json and foo.csv (the summary),
    /// foo.jsonl, foo_raw.jsonl, foo_timeslices.{json,csv}, foo_console.txt,
    /// foo_gpu_telemetry.jsonl and foo_server_metrics.{json,csv,jsonl}. A known ending
    /// (`_raw.jsonl`, `.json`, ...) is dropped from the value; an absolute path keeps only its
    /// file name. Default: the standard names (profile_export_aiperf.json, ...).
    #[arg(long, visible_alias = "profile-export-file", value_name = "PREFIX")]
    pub profile_export_prefix: Option<String>,

    /// Also write outputs.json: every profiled request's generated text (reasoning, then
    /// content) with its ids, start and end times and its lengths and latencies.
    #[arg(long)]
    pub export_outputs_json: bool,

    /// How much to export: summary, records (+ per-request JSONL) or raw (+ raw responses).
    #[arg(long, visible_alias = "profile-export-level", value_enum, default_value_t = ExportLevel::Records)]
    pub export_level: ExportLevel,

    /// Prometheus endpoint(s) of the server to scrape during the run (repeatable). The
    /// endpoint's `<url>/metrics` is scraped by default; failures are counted, never fatal.
    #[arg(long, visible_alias = "server-metrics-url", num_args = 1..)]
    pub server_metrics: Vec<String>,

    /// Do not scrape server metrics.
    #[arg(long)]
    pub no_server_metrics: bool,

    /// Milliseconds between server-metrics scrapes.
    #[arg(long, default_value_t = 100.0)]
    pub server_metrics_interval_ms: f64,

    /// Server-metrics files to write: json, csv, jsonl (every scrape, identical runs
    /// collapsed).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values = ["json", "csv"])]
    pub server_metrics_formats: Vec<String>,

    /// DCGM exporter endpoint(s) to scrape for GPU telemetry during the run (power, energy,
    /// utilisation, memory, temperature per GPU). http://localhost:9400/metrics and :9401 are
    /// tried by default; with --sim, the simulator's /dcgm/metrics. A `.csv` file lists more
    /// DCGM fields to read (DCGM exporter's format: `DCGM_FI_..., gauge|counter, help (in
    /// UNIT)`); `pynvml` reads this machine's GPUs through NVML instead of DCGM. `dashboard`
    /// is accepted for compatibility (the summary always shows the telemetry).
    #[arg(
        long,
        visible_alias = "gpu-telemetry-url",
        num_args = 0..,
        value_name = "URL|FILE.csv|pynvml"
    )]
    pub gpu_telemetry: Option<Vec<String>>,

    /// Do not collect GPU telemetry.
    #[arg(long)]
    pub no_gpu_telemetry: bool,

    /// Milliseconds between GPU-telemetry scrapes.
    #[arg(long, default_value_t = 330.0)]
    pub gpu_telemetry_interval_ms: f64,

    /// Write charts and plots/report.html when the run, sweep or search ends (on by default
    /// for the curve recipes).
    #[arg(long, overrides_with = "no_auto_plot")]
    pub auto_plot: bool,

    /// Also summarize the run in windows of this many seconds
    /// (profile_export_aiperf_timeslices.{json,csv}): each window's requests (by send time)
    /// and the time-weighted figures over the window.
    #[arg(long, value_name = "SECONDS")]
    pub slice_duration: Option<f64>,

    /// Do not write the report at the end.
    #[arg(long, overrides_with = "auto_plot")]
    pub no_auto_plot: bool,

    /// Fail the command (exit 1) when the report of --auto-plot cannot be written, instead
    /// of warning.
    #[arg(long)]
    pub plot_required: bool,

    /// Progress display: simple (progress bar) or none. Default: simple on a terminal.
    #[arg(long, visible_alias = "ui-type", value_enum)]
    pub ui: Option<UiArg>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "HTTP Trace")]
pub struct HttpTraceArgs {
    /// Write each request's HTTP trace to profile_export.jsonl as `trace_data`: wall-clock
    /// timestamps of every phase, the request and response headers (credentials redacted),
    /// every chunk written and read, and the connection's addresses. The http_req_* metrics
    /// are measured and exported on every run, with or without it.
    #[arg(long)]
    pub export_http_trace: bool,

    /// Print the HTTP timing metrics (blocked, DNS lookup, connecting, sending, waiting,
    /// receiving, duration, bytes and chunks) in a console table of their own.
    #[arg(long)]
    pub show_trace_timing: bool,
}
