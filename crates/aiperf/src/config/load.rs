//! The load: closed loop or arrival rate, the stop condition, warmup, cancellation, and one
//! benchmark split across processes (shards).

use super::plan::first;
use crate::UsageError;
use crate::cli::profile::{ArrivalPattern, LoadArgs, ProfileArgs};
use crate::settings::*;

pub(super) fn resolve_load(args: &ProfileArgs) -> Result<LoadConfig, UsageError> {
    let a = &args.load;
    let concurrency = first(&a.concurrency);
    if concurrency == Some(0) {
        return Err(UsageError::new("--concurrency must be at least 1"));
    }
    let request_rate = first(&a.request_rate);
    if let Some(rate) = request_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(UsageError::new(format!(
            "--request-rate must be a positive number of requests per second, got {rate}"
        )));
    }
    let warmup = warmup_stop(args)?;
    let user_centric = super::replay::resolve_user_centric(args)?;
    let shape = super::shaping::resolve_shape(args)?;
    let warmup_load = warmup_load(args, warmup.is_some())?;
    let warmup_has_rate = warmup_load.and_then(|w| w.rate).or(request_rate).is_some();
    let warmup_shape = match warmup {
        Some(_) => super::shaping::resolve_warmup_shape(args, &shape, warmup_has_rate)?,
        None => crate::settings::PhaseShape::default(),
    };
    super::replay::note_inapplicable(args)?;
    let fixed_schedule = match (a.fixed_schedule, a.no_fixed_schedule) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if fixed_schedule == Some(true) {
        if args.input.input_file.is_none() {
            return Err(UsageError::new(
                "--fixed-schedule replays a trace: add --input-file with timestamped rows",
            ));
        }
        if request_rate.is_some() {
            return Err(UsageError::new(
                "--fixed-schedule and --request-rate conflict: the trace's timestamps set the \
                 pace; drop one of them",
            ));
        }
    }
    Ok(LoadConfig {
        concurrency,
        request_rate,
        arrival: arrival(a, request_rate)?,
        fixed_schedule,
        stop: stop(a)?,
        // Kept finite so configurations and plans stay valid JSON.
        grace_period_secs: a.benchmark_grace_period.min(f64::MAX),
        warmup_grace_secs: warmup_grace(args, warmup)?,
        warmup,
        warmup_load,
        cancellation: cancellation(a)?,
        failed_request_threshold: match a.failed_request_threshold {
            Some(t) if !(t > 0.0 && t <= 1.0) => {
                return Err(UsageError::new(format!(
                    "--failed-request-threshold is the share of requests allowed to fail, \
                     between 0 and 1 (0.1 = 10 %), got {t}"
                )));
            }
            other => other,
        },
        shape,
        warmup_shape,
        user_centric,
        replay_window: super::replay::resolve_window(args)?,
        turn_delay_cap_secs: super::replay::turn_delay_cap(args)?,
    })
}

/// How arrivals are spaced in rate mode (`--arrival-pattern`, `--arrival-smoothness`).
fn arrival(a: &LoadArgs, request_rate: Option<f64>) -> Result<Arrival, UsageError> {
    if let Some(s) = a.arrival_smoothness
        && !(s.is_finite() && s > 0.0)
    {
        return Err(UsageError::new(format!(
            "--arrival-smoothness must be a positive number, got {s}"
        )));
    }
    let pattern = match (a.request_rate_mode, a.arrival_smoothness) {
        (Some(ArrivalPattern::Gamma) | None, Some(_)) => ArrivalPattern::Gamma,
        (Some(other), Some(_)) => {
            return Err(UsageError::new(format!(
                "--arrival-smoothness only applies to gamma arrivals, not {other:?}; add \
                 --arrival-pattern gamma or drop --arrival-smoothness"
            )));
        }
        (Some(p), None) => p,
        (None, None) => ArrivalPattern::Poisson,
    };
    if pattern == ArrivalPattern::ConcurrencyBurst {
        if request_rate.is_some() || a.request_rate_series.is_some() {
            return Err(UsageError::new(
                "--arrival-pattern concurrency-burst sends each request as soon as a \
                 --concurrency slot frees, without a rate: drop --request-rate (or pick \
                 constant, poisson or gamma arrivals)",
            ));
        }
        // Closed loop: the arrival process is never used.
        return Ok(Arrival::Poisson);
    }
    if a.request_rate_mode.is_some() && request_rate.is_none() && a.request_rate_series.is_none() {
        return Err(UsageError::new(
            "--request-rate-mode (--arrival-pattern) needs --request-rate",
        ));
    }
    Ok(match pattern {
        ArrivalPattern::Constant => Arrival::Constant,
        ArrivalPattern::Poisson | ArrivalPattern::ConcurrencyBurst => Arrival::Poisson,
        ArrivalPattern::Gamma => Arrival::Gamma {
            smoothness: a.arrival_smoothness.unwrap_or(1.0),
        },
    })
}

