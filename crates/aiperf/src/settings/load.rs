//! How requests are paced and when a phase stops: the load pattern, its ramps and gates,
//! the warmup, user-centric sessions and the window of a replayed trace.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How requests are paced and when the run stops.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadConfig {
    /// Closed-loop concurrency, or the ceiling on requests in flight in rate mode.
    pub concurrency: Option<u32>,
    pub request_rate: Option<f64>,
    pub arrival: Arrival,
    /// Replay trace timestamps; `None` decides from the dataset (timestamped traces replay).
    pub fixed_schedule: Option<bool>,
    pub stop: StopCondition,
    pub grace_period_secs: f64,
    pub warmup: Option<StopCondition>,
    /// Abort once more than this share of the completed requests failed.
    #[serde(default)]
    pub failed_request_threshold: Option<f64>,
    /// Requests the client cancels on purpose (profiling phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// The warmup's own load, when it differs from the profiling phase's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_load: Option<WarmupLoad>,
    /// Ramps, the prefill gate and the request-rate series of the profiling phase.
    #[serde(default, skip_serializing_if = "PhaseShape::is_default")]
    pub shape: PhaseShape,
    /// The same for the warmup phase (each falls back to the profiling phase's).
    #[serde(default, skip_serializing_if = "PhaseShape::is_default")]
    pub warmup_shape: PhaseShape,
    /// Seconds the warmup waits for its requests in flight once its duration is over;
    /// `None` waits for all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_grace_secs: Option<f64>,
    /// Sessions of simulated users at a global rate (`--user-centric-rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_centric: Option<UserCentric>,
    /// Which part of a replayed trace is sent, and where its clock starts.
    #[serde(default, skip_serializing_if = "ReplayWindow::is_default")]
    pub replay_window: ReplayWindow,
    /// Longest pause before a turn of an input file, seconds
    /// (`--inter-turn-delay-cap-seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_delay_cap_secs: Option<f64>,
}

/// `--warmup-concurrency` / `--warmup-request-rate` / `--warmup-arrival-pattern`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WarmupLoad {
    pub concurrency: Option<u32>,
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<Arrival>,
    /// `--warmup-arrival-pattern concurrency-burst`: the warmup runs in closed loop whatever
    /// the rates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub burst: bool,
}

/// How a phase's load is brought up and gated: session concurrency and request rate ramped
/// up from a low start, at most so many requests in their prefill at once, and a rate that
/// follows a series of points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseShape {
    /// Seconds to step the session concurrency up from 1 to its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_ramp_secs: Option<f64>,
    /// Requests sent and not yet at their first token, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_concurrency: Option<u32>,
    /// Seconds to step the prefill concurrency up from 1 to its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_ramp_secs: Option<f64>,
    /// Seconds to raise the request rate from a small start to its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_ramp_secs: Option<f64>,
    /// Request rate points, interpolated linearly (after the rate ramp, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_series: Option<Vec<RatePoint>>,
}

impl PhaseShape {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One point of `--request-rate-series`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Seconds from the start of the series.
    pub time_s: f64,
    /// Requests per second at that time.
    pub qps: f64,
}

/// `--user-centric-rate` / `--num-users`: users each sending their conversation's turns one
/// gap (`users / rate`) apart, new users joining on a fixed schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UserCentric {
    /// Requests per second over all users.
    pub rate: f64,
    pub users: u32,
}

/// `--fixed-schedule-start-offset` / `--fixed-schedule-end-offset` /
/// `--fixed-schedule-auto-offset`: trace rows outside `[start_ms, end_ms]` are not sent; the
/// replay's clock starts at `start_ms` when given, else at the first row sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

impl ReplayWindow {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a row at `timestamp_ms` is sent.
    pub fn contains(&self, timestamp_ms: f64) -> bool {
        self.start_ms.is_none_or(|s| timestamp_ms >= s as f64)
            && self.end_ms.is_none_or(|e| timestamp_ms <= e as f64)
    }
}

/// `--request-cancellation-rate` / `--request-cancellation-delay`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    /// Share of requests cancelled, percent.
    pub rate_pct: f64,
    pub delay_secs: f64,
}

impl Cancellation {
    /// Whether request `n` of a run seeded with `seed` is one to cancel (a seeded choice, the
    /// same on every run with the seed).
    pub fn picks(&self, seed: u64, n: u64) -> bool {
        let draw = aiperf_stats::derive_seed(seed ^ 0x6361_6e63_656c, n) >> 11;
        (draw as f64 / (1u64 << 53) as f64) * 100.0 < self.rate_pct
    }
}

/// Arrival process of rate mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly spaced arrivals.
    Constant,
    /// Exponential gaps.
    Poisson,
    /// Gamma gaps of shape `smoothness` (1 = Poisson, < 1 burstier, > 1 smoother).
    Gamma { smoothness: f64 },
}

