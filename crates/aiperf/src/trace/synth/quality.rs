//! `quality.json` (the drawn distributions against the config's targets) and `comparison.txt`
//! (the same as a shareable table), with the Python AIPerf's fields, rounding and layout.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::Serialize;

use super::config::SessionConfig;
use super::sessions::{EndReason, Session};
use crate::trace::numeric;

/// Count, mean, deviation and percentiles of a distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileStats {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub median: f64,
    pub p05: f64,
    pub p25: f64,
    pub p75: f64,
    pub p95: f64,
    pub p99: f64,
}

impl PercentileStats {
    /// The figures of `values`, rounded to `digits` decimals when given (all zero for none).
    pub fn of(values: &[f64], digits: Option<usize>) -> Self {
        if values.is_empty() {
            return Self {
                count: 0,
                mean: 0.0,
                std: 0.0,
                median: 0.0,
                p05: 0.0,
                p25: 0.0,
                p75: 0.0,
                p95: 0.0,
                p99: 0.0,
            };
        }
        let r = |v: f64| digits.map_or(v, |d| numeric::round_to(v, d));
        let sorted = numeric::sorted(values);
        let p = |q: f64| r(numeric::percentile(&sorted, q));
        Self {
            count: values.len(),
            mean: r(numeric::mean(values)),
            std: r(numeric::std(values)),
            median: r(numeric::median(&sorted)),
            p05: p(5.0),
            p25: p(25.0),
            p75: p(75.0),
            p95: p(95.0),
            p99: p(99.0),
        }
    }
}

/// One drawn distribution against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityMetric {
    pub target_mean: Option<f64>,
    pub target_median: Option<f64>,
    pub observed: PercentileStats,
    pub pct_error_mean: Option<f64>,
    pub pct_error_median: Option<f64>,
}

impl QualityMetric {
    fn of(values: &[f64], target_mean: Option<f64>, target_median: Option<f64>) -> Self {
        let observed = PercentileStats::of(values, Some(2));
        let error = |target: Option<f64>, seen: f64| {
            target.map(|t| {
                let e = if t == 0.0 {
                    0.0
                } else {
                    (seen - t).abs() / t * 100.0
                };
                numeric::round_to(e, 2)
            })
        };
        Self {
            pct_error_mean: error(target_mean, observed.mean),
            pct_error_median: error(target_median, observed.median),
            target_mean,
            target_median,
            observed,
        }
    }
}

/// How the sessions ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionEndStats {
    pub total_sessions: usize,
    pub forced_retires: usize,
    pub probabilistic_resets: usize,
    pub target_turn_completions: usize,
    pub restart_splits: usize,
    pub retire_fraction: f64,
    pub reset_fraction: f64,
    pub target_turn_fraction: f64,
    pub restart_split_fraction: f64,
    /// The last turn's prompt over the context limit, per session.
    pub final_context_utilization: PercentileStats,
}

/// A config value: an integer or a float, written as it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Float(f64),
}

/// `quality.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    pub config_summary: IndexMap<&'static str, Number>,
    pub observed_vs_target: IndexMap<&'static str, QualityMetric>,
    pub session_stats: PercentileStats,
    pub session_end_stats: SessionEndStats,
}

