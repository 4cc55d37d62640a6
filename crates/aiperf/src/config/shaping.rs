//! How a phase's load is brought up and gated: the concurrency and rate ramps, the prefill
//! gate and the request-rate series, for the profiling phase and for the warmup (whose
//! settings fall back to the profiling ones).

use std::path::Path;

use serde_json::Value;

use super::plan::first;
use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::{PhaseShape, RatePoint};

/// The profiling phase's ramps, prefill gate and rate series.
pub(super) fn resolve_shape(args: &ProfileArgs) -> Result<PhaseShape, UsageError> {
    let a = &args.load;
    if a.prefill_concurrency.len() > 1 {
        return Err(UsageError::new(
            "--prefill-concurrency takes one value here: sweeping it is not offered; run once \
             per value",
        ));
    }
    let prefill_concurrency = first(&a.prefill_concurrency);
    check_prefill(args, "--prefill-concurrency", prefill_concurrency)?;
    let concurrency_ramp_secs =
        seconds("--concurrency-ramp-duration", a.concurrency_ramp_duration)?;
    let prefill_ramp_secs = seconds(
        "--prefill-concurrency-ramp-duration",
        a.prefill_concurrency_ramp_duration,
    )?;
    let rate_ramp_secs = seconds("--request-rate-ramp-duration", a.request_rate_ramp_duration)?;
    let rate_series = match &a.request_rate_series {
        Some(path) => Some(read_rate_series(path)?),
        None => None,
    };
    let user_centric = args.user_centric.user_centric_rate.is_some();
    if rate_series.is_some() {
        if !a.request_rate.is_empty() {
            return Err(UsageError::new(
                "--request-rate and --request-rate-series both set the rate; give one",
            ));
        }
        if user_centric {
            return Err(UsageError::new(
                "--request-rate-series does not apply to --user-centric-rate (its users keep \
                 one rate); drop one of them",
            ));
        }
        if a.fixed_schedule {
            return Err(UsageError::new(
                "--request-rate-series can only be used with rate-controlled scheduling, not \
                 --fixed-schedule",
            ));
        }
    }
    let has_rate = !a.request_rate.is_empty() || rate_series.is_some();
    if rate_ramp_secs.is_some() && !has_rate && !user_centric {
        return Err(UsageError::new(
            "--request-rate-ramp-duration can only be used with rate-controlled scheduling: add \
             --request-rate (or --request-rate-series, --user-centric-rate), or drop it",
        ));
    }
    if rate_ramp_secs.is_some() && user_centric {
        tracing::warn!(
            "--request-rate-ramp-duration: user-centric users keep their rate from the start \
             (as in the Python AIPerf); the ramp has no effect"
        );
    }
    if concurrency_ramp_secs.is_some() && a.concurrency.is_empty() {
        tracing::warn!(
            "--concurrency-ramp-duration has no effect without --concurrency (there is no \
             session concurrency to ramp)"
        );
    }
    if prefill_ramp_secs.is_some() && prefill_concurrency.is_none() {
        tracing::warn!(
            "--prefill-concurrency-ramp-duration has no effect without --prefill-concurrency"
        );
    }
    Ok(PhaseShape {
        concurrency_ramp_secs,
        prefill_concurrency,
        prefill_ramp_secs,
        rate_ramp_secs,
        rate_series,
    })
}

/// The warmup's ramps and prefill gate: its own flags, else the profiling phase's. A rate
/// ramp only applies when the warmup runs at a rate; the rate series never does.
pub(super) fn resolve_warmup_shape(
    args: &ProfileArgs,
    profiling: &PhaseShape,
    warmup_has_rate: bool,
) -> Result<PhaseShape, UsageError> {
    let w = &args.warmup;
    check_prefill(
        args,
        "--warmup-prefill-concurrency",
        w.warmup_prefill_concurrency,
    )?;
    if w.warmup_prefill_concurrency == Some(0) {
        return Err(UsageError::new(
            "--warmup-prefill-concurrency must be at least 1",
        ));
    }
    let own_rate_ramp = seconds(
        "--warmup-request-rate-ramp-duration",
        w.warmup_request_rate_ramp_duration,
    )?;
    if own_rate_ramp.is_some() && !warmup_has_rate {
        return Err(UsageError::new(
            "--warmup-request-rate-ramp-duration needs a warmup rate: add \
             --warmup-request-rate (or --request-rate), or drop it",
        ));
    }
    Ok(PhaseShape {
        concurrency_ramp_secs: seconds(
            "--warmup-concurrency-ramp-duration",
            w.warmup_concurrency_ramp_duration,
        )?
        .or(profiling.concurrency_ramp_secs),
        prefill_concurrency: w
            .warmup_prefill_concurrency
            .or(profiling.prefill_concurrency),
        prefill_ramp_secs: seconds(
            "--warmup-prefill-concurrency-ramp-duration",
            w.warmup_prefill_concurrency_ramp_duration,
        )?
        .or(profiling.prefill_ramp_secs),
        rate_ramp_secs: own_rate_ramp
            .or(profiling.rate_ramp_secs)
            .filter(|_| warmup_has_rate),
        rate_series: None,
    })
}

