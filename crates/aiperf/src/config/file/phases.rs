//! `phases:`: at most one warmup phase and exactly one profiling phase, each with its load
//! type (concurrency, poisson, gamma, constant, user_centric, fixed_schedule) and fields.

use super::keys::{join, unknown_key};
use super::map::{Mapper, Result, entries, number};
use super::yaml::{Node, Value};
use super::{Files, Problem};

const COMMON: [&str; 23] = [
    "name",
    "kind",
    "type",
    "exclude_from_results",
    "requests",
    "duration",
    "sessions",
    "concurrency",
    "concurrency_ramp",
    "prefill_concurrency",
    "prefill_ramp",
    "grace_period",
    "cancellation",
    "sla",
    "seamless",
    "timing_mode",
    "failed_request_threshold",
    "trajectory_start_min_ratio",
    "trajectory_start_max_ratio",
    "burst_phase_starts",
    "system_idle_gap_cap_seconds",
    "agentic_cache_warmup_duration",
    "agentic_warmup_grace_period",
];

const TYPES: [&str; 6] = [
    "concurrency",
    "poisson",
    "gamma",
    "constant",
    "user_centric",
    "fixed_schedule",
];

/// The keys a phase of type `kind` has beyond [`COMMON`].
fn type_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "poisson" | "constant" => &["rate", "rate_ramp", "rate_series"],
        "gamma" => &["rate", "rate_ramp", "rate_series", "smoothness"],
        "user_centric" => &["rate", "rate_ramp", "users"],
        "fixed_schedule" => &["auto_offset", "start_offset", "end_offset"],
        _ => &[],
    }
}

pub(super) fn phases(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let Some(items) = node.as_seq() else {
        return Err(m.refuse(node, path, "expected a list of phases"));
    };
    let mut warmup: Option<(usize, &Node)> = None;
    let mut profiling: Option<(usize, &Node)> = None;
    for (i, phase) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        entries(phase, &p)?;
        let name = phase
            .get("name")
            .map(|n| m.text(n, &join(&p, "name")))
            .transpose()?
            .unwrap_or_else(|| format!("phase {i}"));
        let kind = match phase.get("kind") {
            Some(k) => m.text(k, &join(&p, "kind"))?,
            None => {
                return Err(Problem::at(
                    phase.line,
                    format!(
                        "{p}: kind is required for a phase named {name:?} (kind: warmup or kind: \
                         profiling)"
                    ),
                ));
            }
        };
        let slot = match kind.as_str() {
            "warmup" => &mut warmup,
            "profiling" => &mut profiling,
            _ => {
                return Err(Problem::at(
                    phase.get("kind").map_or(phase.line, |k| k.line),
                    format!("{p}.kind: {kind:?} is not a phase kind (warmup, profiling)"),
                ));
            }
        };
        if slot.is_some() {
            return Err(m.refuse(
                phase,
                &p,
                &format!(
                    "a second {kind} phase ({name:?}); a run here has at most one warmup and one \
                     profiling phase: split the workflow into separate files (or use a sweep)"
                ),
            ));
        }
        *slot = Some((i, phase));
    }
    let Some((pi, prof)) = profiling else {
        return Err(Problem::at(
            node.line,
            format!(
                "{path}: no profiling phase (a phase named profiling, or with kind: profiling)"
            ),
        ));
    };
    if let Some((wi, w)) = warmup {
        if wi > pi {
            return Err(m.refuse(
                w,
                &format!("{path}[{wi}]"),
                "a warmup after the profiling phase; the warmup runs first",
            ));
        }
        warmup_phase(m, w, &format!("{path}[{wi}]"))?;
    }
    profiling_phase(m, prof, &format!("{path}[{pi}]"))
}

/// The phase's type, checked; and its keys, each known for that type.
fn checked_type(m: &Mapper, phase: &Node, path: &str) -> Result<String> {
    let Some(t) = phase.get("type") else {
        return Err(Problem::at(
            phase.line,
            format!("{path}.type: required ({})", TYPES.join(", ")),
        ));
    };
    let kind = m.text(t, &join(path, "type"))?;
    if !TYPES.contains(&kind.as_str()) {
        return Err(Problem::at(
            t.line,
            format!(
                "{path}.type: {kind:?} is not a phase type ({})",
                TYPES.join(", ")
            ),
        ));
    }
    let known: Vec<&str> = COMMON.iter().chain(type_keys(&kind)).copied().collect();
    for (key, value) in entries(phase, path)? {
        let snake = key.snake();
        if snake.starts_with("adaptive") {
            adaptive(m, value, &join(path, &key.name))?;
        } else if !known.contains(&snake.as_str()) {
            return Err(unknown_key(key, path, &known));
        }
    }
    Ok(kind)
}

/// Adaptive scale is a feature of the Python AIPerf's phases only: off is fine, on is not.
fn adaptive(m: &Mapper, value: &Node, path: &str) -> Result<()> {
    let enabled = match &value.value {
        Value::Bool(b) => *b,
        Value::Map(_) => value
            .get("enabled")
            .is_none_or(|e| !matches!(e.value, Value::Bool(false))),
        _ => false,
    };
    if enabled {
        return Err(m.refuse(
            value,
            path,
            "adaptive scale (ramping a phase until its SLAs fail) is not offered; search for \
             the boundary with --search-recipe or a sweep",
        ));
    }
    Ok(())
}