/// The config's main parameters, flat.
fn config_summary(c: &SessionConfig) -> IndexMap<&'static str, Number> {
    use Number::{Float, Int};
    let cache = &c.cache;
    let fixed = (cache.layer1_tokens + cache.layer1_5_tokens) as f64;
    let delay = &c.inter_turn_delay;
    let mut s = IndexMap::new();
    s.insert("initial_context_mean", Float(fixed + cache.layer2.mean));
    s.insert("initial_context_median", Float(fixed + cache.layer2.median));
    s.insert("layer1_tokens", Int(cache.layer1_tokens));
    s.insert("layer1_5_tokens", Int(cache.layer1_5_tokens));
    s.insert("layer2_mean", Float(cache.layer2.mean));
    s.insert("layer2_median", Float(cache.layer2.median));
    s.insert("num_groups", Int(cache.layer1_5_groups.num_groups));
    s.insert("zipf_alpha", Float(cache.layer1_5_groups.zipf_alpha));
    s.insert(
        "new_tokens_per_turn_mean",
        Float(c.new_tokens_per_turn.dist.mean),
    );
    s.insert(
        "new_tokens_per_turn_median",
        Float(c.new_tokens_per_turn.dist.median),
    );
    s.insert("generation_length_mean", Float(c.generation_length.mean));
    s.insert(
        "generation_length_median",
        Float(c.generation_length.median),
    );
    s.insert("max_prompt_tokens", Int(c.max_prompt_tokens));
    s.insert("block_size", Int(c.block_size));
    s.insert(
        "inter_turn_delay_agentic_fraction",
        Float(delay.agentic_fraction),
    );
    s.insert(
        "inter_turn_delay_agentic_mean_ms",
        Float(delay.agentic_delay.mean),
    );
    s.insert(
        "inter_turn_delay_human_mean_ms",
        Float(delay.human_delay.mean),
    );
    s.insert("turn_mode_enabled", Int(u64::from(c.turns.is_some())));
    if let Some(reset) = &c.reset {
        s.insert("reset_base_probability", Float(reset.base_probability));
        s.insert("reset_context_scaling", Float(reset.context_scaling));
    }
    if let Some(t) = &c.turns {
        s.insert("turns_mean", Int(t.mean));
        s.insert("turns_median", Int(t.median));
        s.insert("turns_min", Int(t.min));
        s.insert("turns_max", Int(t.max));
        s.insert("turns_allow_truncation", Int(u64::from(t.allow_truncation)));
        if let Some(a) = t.max_session_attempts {
            s.insert("turns_max_session_attempts", Int(a));
        }
    }
    s
}

/// The quality report of `sessions` drawn from `config`.
pub fn quality_report(sessions: &[Session], config: &SessionConfig) -> QualityReport {
    let (mut initial, mut new_tokens, mut outputs, mut delays) = (vec![], vec![], vec![], vec![]);
    let mut turns_per_session = Vec::with_capacity(sessions.len());
    let mut utilization = Vec::with_capacity(sessions.len());
    let mut ends = [0usize; 4];
    for s in sessions {
        turns_per_session.push(s.turns.len() as f64);
        ends[s.end as usize] += 1;
        if let Some(last) = s.turns.last() {
            utilization.push(last.input_length as f64 / config.max_prompt_tokens as f64);
        }
        for t in &s.turns {
            if t.index == 0 {
                initial.push(t.input_length as f64);
            } else {
                new_tokens.push(t.new_tokens as f64);
                delays.push(t.delay_ms);
            }
            outputs.push(t.output_length as f64);
        }
    }
    let cache = &config.cache;
    let fixed = (cache.layer1_tokens + cache.layer1_5_tokens) as f64;
    let mut ovt = IndexMap::new();
    if !initial.is_empty() {
        let m = QualityMetric::of(
            &initial,
            Some(fixed + cache.layer2.mean),
            Some(fixed + cache.layer2.median),
        );
        ovt.insert("initial_context", m);
    }
    if !outputs.is_empty() {
        let g = &config.generation_length;
        ovt.insert(
            "generation_length",
            QualityMetric::of(&outputs, Some(g.mean), Some(g.median)),
        );
    }
    if !new_tokens.is_empty() {
        let n = &config.new_tokens_per_turn.dist;
        ovt.insert(
            "new_tokens_per_turn",
            QualityMetric::of(&new_tokens, Some(n.mean), Some(n.median)),
        );
    }
    if !delays.is_empty() {
        ovt.insert(
            "inter_turn_delay_ms",
            QualityMetric::of(&delays, None, None),
        );
    }
    if !turns_per_session.is_empty() {
        let t = config.turns.as_ref();
        ovt.insert(
            "turns_per_session",
            QualityMetric::of(
                &turns_per_session,
                t.map(|t| t.mean as f64),
                t.map(|t| t.median as f64),
            ),
        );
    }
    let or_zero = |v: Vec<f64>| if v.is_empty() { vec![0.0] } else { v };
    let total = sessions.len();
    let fraction = |n: usize| numeric::round_to(n as f64 / total.max(1) as f64, 4);
    let [retires, resets, splits, targets] = [
        EndReason::ForcedRetire,
        EndReason::ProbabilisticReset,
        EndReason::RestartSplit,
        EndReason::TargetTurnCount,
    ]
    .map(|e| ends[e as usize]);
    QualityReport {
        config_summary: config_summary(config),
        observed_vs_target: ovt,
        session_stats: PercentileStats::of(&or_zero(turns_per_session), Some(2)),
        session_end_stats: SessionEndStats {
            total_sessions: total,
            forced_retires: retires,
            probabilistic_resets: resets,
            target_turn_completions: targets,
            restart_splits: splits,
            retire_fraction: fraction(retires),
            reset_fraction: fraction(resets),
            target_turn_fraction: fraction(targets),
            restart_split_fraction: fraction(splits),
            final_context_utilization: PercentileStats::of(&or_zero(utilization), Some(2)),
        },
    }
}

