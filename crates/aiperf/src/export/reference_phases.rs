//! The phases of the reference tool's configuration (`phases` of its `BenchmarkConfig`): each
//! phase's load pattern, stop condition, ramps, prefill gate, rate series, users and replay
//! window, as the reference tool writes them (only what is set, defaults left out).

use serde::{Deserialize, Serialize};

use super::reference_config::ResolvedPhases;
use crate::settings::{Arrival, LoadMode, PhaseShape, ProfileConfig, StopCondition};

/// The grace period after a timed phase when none is given, seconds.
const DEFAULT_GRACE_PERIOD_SECS: f64 = 30.0;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One phase: its load pattern and when it stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub kind: String,
    /// `concurrency`, `poisson`, `constant`, `gamma` or `fixed_schedule`.
    #[serde(rename = "type")]
    pub pattern: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclude_from_results: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    /// Clients in closed loop, the cap on requests in flight otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_ramp: Option<RampDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_ramp: Option<RampDoc>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<CancellationDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_request_threshold: Option<f64>,
    /// Requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_ramp: Option<RampDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_series: Option<RateSeriesDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothness: Option<f64>,
    /// Simulated users (`user_centric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Written when off (a start offset is given); on by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_offset: Option<bool>,
    /// Milliseconds of the trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_offset: Option<u64>,
}

/// A ramp: its duration in seconds (linear, the default strategy, is not written).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RampDoc {
    pub duration: f64,
}

/// `rate_series`: the request-rate points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateSeriesDoc {
    pub points: Vec<crate::settings::RatePoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CancellationDoc {
    /// Percent of requests.
    pub rate: f64,
    /// Seconds.
    pub delay: f64,
}

/// The warmup phase (when there is one), then the profiling phase.
pub(super) fn phase_list(config: &ProfileConfig, phases: &ResolvedPhases) -> Vec<Phase> {
    let load = &config.load;
    let mut out = Vec::new();
    if let Some((mode, stop)) = phases.warmup {
        let mut warmup = phase("warmup", mode, stop);
        warmup.exclude_from_results = true;
        shaped(&mut warmup, &load.warmup_shape);
        warmup.grace_period = load.warmup_grace_secs;
        out.push(warmup);
    }
    let mut profiling = phase("profiling", phases.profiling, phases.stop);
    shaped(&mut profiling, &load.shape);
    if matches!(phases.profiling, LoadMode::FixedSchedule { .. }) {
        let w = load.replay_window;
        profiling.auto_offset = w.start_ms.map(|_| false);
        (profiling.start_offset, profiling.end_offset) = (w.start_ms, w.end_ms);
    }
    if phases.stop.duration_secs.is_some() && load.grace_period_secs != DEFAULT_GRACE_PERIOD_SECS {
        profiling.grace_period = Some(load.grace_period_secs);
    }
    profiling.cancellation = load.cancellation.map(|c| CancellationDoc {
        rate: c.rate_pct,
        delay: c.delay_secs,
    });
    profiling.failed_request_threshold = load.failed_request_threshold;
    out.push(profiling);
    out
}

/// A phase's ramps, prefill gate and rate series.
fn shaped(phase: &mut Phase, shape: &PhaseShape) {
    let ramp = |d: Option<f64>| d.map(|duration| RampDoc { duration });
    if phase.concurrency.is_some() {
        phase.concurrency_ramp = ramp(shape.concurrency_ramp_secs);
    }
    phase.prefill_concurrency = shape.prefill_concurrency;
    phase.prefill_ramp =
        ramp(shape.prefill_ramp_secs).filter(|_| shape.prefill_concurrency.is_some());
    if phase.rate.is_some() {
        phase.rate_ramp = ramp(shape.rate_ramp_secs);
    }
    if let Some(points) = &shape.rate_series {
        phase.rate = None;
        phase.rate_series = Some(RateSeriesDoc {
            points: points.clone(),
        });
    }
}

fn phase(name: &str, mode: LoadMode, stop: StopCondition) -> Phase {
    let mut users = None;
    let (pattern, concurrency, rate, smoothness) = match mode {
        LoadMode::Concurrency { concurrency } => ("concurrency", Some(concurrency), None, None),
        LoadMode::Rate {
            rate,
            arrival,
            max_concurrency,
        } => match arrival {
            Arrival::Constant => ("constant", max_concurrency, Some(rate), None),
            Arrival::Poisson => ("poisson", max_concurrency, Some(rate), None),
            Arrival::Gamma { smoothness } => {
                ("gamma", max_concurrency, Some(rate), Some(smoothness))
            }
        },
        LoadMode::FixedSchedule { max_concurrency } => {
            ("fixed_schedule", max_concurrency, None, None)
        }
        LoadMode::UserCentric {
            rate,
            users: n,
            max_concurrency,
        } => {
            users = Some(n);
            ("user_centric", max_concurrency, Some(rate), None)
        }
    };
    Phase {
        name: name.to_owned(),
        kind: name.to_owned(),
        pattern: pattern.to_owned(),
        exclude_from_results: false,
        requests: stop.requests,
        duration: stop.duration_secs,
        sessions: stop.sessions,
        concurrency,
        concurrency_ramp: None,
        prefill_concurrency: None,
        prefill_ramp: None,
        grace_period: None,
        cancellation: None,
        failed_request_threshold: None,
        rate,
        rate_ramp: None,
        rate_series: None,
        smoothness,
        users,
        auto_offset: None,
        start_offset: None,
        end_offset: None,
    }
}
