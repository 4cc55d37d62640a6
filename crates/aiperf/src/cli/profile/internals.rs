//! Options of the Python AIPerf that tune its own processes (record processors, workers, its
//! API server, its message bus): accepted so its command lines run here, with a note that they
//! do not apply to this single-process tool.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct InternalsArgs {
    /// Python AIPerf only: how many record-processor processes compute metrics. Here one
    /// collector thread measures every record; accepted with a note.
    #[arg(
        long,
        visible_alias = "record-processors",
        value_name = "N",
        help_heading = "Service"
    )]
    pub record_processor_service_count: Option<u32>,

    /// Python AIPerf only: the port of its HTTP and WebSocket API. Accepted with a note; the
    /// live view here is --ui dashboard.
    #[arg(long, value_name = "PORT", help_heading = "Service")]
    pub api_port: Option<u16>,

    /// Python AIPerf only: the host of its API (with --api-port). Accepted with a note.
    #[arg(long, value_name = "HOST", help_heading = "Service")]
    pub api_host: Option<String>,

    /// Python AIPerf only: seconds between its realtime statistics logs. Accepted with a
    /// note; --ui dashboard updates continuously.
    #[arg(long, value_name = "SECONDS", help_heading = "Service")]
    pub stats_interval: Option<f64>,

    /// Python AIPerf only: the most worker processes it starts. Requests here are tasks of
    /// one process, as many as the load needs; accepted with a note.
    #[arg(
        long,
        visible_alias = "max-workers",
        value_name = "N",
        help_heading = "Workers"
    )]
    pub workers_max: Option<u32>,

    /// Python AIPerf only: the host of its internal ZMQ sockets. Accepted with a note.
    #[arg(long, value_name = "HOST", help_heading = "ZMQ Communication")]
    pub zmq_host: Option<String>,

    /// Python AIPerf only: the directory of its ZMQ IPC sockets. Accepted with a note.
    #[arg(long, value_name = "DIR", help_heading = "ZMQ Communication")]
    pub zmq_ipc_path: Option<PathBuf>,

    /// Python AIPerf only: its dual-bind (IPC and TCP) message bus. Accepted with a note.
    #[arg(long, help_heading = "ZMQ Communication")]
    pub zmq_dual_bind: bool,

    /// The Hugging Face repository of a Weka agentic trace (selects --public-dataset
    /// weka_hf). Weka traces are not replayed here: the flag is refused with what to do
    /// instead.
    #[arg(long, value_name = "REPO", help_heading = "Input")]
    pub hf_weka_dataset: Option<String>,
}

impl InternalsArgs {
    /// The options given that only tune the Python AIPerf's processes, by flag name.
    pub fn given(&self) -> Vec<&'static str> {
        [
            (
                self.record_processor_service_count.is_some(),
                "--record-processor-service-count",
            ),
            (self.api_port.is_some(), "--api-port"),
            (self.api_host.is_some(), "--api-host"),
            (self.stats_interval.is_some(), "--stats-interval"),
            (self.workers_max.is_some(), "--workers-max"),
            (self.zmq_host.is_some(), "--zmq-host"),
            (self.zmq_ipc_path.is_some(), "--zmq-ipc-path"),
            (self.zmq_dual_bind, "--zmq-dual-bind"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }
}