/// `value` with thousands separators and `decimals` decimals.
pub fn grouped(value: f64, decimals: usize) -> String {
    let s = format!("{:.decimals$}", value.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, format!(".{f}")),
        None => (s.as_str(), String::new()),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if value < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    format!("{sign}{out}{frac}")
}

/// Estimated throughput of the server the session durations assume, tokens per second.
pub const PREFILL_TPS: f64 = 20_000.0;
pub const DECODE_TPS: f64 = 60.0;

/// `comparison.txt`: the targets against the drawn dataset; `duration_min` the estimated
/// session durations' mean and median (minutes).
pub fn comparison_text(q: &QualityReport, duration_min: Option<(f64, f64)>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let ovt = &q.observed_vs_target;
    let ends = &q.session_end_stats;
    let turns = ovt.get("generation_length").map_or(0, |g| g.observed.count);
    let block = match q.config_summary.get("block_size") {
        Some(Number::Int(b)) => *b,
        _ => 0,
    };
    let max_prompt = match q.config_summary.get("max_prompt_tokens") {
        Some(Number::Int(b)) => *b,
        _ => 0,
    };
    let _ = writeln!(
        w,
        "Agentic Code Session Profile: Target vs Synthesized Dataset"
    );
    let _ = writeln!(w, "{}\n", "=".repeat(60));
    let _ = writeln!(
        w,
        "{} sessions | {} turns | block_size={block}\n",
        grouped(ends.total_sessions as f64, 0),
        grouped(turns as f64, 0)
    );
    let _ = writeln!(
        w,
        "{:40} {:>12} {:>12} {:>8}",
        "", "Target", "Dataset", "Error"
    );
    let _ = writeln!(w, "{}", "-".repeat(76));
    let metric = |w: &mut String, label: &str, key: &str| {
        let _ = writeln!(w, "{label}");
        let m = ovt.get(key);
        let obs = |f: fn(&PercentileStats) -> f64| m.map(|m| f(&m.observed));
        row(
            w,
            "mean",
            m.and_then(|m| m.target_mean),
            obs(|o| o.mean),
            m.and_then(|m| m.pct_error_mean),
        );
        row(
            w,
            "median",
            m.and_then(|m| m.target_median),
            obs(|o| o.median),
            m.and_then(|m| m.pct_error_median),
        );
    };
    metric(w, "Initial Context (tokens)", "initial_context");
    w.push('\n');
    metric(w, "New Tokens Per Turn", "new_tokens_per_turn");
    w.push('\n');
    metric(w, "Generation Length (tokens)", "generation_length");
    let gen_obs = ovt.get("generation_length").map(|g| &g.observed);
    row(w, "p05", Some(30.0), gen_obs.map(|o| o.p05), None);
    row(w, "p99", Some(3_750.0), gen_obs.map(|o| o.p99), None);
    let mp = grouped(max_prompt as f64, 0);
    let _ = writeln!(
        w,
        "\nPrompt\n  {:38}{mp:>12}{mp:>12}\n",
        "max_prompt_tokens"
    );
    let _ = writeln!(w, "Additional Dataset Statistics\n{}", "-".repeat(76));
    let _ = writeln!(w, "Turns Per Session");
    let s = &q.session_stats;
    for (label, v) in [
        ("mean", s.mean),
        ("median", s.median),
        ("p05", s.p05),
        ("p25", s.p25),
        ("p75", s.p75),
        ("p95", s.p95),
        ("p99", s.p99),
    ] {
        let _ = writeln!(w, "  {label:38}{:>12}{v:>12.1}", "-");
    }
    w.push('\n');
    delay_block(w, q);
    if let Some((mean, median)) = duration_min {
        let _ = writeln!(
            w,
            "Session Duration (estimated @ {} prefill tok/s, {} decode tok/s)",
            grouped(PREFILL_TPS, 0),
            grouped(DECODE_TPS, 0)
        );
        for (label, v) in [("mean", mean), ("median", median)] {
            let _ = writeln!(w, "  {label:38}{:>12}{v:>12.1} min", "-");
        }
        w.push('\n');
    }
    let _ = writeln!(w, "Session Endings");
    for (label, n) in [
        ("forced retires (hit context limit)", ends.forced_retires),
        ("probabilistic resets", ends.probabilistic_resets),
        ("restart splits", ends.restart_splits),
    ] {
        let _ = writeln!(w, "  {label:38}{:>12}{n:>12}", "-");
    }
    out
}