/// When the profiling phase stops: requests, conversations or seconds.
fn stop(a: &LoadArgs) -> Result<StopCondition, UsageError> {
    let requests = first(&a.request_count);
    if requests == Some(0) {
        return Err(UsageError::new("--request-count must be at least 1"));
    }
    let sessions = a.num_sessions;
    if sessions == Some(0) {
        return Err(UsageError::new("--num-sessions must be at least 1"));
    }
    if sessions.is_some() && requests.is_some() {
        return Err(UsageError::new(
            "--num-sessions and --request-count both say when to stop; give one (sessions \
             count conversations, requests count turns)",
        ));
    }
    let duration = first(&a.benchmark_duration);
    if let Some(d) = duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(UsageError::new(format!(
            "--benchmark-duration must be a positive number of seconds, got {d}"
        )));
    }
    // `inf` waits for every response however long it takes.
    if a.benchmark_grace_period.is_nan() || a.benchmark_grace_period < 0.0 {
        return Err(UsageError::new(format!(
            "--benchmark-grace-period must be zero, a positive number of seconds or inf, got {}",
            a.benchmark_grace_period
        )));
    }
    Ok(StopCondition {
        requests,
        duration_secs: duration,
        sessions,
    })
}

/// When the warmup phase stops, if there is one.
fn warmup_stop(args: &ProfileArgs) -> Result<Option<StopCondition>, UsageError> {
    let a = &args.load;
    let sessions = args.warmup.num_warmup_sessions;
    if sessions == Some(0) {
        return Err(UsageError::new("--num-warmup-sessions must be at least 1"));
    }
    if let Some(d) = a.warmup_duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(UsageError::new(format!(
            "--warmup-duration must be a positive number of seconds, got {d}"
        )));
    }
    Ok(
        match (
            a.warmup_request_count.filter(|&n| n > 0),
            a.warmup_duration,
            sessions,
        ) {
            (None, None, None) => None,
            (requests, duration_secs, sessions) => Some(StopCondition {
                requests,
                duration_secs,
                sessions,
            }),
        },
    )
}

/// `--warmup-grace-period`: how long a timed warmup waits for its requests in flight.
fn warmup_grace(
    args: &ProfileArgs,
    warmup: Option<StopCondition>,
) -> Result<Option<f64>, UsageError> {
    let Some(grace) = args.warmup.warmup_grace_period else {
        return Ok(None);
    };
    let Some(w) = warmup else {
        return Err(UsageError::new(
            "--warmup-grace-period was given without a warmup phase (one runs with \
             --warmup-request-count, --num-warmup-sessions or --warmup-duration): add \
             --warmup-duration, or drop --warmup-grace-period",
        ));
    };
    if w.duration_secs.is_none() {
        return Err(UsageError::new(
            "--warmup-grace-period requires --warmup-duration: the grace period follows a timed \
             warmup; set --warmup-duration, or drop --warmup-grace-period",
        ));
    }
    if grace.is_nan() || grace < 0.0 {
        return Err(UsageError::new(format!(
            "--warmup-grace-period must be zero, a positive number of seconds or inf, got {grace}"
        )));
    }
    // `inf` waits for every warmup response, as no grace period does.
    Ok(grace.is_finite().then_some(grace))
}

