//! User-centric sessions, the window of a replayed trace, the cap on recorded turn delays,
//! and the replay knobs of trace formats and agentic replay that do not apply here (accepted
//! with a note, or refused as the Python AIPerf refuses them outside their format).

use super::plan::first;
use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::{ReplayWindow, UserCentric};

/// `--user-centric-rate` with `--num-users`, checked against the rest of the load.
pub(super) fn resolve_user_centric(args: &ProfileArgs) -> Result<Option<UserCentric>, UsageError> {
    let u = &args.user_centric;
    if u.num_users.len() > 1 {
        return Err(UsageError::new(
            "--num-users takes one value here: sweeping it is not offered; run once per value",
        ));
    }
    let users = first(&u.num_users);
    let rate = match (u.user_centric_rate, users) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(UsageError::new(
                "--num-users requires --user-centric-rate: add --user-centric-rate to enable \
                 user-centric mode, or drop --num-users",
            ));
        }
        (Some(_), None) => {
            return Err(UsageError::new(
                "--user-centric-rate needs --num-users (how many users share the rate)",
            ));
        }
        (Some(rate), Some(_)) => rate,
    };
    let users = users.unwrap_or(1);
    if !(rate.is_finite() && rate > 0.0) {
        return Err(UsageError::new(format!(
            "--user-centric-rate must be a positive number of requests per second, got {rate}"
        )));
    }
    let l = &args.load;
    if args.distributed.shards.is_some() {
        return Err(UsageError::new(
            "--user-centric-rate cannot be split into --shards: every shard would run all the \
             users; run it in one process",
        ));
    }
    if !l.request_rate.is_empty() {
        return Err(UsageError::new(
            "--user-centric-rate and --request-rate both set the rate; give one",
        ));
    }
    if l.fixed_schedule {
        return Err(UsageError::new(
            "--user-centric-rate and --fixed-schedule conflict: the trace's timestamps set the \
             pace; drop one of them",
        ));
    }
    let synthetic = !from_file(args);
    if synthetic && args.input.session_turns_mean < 2.0 {
        return Err(UsageError::new(
            "user-centric rate mode requires --session-turns-mean >= 2; for single-turn \
             workloads, use --request-rate instead",
        ));
    }
    if let Some(n) = first(&l.request_count)
        && n < u64::from(users)
    {
        return Err(UsageError::new(format!(
            "--request-count ({n}) must be at least --num-users ({users}): each user needs at \
             least one request"
        )));
    }
    if let Some(n) = l.num_sessions
        && n < u64::from(users)
    {
        return Err(UsageError::new(format!(
            "--num-sessions ({n}) must be at least --num-users ({users}): each user needs at \
             least one session"
        )));
    }
    Ok(Some(UserCentric { rate, users }))
}

/// `--fixed-schedule-start-offset`, `--fixed-schedule-end-offset` and
/// `--fixed-schedule-auto-offset`, which shape a `--fixed-schedule` replay.
pub(super) fn resolve_window(args: &ProfileArgs) -> Result<ReplayWindow, UsageError> {
    let r = &args.replay;
    let given = r.fixed_schedule_auto_offset
        || r.fixed_schedule_start_offset.is_some()
        || r.fixed_schedule_end_offset.is_some();
    if given && !args.load.fixed_schedule {
        return Err(UsageError::new(
            "--fixed-schedule-{auto,start,end}-offset requires --fixed-schedule: add \
             --fixed-schedule with a trace file to enable offsets, or drop these flags",
        ));
    }
    if r.fixed_schedule_auto_offset && r.fixed_schedule_start_offset.is_some() {
        return Err(UsageError::new(
            "--fixed-schedule-auto-offset and --fixed-schedule-start-offset are mutually \
             exclusive: the replay starts at the start offset, or at the trace's first row; \
             give one",
        ));
    }
    if let (Some(s), Some(e)) = (r.fixed_schedule_start_offset, r.fixed_schedule_end_offset)
        && s > e
    {
        return Err(UsageError::new(format!(
            "--fixed-schedule-start-offset ({s}) must be <= --fixed-schedule-end-offset ({e})"
        )));
    }
    Ok(ReplayWindow {
        start_ms: r.fixed_schedule_start_offset,
        end_ms: r.fixed_schedule_end_offset,
    })
}

