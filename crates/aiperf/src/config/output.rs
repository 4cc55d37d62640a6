//! What a run reports: goodput targets (and which of them the run can measure).

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::metrics::GOODPUT_METRICS;
use crate::settings::*;

/// `--goodput "time_to_first_token:200 inter_token_latency:20"` (each flag value may hold
/// several space-separated targets, and the flag may repeat).
pub fn parse_goodput(values: &[String]) -> Result<Vec<GoodputTarget>, UsageError> {
    let mut targets: Vec<GoodputTarget> = Vec::new();
    for item in values.iter().flat_map(|v| v.split_whitespace()) {
        let Some((tag, value)) = item.split_once(':') else {
            return Err(UsageError::new(format!(
                "--goodput: {item:?} is not tag:value (e.g. --goodput \"time_to_first_token:200\")"
            )));
        };
        if !GOODPUT_METRICS.iter().any(|(t, _)| *t == tag) {
            let known: Vec<&str> = GOODPUT_METRICS.iter().map(|(t, _)| *t).collect();
            return Err(UsageError::new(format!(
                "--goodput: unknown metric {tag:?}; choose from {}",
                known.join(", ")
            )));
        }
        let threshold: f64 = value.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).ok_or_else(|| {
            UsageError::new(format!(
                "--goodput {tag}: {value:?} is not a non-negative number (in the metric's display unit, e.g. ms)"
            ))
        })?;
        if targets.iter().any(|t| t.tag == tag) {
            return Err(UsageError::new(format!("--goodput: {tag} is given twice")));
        }
        targets.push(GoodputTarget {
            tag: tag.to_owned(),
            threshold,
        });
    }
    Ok(targets)
}

/// `--goodput` targets, a recipe's replacing the user's on the same metric, keeping only those
/// the run measures.
pub(super) fn resolve_goodput(
    args: &ProfileArgs,
    recipe: Option<&[GoodputTarget]>,
    endpoint: &EndpointConfig,
) -> Result<Vec<GoodputTarget>, UsageError> {
    let mut goodput = parse_goodput(&args.output.goodput)?;
    for g in recipe.unwrap_or_default() {
        goodput.retain(|t| t.tag != g.tag);
        goodput.push(g.clone());
    }
    // A target on a metric this run does not measure would fail every request; like the
    // reference tool, ignore it, but say so.
    let generates = super::endpoint::endpoint_of(endpoint).generates();
    goodput.retain(|t| {
        let measured = match t.tag.as_str() {
            "request_latency" => true,
            "e2e_output_token_throughput" => generates,
            _ => endpoint.streaming,
        };
        if !measured {
            tracing::warn!(
                "--goodput {}: not measured in this run ({}); the target is ignored",
                t.tag,
                if generates {
                    "it needs --streaming"
                } else {
                    "the endpoint generates no tokens"
                }
            );
        }
        measured
    });
    Ok(goodput)
}

/// `--slice-duration SECONDS`: a positive, finite window length.
pub(super) fn slice_duration(value: Option<f64>) -> Result<Option<f64>, UsageError> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(UsageError::new(format!(
            "--slice-duration {v}: give the length of a time slice in seconds, greater than 0 \
             (e.g. --slice-duration 10)"
        ))),
        v => Ok(v),
    }
}

/// `--profile-export-prefix`: the value as the export names take it (an absolute path reduced
/// to its file name, so each run still writes into its own artifact directory; `./` and
/// doubled slashes dropped, as a path is read), checked against the files it would replace.
pub(super) fn export_prefix(args: &ProfileArgs) -> Result<Option<String>, UsageError> {
    let Some(given) = args.output.profile_export_prefix.as_deref() else {
        return Ok(None);
    };
    let parts: Vec<&str> = given
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let prefix = if given.starts_with('/') {
        parts.last().copied().unwrap_or("").to_owned()
    } else {
        parts.join("/")
    };
    let base = crate::export::prefix_base(&prefix);
    let file = base.rsplit('/').next().unwrap_or(base);
    if file.is_empty() || file == "." || file == ".." {
        return Err(UsageError::new(format!(
            "--profile-export-prefix {given:?}: give a base file name for the exports, e.g. \
             --profile-export-prefix run_a (files go into --artifact-dir)"
        )));
    }
    let summary = format!("{base}.json");
    let taken = [
        (crate::export::OUTPUTS_JSON, args.output.export_outputs_json),
        (crate::export::INPUTS_JSON, true),
        (crate::export::RUN_CONFIG_JSON, true),
    ];
    if let Some((name, _)) = taken.iter().find(|(name, on)| *on && summary == *name) {
        let why = if *name == crate::export::OUTPUTS_JSON {
            "--export-outputs-json"
        } else {
            "the run's own description"
        };
        return Err(UsageError::new(format!(
            "--profile-export-prefix resolves to '{base}', which produces '{summary}', \
             colliding with {name} ({why}); use a different prefix"
        )));
    }
    Ok(Some(prefix))
}