/// Fields every phase type reads the same way, for the profiling phase.
fn profiling_phase(m: &mut Mapper, phase: &Node, path: &str) -> Result<()> {
    let kind = checked_type(m, phase, path)?;
    stop_condition(phase, path, &kind)?;
    match kind.as_str() {
        "poisson" | "gamma" | "constant" => m.flag("arrival-pattern", kind.clone(), phase, path),
        "fixed_schedule" => m.push("fixed-schedule", Vec::new(), phase, path),
        _ => {}
    }
    for (key, value) in entries(phase, path)? {
        let p = join(path, &key.name);
        let snake = key.snake();
        match snake.as_str() {
            "name" | "kind" | "type" => {}
            "exclude_from_results" => {
                if m.boolean(value, &p)? {
                    return Err(m.refuse(
                        value,
                        &p,
                        "the profiling phase is always in the results",
                    ));
                }
            }
            "requests" => m.int_flag("request-count", value, &p)?,
            "duration" => m.seconds_flag("benchmark-duration", value, &p)?,
            "sessions" => m.int_flag("num-sessions", value, &p)?,
            "concurrency" => m.int_flag("concurrency", value, &p)?,
            "prefill_concurrency" => m.int_flag("prefill-concurrency", value, &p)?,
            "grace_period" => m.seconds_flag("benchmark-grace-period", value, &p)?,
            "concurrency_ramp" => ramp(m, value, &p, "concurrency-ramp-duration")?,
            "prefill_ramp" => ramp(m, value, &p, "prefill-concurrency-ramp-duration")?,
            "rate_ramp" => ramp(m, value, &p, "request-rate-ramp-duration")?,
            "rate" if kind == "user_centric" => m.num_flag("user-centric-rate", value, &p)?,
            "rate" => m.num_flag("request-rate", value, &p)?,
            "users" => m.int_flag("num-users", value, &p)?,
            "smoothness" => m.num_flag("arrival-smoothness", value, &p)?,
            "rate_series" => rate_series(m, value, &p)?,
            "auto_offset" => m.switch("fixed-schedule-auto-offset", value, &p)?,
            "start_offset" => m.int_flag("fixed-schedule-start-offset", value, &p)?,
            "end_offset" => m.int_flag("fixed-schedule-end-offset", value, &p)?,
            "cancellation" => cancellation(m, value, &p)?,
            "failed_request_threshold"
            | "trajectory_start_min_ratio"
            | "trajectory_start_max_ratio" => {
                m.num_flag(&snake.replace('_', "-"), value, &p)?;
            }
            "system_idle_gap_cap_seconds"
            | "agentic_cache_warmup_duration"
            | "agentic_warmup_grace_period" => {
                m.seconds_flag(&snake.replace('_', "-"), value, &p)?;
            }
            "burst_phase_starts" => m.switch("burst-phase-starts", value, &p)?,
            _ => not_offered(m, &snake, value, &p)?,
        }
    }
    Ok(())
}

/// Phase keys with no counterpart here (`sla`, `seamless`, `timing_mode`): fine when unset.
fn not_offered(m: &Mapper, key: &str, value: &Node, path: &str) -> Result<()> {
    let set = match &value.value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Seq(s) => !s.is_empty(),
        _ => true,
    };
    if !set || key.starts_with("adaptive") {
        return Ok(());
    }
    let why = match key {
        "sla" => "per-phase SLA filters drive adaptive scale, which is not offered",
        "seamless" => "phases run one after the other; the warmup's last requests are awaited",
        "timing_mode" => "the timing strategy follows from the phase type",
        _ => "no counterpart here",
    };
    Err(m.refuse(value, path, why))
}

/// Requests, duration or sessions: how a phase ends (a fixed schedule ends with its trace).
fn stop_condition(phase: &Node, path: &str, kind: &str) -> Result<()> {
    let has = |k: &str| {
        phase
            .get(k)
            .is_some_and(|v| !matches!(v.value, Value::Null))
    };
    if kind != "fixed_schedule" && !has("requests") && !has("duration") && !has("sessions") {
        return Err(Problem::at(
            phase.line,
            format!("{path}: at least one of requests, duration or sessions is required"),
        ));
    }
    if has("grace_period") && !has("duration") {
        return Err(Problem::at(
            phase.get("grace_period").map_or(phase.line, |g| g.line),
            format!("{path}.grace_period: needs duration (it is the wait after the duration ends)"),
        ));
    }
    Ok(())
}