/// `--inter-turn-delay-cap-seconds`: recorded delays of input files are capped.
pub(super) fn turn_delay_cap(args: &ProfileArgs) -> Result<Option<f64>, UsageError> {
    let Some(cap) = args.replay.inter_turn_delay_cap_seconds else {
        return Ok(None);
    };
    if !(cap.is_finite() && cap >= 0.0) {
        return Err(UsageError::new(format!(
            "--inter-turn-delay-cap-seconds must be zero or a positive number of seconds, got \
             {cap}"
        )));
    }
    if !from_file(args) {
        tracing::warn!(
            "--inter-turn-delay-cap-seconds caps the delays recorded in an input file; \
             synthetic turn delays (--session-turn-delay-mean) are not capped, so it has no \
             effect here"
        );
        return Ok(None);
    }
    Ok(Some(cap))
}

/// Whether conversations come from a file (`--input-file`, `--public-dataset`), not synthesis.
fn from_file(args: &ProfileArgs) -> bool {
    args.input.input_file.is_some() || args.given.iter().any(|g| g == "--public-dataset")
}

/// Flags of trace formats and of agentic replay that this tool does not read or offer:
/// agentic and Weka ones are accepted with a note that they have no effect; Baseten-only
/// ones are refused, as the Python AIPerf refuses them for any other format.
pub(super) fn note_inapplicable(args: &ProfileArgs) -> Result<(), UsageError> {
    let r = &args.replay;
    for (flag, ratio) in [
        ("--trajectory-start-min-ratio", r.trajectory_start_min_ratio),
        ("--trajectory-start-max-ratio", r.trajectory_start_max_ratio),
    ] {
        if let Some(v) = ratio
            && !(0.0..=1.0).contains(&v)
        {
            return Err(UsageError::new(format!(
                "{flag} is a fraction between 0 and 1, got {v}"
            )));
        }
    }
    let w = &args.warmup;
    let agentic = [
        (
            r.trajectory_start_min_ratio.is_some(),
            "--trajectory-start-min-ratio",
        ),
        (
            r.trajectory_start_max_ratio.is_some(),
            "--trajectory-start-max-ratio",
        ),
        (r.burst_phase_starts, "--burst-phase-starts"),
        (
            r.system_idle_gap_cap_seconds.is_some(),
            "--system-idle-gap-cap-seconds",
        ),
        (
            w.agentic_cache_warmup_duration.is_some(),
            "--agentic-cache-warmup-duration",
        ),
        (
            w.agentic_warmup_grace_period.is_some(),
            "--agentic-warmup-grace-period",
        ),
    ];
    for (_, flag) in agentic.iter().filter(|(given, _)| *given) {
        tracing::warn!(
            "{flag} applies to agentic replay (trajectory datasets), which is not offered \
             here; it has no effect"
        );
    }
    let baseten = [
        (
            r.max_idle_gap_cap_seconds.is_some(),
            "--max-idle-gap-cap-seconds",
        ),
        (r.replay_speedup.is_some(), "--replay-speedup"),
        (r.open_loop_replay, "--open-loop-replay"),
        (r.no_open_loop_replay, "--no-open-loop-replay"),
        (r.open_loop_strict, "--open-loop-strict"),
        (r.omit_kv_hints, "--omit-kv-hints"),
        (r.force_min_tokens, "--force-min-tokens"),
        (r.no_force_min_tokens, "--no-force-min-tokens"),
    ];
    // As the Python AIPerf refuses them for every other dataset type.
    if let Some((_, flag)) = baseten.iter().find(|(given, _)| *given) {
        return Err(UsageError::new(format!(
            "{flag} is only supported by the baseten_trace loader (Parquet), which this tool \
             does not read; drop it (replay a mooncake_trace with --fixed-schedule instead)"
        )));
    }
    if r.trace_idle_gap_cap_seconds.is_some() {
        tracing::warn!(
            "--trace-idle-gap-cap-seconds applies to Weka traces, which are not read here; it \
             has no effect"
        );
    }
    Ok(())
}
