//! How faithfully a fixed-schedule replay kept its trace's schedule, from each request's send
//! lag.

use super::catalogue::Rec;
use super::columns::Columns;
use super::result::{MetricResult, Value};

/// A replay whose p99 send lag (anchored at its least-late request) exceeds this, in ms, could
/// not keep up with its trace.
pub const REPLAY_DEGRADED_MS: f64 = 500.0;

/// The reference tool's names for how faithfully a fixed-schedule replay kept its trace's
/// schedule: `replay_sched_lag_p50/p90/p99` (ms) are the percentiles of each request's send
/// lag minus the least-late request's (a constant delay of everything does not count), and
/// `replay_sched_degraded` is 1 when p99 passed [`REPLAY_DEGRADED_MS`].
pub fn replay_lag(cols: &Columns) -> Vec<MetricResult> {
    let mut lags = cols.values_of(Rec::ScheduleLag);
    let Some(least) = lags.iter().copied().reduce(f64::min) else {
        return Vec::new();
    };
    for lag in &mut lags {
        *lag -= least;
    }
    lags.sort_by(f64::total_cmp);
    let scalar = |tag, header, unit, v: f64| MetricResult {
        tag,
        header,
        unit,
        value: Value::Scalar(v),
    };
    let p = |q| aiperf_stats::percentile_sorted(&lags, q).unwrap_or(0.0);
    vec![
        scalar(
            "replay_sched_lag_p50",
            "Replay Schedule Lag p50",
            "ms",
            p(50.0),
        ),
        scalar(
            "replay_sched_lag_p90",
            "Replay Schedule Lag p90",
            "ms",
            p(90.0),
        ),
        scalar(
            "replay_sched_lag_p99",
            "Replay Schedule Lag p99",
            "ms",
            p(99.0),
        ),
        scalar(
            "replay_sched_degraded",
            "Replay Schedule Degraded",
            "",
            f64::from(u8::from(p(99.0) > REPLAY_DEGRADED_MS)),
        ),
    ]
}