/// When a phase stops issuing requests: after a count, after a duration, or whichever comes
/// first. Neither means the default count.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StopCondition {
    pub requests: Option<u64>,
    pub duration_secs: Option<f64>,
    /// Sessions (conversations) to start; each runs to its last turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
}

impl StopCondition {
    pub fn duration(&self) -> Option<Duration> {
        self.duration_secs
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
    }
}

/// The load pattern a phase runs, decided once the dataset is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadMode {
    /// `concurrency` clients, each sending its next request when the previous one ends.
    Concurrency { concurrency: u32 },
    /// Open loop: arrivals on a seeded schedule, optionally capped in flight.
    Rate {
        rate: f64,
        arrival: Arrival,
        max_concurrency: Option<u32>,
    },
    /// Open loop at the dataset's own timestamps.
    FixedSchedule { max_concurrency: Option<u32> },
    /// `users` simulated users sharing `rate` requests per second, each waiting for its
    /// previous answer and one gap before its next turn; optionally capped in flight.
    UserCentric {
        rate: f64,
        users: u32,
        max_concurrency: Option<u32>,
    },
}

impl LoadMode {
    /// The cap on sessions in flight: the clients of closed loop, `--concurrency` otherwise.
    pub fn session_limit(&self) -> Option<u32> {
        match *self {
            Self::Concurrency { concurrency } => Some(concurrency),
            Self::Rate {
                max_concurrency, ..
            }
            | Self::FixedSchedule { max_concurrency }
            | Self::UserCentric {
                max_concurrency, ..
            } => max_concurrency,
        }
    }
}

impl std::fmt::Display for LoadMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cap = |f: &mut std::fmt::Formatter<'_>, c: &Option<u32>| match c {
            Some(c) => write!(f, ", at most {c} in flight"),
            None => Ok(()),
        };
        match self {
            Self::Concurrency { concurrency } => write!(f, "concurrency {concurrency}"),
            Self::Rate {
                rate,
                arrival,
                max_concurrency,
            } => {
                let pattern = match arrival {
                    Arrival::Constant => "constant".to_owned(),
                    Arrival::Poisson => "poisson".to_owned(),
                    Arrival::Gamma { smoothness } => format!("gamma, smoothness {smoothness}"),
                };
                write!(f, "{rate} requests/s ({pattern})")?;
                cap(f, max_concurrency)
            }
            Self::FixedSchedule { max_concurrency } => {
                write!(f, "the trace's timestamps")?;
                cap(f, max_concurrency)
            }
            Self::UserCentric {
                rate,
                users,
                max_concurrency,
            } => {
                write!(f, "{users} users sharing {rate} requests/s")?;
                cap(f, max_concurrency)
            }
        }
    }
}

impl LoadConfig {
    pub fn mode(&self, dataset_has_timestamps: bool) -> LoadMode {
        if let Some(u) = self.user_centric {
            return LoadMode::UserCentric {
                rate: u.rate,
                users: u.users,
                max_concurrency: self.concurrency,
            };
        }
        let rate = self.request_rate.or_else(|| {
            let series = self.shape.rate_series.as_ref()?;
            series.first().map(|p| p.qps)
        });
        let replay = self
            .fixed_schedule
            .unwrap_or(dataset_has_timestamps && rate.is_none());
        match (replay, rate) {
            (true, _) => LoadMode::FixedSchedule {
                max_concurrency: self.concurrency,
            },
            (false, Some(rate)) => LoadMode::Rate {
                rate,
                arrival: self.arrival,
                max_concurrency: self.concurrency,
            },
            (false, None) => LoadMode::Concurrency {
                concurrency: self.concurrency.unwrap_or(1),
            },
        }
    }

    /// The warmup's load, as the Python AIPerf decides it: a rate phase when a warmup rate
    /// or the profiling `--request-rate` is given (its own arrival pattern, else the
    /// profiling one; its own concurrency as the cap, else the profiling one), otherwise
    /// closed loop at the warmup concurrency, else the profiling concurrency, else 1. A
    /// replayed trace or user-centric profiling phase is warmed up that way too.
    pub fn warmup_mode(&self, _profiling: LoadMode) -> LoadMode {
        let w = self.warmup_load.unwrap_or_default();
        let concurrency = w.concurrency.or(self.concurrency);
        match w.rate.or(self.request_rate).filter(|_| !w.burst) {
            Some(rate) => LoadMode::Rate {
                rate,
                arrival: w.arrival.unwrap_or(self.arrival),
                max_concurrency: concurrency,
            },
            None => LoadMode::Concurrency {
                concurrency: concurrency.unwrap_or(1),
            },
        }
    }

