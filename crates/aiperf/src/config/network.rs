//! Network Latency: whether the network round trip is measured, fixed or left in, with the
//! Python AIPerf's rules between the three flags and its `AIPERF_NETWORK_LATENCY_*`
//! environment settings for the probes.

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::{NetworkLatency, Probing};

pub(super) fn resolve_network_latency(args: &ProfileArgs) -> Result<NetworkLatency, UsageError> {
    let n = &args.network;
    if let Some(mean) = n.network_latency_mean {
        if n.network_latency_automatic {
            return Err(UsageError::new(
                "--network-latency-automatic and --network-latency-mean cannot be used together: \
                 automatic measures the round trip, mean sets it; drop one",
            ));
        }
        if n.network_latency_ping_interval.is_some() {
            return Err(UsageError::new(
                "--network-latency-ping-interval only applies with --network-latency-automatic, \
                 not with --network-latency-mean; drop it",
            ));
        }
        if !(mean.is_finite() && mean >= 0.0) {
            return Err(UsageError::new(format!(
                "--network-latency-mean must be a number of milliseconds, 0 or more, got {mean}"
            )));
        }
        return Ok(NetworkLatency::Fixed { mean_ms: mean });
    }
    if !n.network_latency_automatic {
        if n.network_latency_ping_interval.is_some() {
            return Err(UsageError::new(
                "--network-latency-ping-interval only applies with --network-latency-automatic; \
                 add it, or drop the interval",
            ));
        }
        return Ok(NetworkLatency::Off);
    }
    let interval_secs = match n.network_latency_ping_interval {
        Some(s) if s.is_finite() && s > 0.0 => s,
        Some(s) => {
            return Err(UsageError::new(format!(
                "--network-latency-ping-interval must be a number of seconds above 0, got {s}"
            )));
        }
        None => env_number(
            "AIPERF_NETWORK_LATENCY_DEFAULT_PROBE_INTERVAL",
            Probing::DEFAULT_INTERVAL_SECS,
            0.001..=300.0,
        )?,
    };
    let min_samples = env_number(
        "AIPERF_NETWORK_LATENCY_MIN_SAMPLES",
        f64::from(Probing::DEFAULT_MIN_SAMPLES),
        1.0..=100_000.0,
    )?;
    if min_samples.fract() != 0.0 {
        return Err(UsageError::new(format!(
            "AIPERF_NETWORK_LATENCY_MIN_SAMPLES must be a whole number, got {min_samples}"
        )));
    }
    Ok(NetworkLatency::Automatic(Probing {
        interval_secs,
        min_samples: min_samples as u32,
        connect_timeout_secs: env_number(
            "AIPERF_NETWORK_LATENCY_CONNECT_TIMEOUT",
            Probing::DEFAULT_CONNECT_TIMEOUT_SECS,
            0.001..=300.0,
        )?,
        topup_timeout_secs: env_number(
            "AIPERF_NETWORK_LATENCY_COMPLETE_TOPUP_TIMEOUT",
            Probing::DEFAULT_TOPUP_TIMEOUT_SECS,
            0.0..=30.0,
        )?,
    }))
}

/// A number from the environment within `range`, or `default` when the variable is unset.
fn env_number(
    name: &str,
    default: f64,
    range: std::ops::RangeInclusive<f64>,
) -> Result<f64, UsageError> {
    let Ok(text) = std::env::var(name) else {
        return Ok(default);
    };
    match text.trim().parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(UsageError::new(format!(
            "{name} must be a number from {} to {}, got {text:?}; fix or unset it",
            range.start(),
            range.end()
        ))),
    }
}
