//! Network-latency calibration: the round trip to the server that is subtracted from the
//! latency metrics that start at a request's send (`--network-latency-*`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether and how the network round trip is taken out of the latency metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum NetworkLatency {
    /// No adjustment: no `network_adjusted_*` metrics.
    #[default]
    Off,
    /// `--network-latency-mean`: this round trip, in milliseconds, is subtracted; nothing is
    /// measured.
    Fixed { mean_ms: f64 },
    /// `--network-latency-automatic`: the round trip is measured during the profiling phase.
    Automatic(Probing),
}

impl NetworkLatency {
    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }
}

/// How the round trip is measured: a fresh TCP connection to each server address, its
/// handshake timed, on an interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probing {
    /// Seconds between two probes of one address (`--network-latency-ping-interval`).
    pub interval_secs: f64,
    /// Successful probes wanted per address; a short run takes the missing ones at its end
    /// (`AIPERF_NETWORK_LATENCY_MIN_SAMPLES`).
    pub min_samples: u32,
    /// Seconds one handshake may take before the probe counts as failed
    /// (`AIPERF_NETWORK_LATENCY_CONNECT_TIMEOUT`).
    pub connect_timeout_secs: f64,
    /// Seconds the end-of-run probes may take in all
    /// (`AIPERF_NETWORK_LATENCY_COMPLETE_TOPUP_TIMEOUT`).
    pub topup_timeout_secs: f64,
}

impl Probing {
    /// The Python AIPerf's defaults.
    pub const DEFAULT_INTERVAL_SECS: f64 = 1.0;
    pub const DEFAULT_MIN_SAMPLES: u32 = 5;
    pub const DEFAULT_CONNECT_TIMEOUT_SECS: f64 = 5.0;
    pub const DEFAULT_TOPUP_TIMEOUT_SECS: f64 = 3.0;

    pub fn interval(&self) -> Duration {
        secs(self.interval_secs)
    }

    pub fn connect_timeout(&self) -> Duration {
        secs(self.connect_timeout_secs)
    }

    pub fn topup_timeout(&self) -> Duration {
        secs(self.topup_timeout_secs)
    }
}

impl Default for Probing {
    fn default() -> Self {
        Self {
            interval_secs: Self::DEFAULT_INTERVAL_SECS,
            min_samples: Self::DEFAULT_MIN_SAMPLES,
            connect_timeout_secs: Self::DEFAULT_CONNECT_TIMEOUT_SECS,
            topup_timeout_secs: Self::DEFAULT_TOPUP_TIMEOUT_SECS,
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}