fn delay_block(w: &mut String, q: &QualityReport) {
    let Some(delay) = q.observed_vs_target.get("inter_turn_delay_ms") else {
        return;
    };
    let _ = writeln!(w, "Inter-Turn Delay (ms)");
    let d = &delay.observed;
    for (label, v) in [
        ("mean", d.mean),
        ("median", d.median),
        ("p05", d.p05),
        ("p95", d.p95),
    ] {
        let _ = writeln!(w, "  {label:38}{:>12}{:>12}", "-", grouped(v, 0));
    }
    let get = |k: &str| match q.config_summary.get(k) {
        Some(Number::Float(v)) => *v,
        Some(Number::Int(v)) => *v as f64,
        None => 0.0,
    };
    let af = get("inter_turn_delay_agentic_fraction");
    let am = get("inter_turn_delay_agentic_mean_ms") / 1000.0;
    let hm = get("inter_turn_delay_human_mean_ms") / 1000.0;
    let _ = writeln!(
        w,
        "  ({:.0}% agentic ~{am:.0}s, {:.0}% human ~{hm:.0}s)\n",
        af * 100.0,
        (1.0 - af) * 100.0
    );
}

/// One comparison row: the target (no decimals), the dataset's value (one decimal) and the
/// error, signed by which side of the target the dataset falls.
fn row(w: &mut String, label: &str, target: Option<f64>, seen: Option<f64>, error: Option<f64>) {
    let t = target.map_or("-".to_owned(), |v| grouped(v, 0));
    let s = seen.map_or("-".to_owned(), |v| grouped(v, 1));
    let e = error.map_or(String::new(), |e| {
        let plus = match (seen, target) {
            (Some(s), Some(t)) => e.abs() == 0.0 || s >= t,
            _ => true,
        };
        format!("  {}{:.1}%", if plus { "+" } else { "-" }, e.abs())
    });
    let _ = writeln!(w, "  {label:38}{t:>12}{s:>12}{e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_numbers_round_half_to_even() {
        assert_eq!(grouped(62_000.0, 0), "62,000");
        assert_eq!(grouped(2_733.04, 1), "2,733.0");
        assert_eq!(grouped(1_234_567.25, 1), "1,234,567.2");
        assert_eq!(grouped(-0.04, 1), "0.0");
        assert_eq!(grouped(-1_500.0, 0), "-1,500");
    }

    #[test]
    fn percentile_stats_round_to_two_decimals() {
        let s = PercentileStats::of(&[1.0, 2.0, 4.0], Some(2));
        assert_eq!((s.count, s.mean, s.median), (3, 2.33, 2.0));
        assert_eq!(s.p05, 1.1);
        assert_eq!(PercentileStats::of(&[], Some(2)).count, 0);
    }
}