fn warmup_phase(m: &mut Mapper, phase: &Node, path: &str) -> Result<()> {
    let kind = checked_type(m, phase, path)?;
    stop_condition(phase, path, &kind)?;
    match kind.as_str() {
        "poisson" | "gamma" | "constant" => {
            m.flag("warmup-arrival-pattern", kind.clone(), phase, path);
        }
        "user_centric" | "fixed_schedule" => {
            return Err(m.refuse(
                phase.get("type").unwrap_or(phase),
                &join(path, "type"),
                &format!(
                    "a {kind} warmup is not offered; warm up at a concurrency or a rate \
                     (concurrency, poisson, gamma, constant)"
                ),
            ));
        }
        _ => {}
    }
    for (key, value) in entries(phase, path)? {
        let p = join(path, &key.name);
        let snake = key.snake();
        match snake.as_str() {
            "name" | "kind" | "type" => {}
            "exclude_from_results" => {
                if !m.boolean(value, &p)? {
                    return Err(m.refuse(value, &p, "a warmup is always left out of the results"));
                }
            }
            "requests" => m.int_flag("warmup-request-count", value, &p)?,
            "duration" => m.seconds_flag("warmup-duration", value, &p)?,
            "sessions" => m.int_flag("num-warmup-sessions", value, &p)?,
            "concurrency" => m.int_flag("warmup-concurrency", value, &p)?,
            "rate" => m.num_flag("warmup-request-rate", value, &p)?,
            "prefill_concurrency" => m.int_flag("warmup-prefill-concurrency", value, &p)?,
            "grace_period" => m.seconds_flag("warmup-grace-period", value, &p)?,
            "concurrency_ramp" => ramp(m, value, &p, "warmup-concurrency-ramp-duration")?,
            "prefill_ramp" => ramp(m, value, &p, "warmup-prefill-concurrency-ramp-duration")?,
            "rate_ramp" => ramp(m, value, &p, "warmup-request-rate-ramp-duration")?,
            "smoothness" | "rate_series" | "cancellation" | "failed_request_threshold" => {
                return Err(m.refuse(
                    value,
                    &p,
                    "the warmup takes its count or duration, concurrency, rate, arrival \
                     pattern, prefill concurrency, ramps and grace period here; this one \
                     applies to the profiling phase only",
                ));
            }
            "trajectory_start_min_ratio"
            | "trajectory_start_max_ratio"
            | "burst_phase_starts"
            | "system_idle_gap_cap_seconds"
            | "agentic_cache_warmup_duration"
            | "agentic_warmup_grace_period" => {
                return Err(m.refuse(
                    value,
                    &p,
                    "agentic replay settings belong on the profiling phase",
                ));
            }
            _ => not_offered(m, &snake, value, &p)?,
        }
    }
    Ok(())
}

/// A ramp: seconds (`30`, `30s`) or `{duration, strategy: linear}`.
fn ramp(m: &mut Mapper, node: &Node, path: &str, flag: &str) -> Result<()> {
    if node.as_map().is_none() {
        return m.seconds_flag(flag, node, path);
    }
    let mut seconds = None;
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "duration" => seconds = Some(m.seconds(value, &p)?),
            "strategy" => {
                if m.text(value, &p)? != "linear" {
                    return Err(m.refuse(
                        value,
                        &p,
                        "ramps here are linear (one step at a time, evenly spaced)",
                    ));
                }
            }
            _ => return Err(unknown_key(key, path, &["duration", "strategy"])),
        }
    }
    let Some(seconds) = seconds else {
        return Err(Problem::at(node.line, format!("{path}.duration: required")));
    };
    m.flag(flag, number(seconds), node, path);
    Ok(())
}

fn cancellation(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "rate" => m.num_flag("request-cancellation-rate", value, &p)?,
            "delay" => m.seconds_flag("request-cancellation-delay", value, &p)?,
            _ => return Err(unknown_key(key, path, &["rate", "delay"])),
        }
    }
    Ok(())
}

/// `rate_series: {path: FILE}` or `{points: [{time_s, qps}, ...]}` (written to a file).
fn rate_series(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    if let Some(file) = node.get("path") {
        return m.text_flag("request-rate-series", file, &join(path, "path"));
    }
    let Some(points) = node.get("points").and_then(Node::as_seq) else {
        return Err(m.refuse(
            node,
            path,
            "expected path: FILE or points: [{time_s, qps}, ...]",
        ));
    };
    let mut json = Vec::new();
    for (i, point) in points.iter().enumerate() {
        let p = format!("{path}.points[{i}]");
        let get = |k: &str, alt: &str| -> Result<f64> {
            let v = point
                .get(k)
                .or_else(|| point.get(alt))
                .ok_or_else(|| Problem::at(point.line, format!("{p}.{k}: required")))?;
            m.num(v, &join(&p, k))
        };
        json.push(
            serde_json::json!({"time_s": get("time_s", "timeS")?, "qps": get("qps", "qps")?}),
        );
    }
    let text = serde_json::json!({ "points": json }).to_string();
    let dir = std::env::temp_dir().join("aiperf-inline-records");
    let file = dir.join(format!(
        "rate-series-{:016x}.json",
        super::dataset::fnv(&text)
    ));
    if m.files == Files::Write {
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&file, &text))
            .map_err(|e| {
                Problem::at(
                    node.line,
                    format!("{path}: cannot write {}: {e}", file.display()),
                )
            })?;
    }
    m.flag(
        "request-rate-series",
        file.display().to_string(),
        node,
        path,
    );
    Ok(())
}