    /// Requests the profiling phase sends when neither a count nor a duration was given:
    /// twice the concurrency (at least 10) in closed loop, ten seconds' worth in rate mode
    /// (and at least one per user in user-centric mode), every trace row in fixed-schedule
    /// replay.
    pub fn default_request_count(mode: LoadMode, dataset_turns: usize) -> u64 {
        match mode {
            LoadMode::Concurrency { concurrency } => (2 * u64::from(concurrency)).max(10),
            LoadMode::Rate { rate, .. } => ((rate * 10.0).ceil() as u64).max(10),
            LoadMode::UserCentric { rate, users, .. } => {
                ((rate * 10.0).ceil() as u64).max(10).max(u64::from(users))
            }
            LoadMode::FixedSchedule { .. } => dataset_turns as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(concurrency: Option<u32>, rate: Option<f64>, fixed: Option<bool>) -> LoadConfig {
        LoadConfig {
            concurrency,
            request_rate: rate,
            arrival: Arrival::Poisson,
            fixed_schedule: fixed,
            stop: StopCondition::default(),
            grace_period_secs: 30.0,
            warmup: None,
            failed_request_threshold: None,
            cancellation: None,
            warmup_load: None,
            shape: PhaseShape::default(),
            warmup_shape: PhaseShape::default(),
            warmup_grace_secs: None,
            user_centric: None,
            replay_window: ReplayWindow::default(),
            turn_delay_cap_secs: None,
        }
    }

    #[test]
    fn load_mode_follows_the_flags_and_the_dataset() {
        assert_eq!(
            load(None, None, None).mode(false),
            LoadMode::Concurrency { concurrency: 1 }
        );
        assert_eq!(
            load(Some(4), Some(10.0), None).mode(false),
            LoadMode::Rate {
                rate: 10.0,
                arrival: Arrival::Poisson,
                max_concurrency: Some(4)
            }
        );
        assert_eq!(
            load(Some(4), None, None).mode(true),
            LoadMode::FixedSchedule {
                max_concurrency: Some(4)
            }
        );
        assert_eq!(
            load(Some(4), None, Some(false)).mode(true),
            LoadMode::Concurrency { concurrency: 4 }
        );
        assert_eq!(
            LoadConfig::default_request_count(LoadMode::Concurrency { concurrency: 64 }, 0),
            128
        );
        assert_eq!(
            LoadConfig::default_request_count(LoadMode::Concurrency { concurrency: 1 }, 0),
            10
        );
    }

    #[test]
    fn a_rate_series_is_a_rate_phase_and_users_are_their_own() {
        let mut l = load(None, None, None);
        l.shape.rate_series = Some(vec![
            RatePoint {
                time_s: 0.0,
                qps: 3.0,
            },
            RatePoint {
                time_s: 5.0,
                qps: 9.0,
            },
        ]);
        assert!(matches!(l.mode(true), LoadMode::Rate { rate, .. } if rate == 3.0));
        let mut u = load(Some(8), None, None);
        u.user_centric = Some(UserCentric {
            rate: 2.0,
            users: 4,
        });
        let mode = u.mode(true);
        assert_eq!(
            mode,
            LoadMode::UserCentric {
                rate: 2.0,
                users: 4,
                max_concurrency: Some(8)
            }
        );
        assert_eq!(LoadConfig::default_request_count(mode, 0), 20);
    }

    #[test]
    fn warmup_follows_its_own_flags_then_the_profiling_ones() {
        let closed = load(Some(6), None, None);
        let fixed = LoadMode::FixedSchedule {
            max_concurrency: Some(6),
        };
        assert_eq!(
            closed.warmup_mode(fixed),
            LoadMode::Concurrency { concurrency: 6 }
        );
        let mut rate = load(None, Some(5.0), None);
        rate.warmup_load = Some(WarmupLoad {
            concurrency: Some(2),
            rate: None,
            arrival: Some(Arrival::Constant),
            burst: false,
        });
        assert_eq!(
            rate.warmup_mode(fixed),
            LoadMode::Rate {
                rate: 5.0,
                arrival: Arrival::Constant,
                max_concurrency: Some(2)
            }
        );
        // A concurrency burst warms up in closed loop, whatever the profiling rate.
        rate.warmup_load = Some(WarmupLoad {
            concurrency: Some(2),
            burst: true,
            ..WarmupLoad::default()
        });
        assert_eq!(
            rate.warmup_mode(fixed),
            LoadMode::Concurrency { concurrency: 2 }
        );
        assert_eq!(
            load(None, None, None).warmup_mode(fixed),
            LoadMode::Concurrency { concurrency: 1 }
        );
    }

    #[test]
    fn replay_windows_include_their_edges() {
        let w = ReplayWindow {
            start_ms: Some(100),
            end_ms: Some(200),
        };
        assert!(w.contains(100.0) && w.contains(200.0) && w.contains(150.0));
        assert!(!w.contains(99.9) && !w.contains(200.5));
        assert!(ReplayWindow::default().contains(0.0));
    }
}