/// The warmup's own load (`--warmup-concurrency`, `--warmup-request-rate`,
/// `--warmup-arrival-pattern`).
fn warmup_load(args: &ProfileArgs, has_warmup: bool) -> Result<Option<WarmupLoad>, UsageError> {
    let a = &args.load;
    if !has_warmup && let Some(flag) = super::shaping::warmup_shape_given(args) {
        return Err(UsageError::new(format!(
            "{flag} shapes a warmup phase: add --warmup-request-count or --warmup-duration \
             (or --num-warmup-sessions)"
        )));
    }
    let pattern = args.warmup.warmup_arrival_pattern;
    let (concurrency, rate) = match (a.warmup_concurrency, a.warmup_request_rate, pattern) {
        (None, None, None) => return Ok(None),
        (c, r, _) => (c, r),
    };
    if !has_warmup {
        return Err(UsageError::new(
            "--warmup-concurrency and --warmup-request-rate shape a warmup phase: add \
             --warmup-request-count or --warmup-duration (or --num-warmup-sessions)",
        ));
    }
    if concurrency == Some(0) {
        return Err(UsageError::new("--warmup-concurrency must be at least 1"));
    }
    if let Some(r) = rate
        && !(r.is_finite() && r > 0.0)
    {
        return Err(UsageError::new(format!(
            "--warmup-request-rate must be a positive number of requests per second, got {r}"
        )));
    }
    let burst = pattern == Some(ArrivalPattern::ConcurrencyBurst);
    if burst && rate.is_some() {
        return Err(UsageError::new(
            "--warmup-arrival-pattern concurrency-burst runs the warmup in closed loop: drop \
             --warmup-request-rate (or pick constant, poisson or gamma arrivals)",
        ));
    }
    let arrival = match pattern {
        None | Some(ArrivalPattern::ConcurrencyBurst) => None,
        Some(_) if rate.or(first(&a.request_rate)).is_none() => {
            tracing::warn!(
                "--warmup-arrival-pattern shapes a warmup rate; without --warmup-request-rate \
                 or --request-rate the warmup runs in closed loop and it has no effect"
            );
            None
        }
        Some(ArrivalPattern::Constant) => Some(Arrival::Constant),
        Some(ArrivalPattern::Poisson) => Some(Arrival::Poisson),
        Some(ArrivalPattern::Gamma) => Some(Arrival::Gamma {
            smoothness: a.arrival_smoothness.unwrap_or(1.0),
        }),
    };
    Ok(Some(WarmupLoad {
        concurrency,
        rate,
        arrival,
        burst,
    }))
}

/// Requests the client cancels on purpose (`--request-cancellation-rate/-delay`).
fn cancellation(a: &LoadArgs) -> Result<Option<Cancellation>, UsageError> {
    match (a.request_cancellation_rate, a.request_cancellation_delay) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(UsageError::new(
            "--request-cancellation-delay needs --request-cancellation-rate: say which share of \
             requests to cancel (e.g. --request-cancellation-rate 10)",
        )),
        (Some(rate), delay) => {
            if !(0.0..=100.0).contains(&rate) {
                return Err(UsageError::new(format!(
                    "--request-cancellation-rate is a percentage between 0 and 100, got {rate}"
                )));
            }
            let delay_secs = delay.unwrap_or(0.0);
            if !(delay_secs.is_finite() && delay_secs >= 0.0) {
                return Err(UsageError::new(format!(
                    "--request-cancellation-delay must be zero or a positive number of seconds, \
                     got {delay_secs}"
                )));
            }
            Ok(Some(Cancellation {
                rate_pct: rate,
                delay_secs,
            }))
        }
    }
}

/// `--shards N --shard-index I` (with the clock and start options), checked.
pub fn resolve_shard(
    args: &ProfileArgs,
) -> Result<Option<crate::settings::ShardConfig>, UsageError> {
    let d = &args.distributed;
    let (Some(count), Some(index)) = (d.shards, d.shard_index) else {
        if d.shards.is_some() {
            return Err(UsageError::new(
                "--shards N needs --shard-index I (which shard this process runs); \
                 `aiperf kube profile --shards N` starts every shard for you",
            ));
        }
        return Ok(None);
    };
    if count == 0 {
        return Err(UsageError::new("--shards must be at least 1"));
    }
    if index >= count {
        return Err(UsageError::new(format!(
            "--shard-index {index} is out of range for --shards {count} (use 0 to {})",
            count - 1
        )));
    }
    if let Some(clock) = &d.shard_clock
        && let Err(e) = crate::shard::split(clock)
    {
        return Err(UsageError::new(e.to_string()));
    }
    if let Some(t) = d.shard_start_at
        && !(t.is_finite() && t > 0.0)
    {
        return Err(UsageError::new(format!(
            "--shard-start-at must be a Unix time in seconds, got {t}"
        )));
    }
    Ok(Some(crate::settings::ShardConfig {
        count,
        index,
        clock: d.shard_clock.clone(),
        start_at: d.shard_start_at,
    }))
}
