//! Network Latency: taking the network round trip to the server out of the latency metrics.

use clap::Args;

#[derive(Debug, Args)]
#[command(next_help_heading = "Network Latency")]
pub struct NetworkLatencyArgs {
    /// Measure the network round trip to the server during the run (a fresh TCP connection
    /// to each server address, its handshake timed, every --network-latency-ping-interval)
    /// and subtract its mean from the latency metrics that start at the request's send
    /// (request_latency, time_to_first_token, time_to_first_output_token). The raw metrics
    /// stay; the adjusted ones are reported as network_adjusted_* beside them, with
    /// network_rtt, and every probe goes to profile_export_network_latency.jsonl. Mutually
    /// exclusive with --network-latency-mean. [default: off]
    #[arg(long)]
    pub network_latency_automatic: bool,

    /// Subtract this fixed mean network round trip, in milliseconds, instead of measuring
    /// it (turns the adjustment on; nothing is probed). Mutually exclusive with
    /// --network-latency-automatic.
    #[arg(long, value_name = "MS")]
    pub network_latency_mean: Option<f64>,

    /// Seconds between two probes of a server address during the profiling phase
    /// (default: 1.0). Only with --network-latency-automatic.
    #[arg(long, value_name = "SECONDS")]
    pub network_latency_ping_interval: Option<f64>,
}