/// Whether warmup flags beyond the count and duration were given.
pub(super) fn warmup_shape_given(args: &ProfileArgs) -> Option<&'static str> {
    let w = &args.warmup;
    [
        (
            w.warmup_prefill_concurrency.is_some(),
            "--warmup-prefill-concurrency",
        ),
        (
            w.warmup_arrival_pattern.is_some(),
            "--warmup-arrival-pattern",
        ),
        (
            w.warmup_concurrency_ramp_duration.is_some(),
            "--warmup-concurrency-ramp-duration",
        ),
        (
            w.warmup_prefill_concurrency_ramp_duration.is_some(),
            "--warmup-prefill-concurrency-ramp-duration",
        ),
        (
            w.warmup_request_rate_ramp_duration.is_some(),
            "--warmup-request-rate-ramp-duration",
        ),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// A prefill gate needs streamed answers (the first token ends the prefill) and fits in the
/// session concurrency.
fn check_prefill(args: &ProfileArgs, flag: &str, value: Option<u32>) -> Result<(), UsageError> {
    let Some(n) = value else {
        return Ok(());
    };
    if !args.endpoint.streaming {
        return Err(UsageError::new(format!(
            "{flag} needs --streaming: a request leaves its prefill at its first streamed token"
        )));
    }
    let concurrency = if flag.starts_with("--warmup") {
        args.load
            .warmup_concurrency
            .or(first(&args.load.concurrency))
    } else {
        first(&args.load.concurrency)
    };
    if let Some(c) = concurrency
        && n > c
    {
        return Err(UsageError::new(format!(
            "{flag} {n} is more than the concurrency {c}: at most {c} requests are in flight \
             anyway; lower it to {c} or less"
        )));
    }
    Ok(())
}

/// A positive, finite number of seconds.
fn seconds(flag: &str, value: Option<f64>) -> Result<Option<f64>, UsageError> {
    match value {
        Some(s) if !(s.is_finite() && s > 0.0) => Err(UsageError::new(format!(
            "{flag} must be a positive number of seconds, got {s}"
        ))),
        other => Ok(other),
    }
}

/// `--request-rate-series`: `{"points": [...]}` or the array alone, each point
/// `{"time_s": ..., "qps": ...}` (`timeS` is taken too); at least two, times strictly
/// increasing.
pub(super) fn read_rate_series(path: &Path) -> Result<Vec<RatePoint>, UsageError> {
    let flag = "--request-rate-series";
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("{flag}: cannot read {}: {e}", path.display())))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| UsageError::new(format!("{flag}: {} is not JSON: {e}", path.display())))?;
    let points = match &doc {
        Value::Array(points) => points,
        Value::Object(o) if o.len() == 1 && o.contains_key("points") => match &o["points"] {
            Value::Array(points) => points,
            _ => {
                return Err(UsageError::new(format!(
                    "{flag}: `points` must be an array"
                )));
            }
        },
        _ => {
            return Err(UsageError::new(format!(
                "{flag}: expected {{\"points\": [{{\"time_s\": 0, \"qps\": 2}}, ...]}} or the \
                 array of points alone"
            )));
        }
    };
    let points = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            rate_point(p).map_err(|why| UsageError::new(format!("{flag}: point {i}: {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if points.len() < 2 {
        return Err(UsageError::new(format!(
            "{flag}: a series needs at least two points"
        )));
    }
    if points.windows(2).any(|w| w[1].time_s <= w[0].time_s) {
        return Err(UsageError::new(format!(
            "{flag}: the points' time_s must be strictly increasing"
        )));
    }
    Ok(points)
}

fn rate_point(p: &Value) -> Result<RatePoint, String> {
    let Value::Object(o) = p else {
        return Err("expected an object with time_s and qps".into());
    };
    if let Some(k) = o
        .keys()
        .find(|k| !matches!(k.as_str(), "time_s" | "timeS" | "qps"))
    {
        return Err(format!("unknown key {k:?} (a point has time_s and qps)"));
    }
    let number = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| o.get(*k))
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{} must be a number", keys[0]))
    };
    let time_s = number(&["time_s", "timeS"])?;
    let qps = number(&["qps"])?;
    if !(time_s.is_finite() && time_s >= 0.0) {
        return Err(format!("time_s must be zero or more, got {time_s}"));
    }
    if !(qps.is_finite() && qps > 0.0) {
        return Err(format!("qps must be positive, got {qps}"));
    }
    Ok(RatePoint { time_s, qps })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(text: &str) -> Result<Vec<RatePoint>, UsageError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.json");
        std::fs::write(&path, text).unwrap();
        read_rate_series(&path)
    }

    #[test]
    fn rate_series_files_in_both_shapes() {
        let a =
            series(r#"{"points": [{"time_s": 0, "qps": 1}, {"time_s": 10, "qps": 5.5}]}"#).unwrap();
        let b = series(r#"[{"timeS": 0, "qps": 1}, {"time_s": 10, "qps": 5.5}]"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[1].qps, 5.5);
    }

    #[test]
    fn bad_rate_series_name_what_is_wrong() {
        for (text, needle) in [
            (r#"[{"time_s": 0, "qps": 1}]"#, "at least two"),
            (
                r#"[{"time_s": 1, "qps": 1}, {"time_s": 1, "qps": 2}]"#,
                "strictly increasing",
            ),
            (
                r#"[{"time_s": 0, "qps": 0}, {"time_s": 1, "qps": 2}]"#,
                "qps must be positive",
            ),
            (
                r#"[{"time_s": 0, "rate": 1}, {"time_s": 1, "qps": 2}]"#,
                "unknown key",
            ),
            (r#"{"points": [], "extra": 1}"#, "expected"),
            ("not json", "not JSON"),
        ] {
            let e = series(text).unwrap_err().0;
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
