//! The metric catalogue (tags, headers and units as the reference tool's) and the summary of
//! a run: distributions of per-request metrics and the run-level figures derived from them.

use aiperf_stats::Summary;

use crate::settings::GoodputTarget;

/// Per-request metrics, in the order their values are stored in [`Values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Rec {
    TimeToFirstToken,
    TimeToSecondToken,
    TimeToFirstOutputToken,
    RequestLatency,
    DecodeDuration,
    InterTokenLatency,
    OutputTokenThroughputPerUser,
    PrefillThroughputPerUser,
    E2eOutputTokenThroughput,
    InputSequenceLength,
    OutputTokenCount,
    ReasoningTokenCount,
    OutputSequenceLength,
    UsagePromptTokens,
    UsageCompletionTokens,
    UsageTotalTokens,
    UsageReasoningTokens,
    UsagePromptTokensDiffPct,
    UsageCompletionTokensDiffPct,
    UsageReasoningTokensDiffPct,
    RequestedOsl,
    OslMismatchDiffPct,
    ScheduleLag,
    ScheduledTimeToFirstToken,
    ScheduledRequestLatency,
    ErrorIsl,
}

pub const N_REC: usize = Rec::ErrorIsl as usize + 1;

/// Per-request values; `NaN` means "not applicable to this request".
pub type Values = [f64; N_REC];

/// Static facts about one metric.
#[derive(Debug)]
pub struct MetricDef {
    pub tag: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    /// Whether the value is an integer count (printed without decimals per request).
    pub integer: bool,
    /// Larger values are better (for goodput targets).
    pub larger_is_better: bool,
    /// Failed requests count as +inf in its error-adjusted percentiles.
    pub adjusted: bool,
}

const fn def(tag: &'static str, header: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        tag,
        header,
        unit,
        integer: false,
        larger_is_better: false,
        adjusted: false,
    }
}

const fn latency(tag: &'static str, header: &'static str) -> MetricDef {
    MetricDef {
        adjusted: true,
        ..def(tag, header, "ms")
    }
}

const fn rate(tag: &'static str, header: &'static str, unit: &'static str) -> MetricDef {
    MetricDef {
        larger_is_better: true,
        ..def(tag, header, unit)
    }
}

const fn tokens(tag: &'static str, header: &'static str) -> MetricDef {
    MetricDef {
        integer: true,
        ..def(tag, header, "tokens")
    }
}

/// Definitions of the per-request metrics, indexed by [`Rec`].
pub static RECORD_METRICS: [MetricDef; N_REC] = [
    latency("time_to_first_token", "Time to First Token"),
    def("time_to_second_token", "Time to Second Token", "ms"),
    latency("time_to_first_output_token", "Time to First Output Token"),
    latency("request_latency", "Request Latency"),
    def("decode_duration", "Decode Duration", "ms"),
    latency("inter_token_latency", "Inter Token Latency"),
    rate(
        "output_token_throughput_per_user",
        "Output Token Throughput Per User",
        "tokens/sec/user",
    ),
    rate(
        "prefill_throughput_per_user",
        "Prefill Throughput Per User",
        "tokens/sec/user",
    ),
    rate(
        "e2e_output_token_throughput",
        "E2E Output Token Throughput",
        "tokens/sec/user",
    ),
    tokens("input_sequence_length", "Input Sequence Length"),
    tokens("output_token_count", "Output Token Count"),
    tokens("reasoning_token_count", "Reasoning Token Count"),
    tokens("output_sequence_length", "Output Sequence Length"),
    tokens("usage_prompt_tokens", "Usage Prompt Tokens"),
    tokens("usage_completion_tokens", "Usage Completion Tokens"),
    tokens("usage_total_tokens", "Usage Total Tokens"),
    tokens("usage_reasoning_tokens", "Usage Reasoning Tokens"),
    def("usage_prompt_tokens_diff_pct", "Usage Prompt Diff %", "%"),
    def(
        "usage_completion_tokens_diff_pct",
        "Usage Completion Diff %",
        "%",
    ),
    def(
        "usage_reasoning_tokens_diff_pct",
        "Usage Reasoning Diff %",
        "%",
    ),
    tokens("requested_osl", "Requested Output Sequence Length"),
    def("osl_mismatch_diff_pct", "OSL Mismatch Diff %", "%"),
    def("schedule_lag", "Schedule Lag", "ms"),
    latency(
        "scheduled_time_to_first_token",
        "Scheduled Time to First Token",
    ),
    latency("scheduled_request_latency", "Scheduled Request Latency"),
    tokens("error_isl", "Error Input Sequence Length"),
];

/// Metrics a `--goodput` target may name, and whether larger is better.
pub const GOODPUT_METRICS: &[(&str, bool)] = &[
    ("time_to_first_token", false),
    ("time_to_second_token", false),
    ("time_to_first_output_token", false),
    ("inter_token_latency", false),
    ("request_latency", false),
    ("decode_duration", false),
    ("output_token_throughput_per_user", true),
    ("prefill_throughput_per_user", true),
    ("e2e_output_token_throughput", true),
];

pub fn record_index(tag: &str) -> Option<usize> {
    RECORD_METRICS.iter().position(|d| d.tag == tag)
}

/// Distribution statistics of a per-request metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Dist {
    pub summary: Summary,
    /// Error-adjusted percentiles (p50, p90, p95, p99) counting each failed request as
    /// +inf; `None` where failures reach the percentile's rank. Empty when nothing failed.
    pub adjusted: Vec<(&'static str, Option<f64>)>,
}

/// One reported metric: a distribution or a single value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Dist(Dist),
    Scalar(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub tag: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    pub value: Value,
}

impl MetricResult {
    /// The mean (distributions) or the value (scalars).
    pub fn avg(&self) -> f64 {
        match &self.value {
            Value::Dist(d) => d.summary.mean,
            Value::Scalar(v) => *v,
        }
    }
}

/// The inputs of a summary: per-request values of the profiling phase.
#[derive(Debug, Default)]
pub struct Columns {
    /// One row per successful request.
    pub ok: Vec<Values>,
    /// Inter-chunk gaps of every successful streaming request, pooled.
    pub inter_chunk: Vec<f64>,
    /// Input lengths of failed requests.
    pub error_isl: Vec<f64>,
    pub cancelled: u64,
    /// Earliest send and latest response, monotonic ns (successful requests; all requests
    /// when none succeeded).
    pub first_start_ns: Option<u64>,
    pub last_end_ns: Option<u64>,
    pub any_first_start_ns: Option<u64>,
    pub any_last_end_ns: Option<u64>,
    /// Latest send of any request (for the achieved sending rate).
    pub any_last_start_ns: Option<u64>,
    /// Earliest and latest intended send (the schedule's own rate).
    pub first_scheduled_ns: Option<u64>,
    pub last_scheduled_ns: Option<u64>,
}

impl Columns {
    pub fn errors(&self) -> usize {
        self.error_isl.len()
    }

    /// Accounts for one request's times (any outcome): its send, intended send and end.
    pub fn observe(&mut self, start_ns: u64, scheduled_ns: u64, end_ns: u64) {
        let min = |a: Option<u64>, b: u64| Some(a.map_or(b, |x| x.min(b)));
        let max = |a: Option<u64>, b: u64| Some(a.map_or(b, |x| x.max(b)));
        self.any_first_start_ns = min(self.any_first_start_ns, start_ns);
        self.any_last_start_ns = max(self.any_last_start_ns, start_ns);
        self.first_scheduled_ns = min(self.first_scheduled_ns, scheduled_ns);
        self.last_scheduled_ns = max(self.last_scheduled_ns, scheduled_ns);
        self.any_last_end_ns = max(self.any_last_end_ns, end_ns);
    }

    /// Adds a successful request (after [`observe`](Self::observe)).
    pub fn add_ok(&mut self, start_ns: u64, last_content_ns: u64, values: Values, gaps: &[f64]) {
        self.first_start_ns = Some(self.first_start_ns.map_or(start_ns, |s| s.min(start_ns)));
        self.last_end_ns = Some(
            self.last_end_ns
                .map_or(last_content_ns, |e| e.max(last_content_ns)),
        );
        self.ok.push(values);
        self.inter_chunk.extend_from_slice(gaps);
    }

    /// Adds a failed request (after [`observe`](Self::observe)).
    pub fn add_error(&mut self, input_tokens: f64, cancelled: bool) {
        self.error_isl.push(input_tokens);
        if cancelled {
            self.cancelled += 1;
        }
    }

    /// Benchmark duration in seconds: last response end − first request start.
    pub fn duration_secs(&self) -> Option<f64> {
        let (start, end) = match (self.first_start_ns, self.last_end_ns) {
            (Some(s), Some(e)) => (s, e),
            _ => (self.any_first_start_ns?, self.any_last_end_ns?),
        };
        (end > start).then(|| (end - start) as f64 / 1e9)
    }
}

/// Whether a successful request meets every goodput target.
pub fn is_good(values: &Values, targets: &[GoodputTarget]) -> bool {
    targets.iter().all(|t| {
        let Some(i) = record_index(&t.tag) else {
            return false;
        };
        let v = values[i];
        if v.is_nan() {
            return false;
        }
        if RECORD_METRICS[i].larger_is_better {
            v >= t.threshold
        } else {
            v <= t.threshold
        }
    })
}

/// Error-adjusted percentiles: the successful values plus one +inf per failure, nearest rank.
fn adjusted(sorted_ok: &[f64], failures: usize) -> Vec<(&'static str, Option<f64>)> {
    let n = sorted_ok.len() + failures;
    [
        ("adj_p50", 50.0),
        ("adj_p90", 90.0),
        ("adj_p95", 95.0),
        ("adj_p99", 99.0),
    ]
    .into_iter()
    .map(|(name, p)| {
        // Nearest rank: the ceil(p/100 · n)-th smallest value (1-based).
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
        (name, sorted_ok.get(rank - 1).copied())
    })
    .collect()
}

fn dist(values: &[f64], failures: usize, adjust: bool) -> Option<Dist> {
    let summary = Summary::of(values)?;
    let adjusted = if adjust && failures > 0 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        adjusted(&sorted, failures)
    } else {
        Vec::new()
    };
    Some(Dist { summary, adjusted })
}

/// Summarizes the profiling phase in the reference tool's order of keys.
pub fn summarize(cols: &Columns, goodput: &[GoodputTarget]) -> Vec<MetricResult> {
    let ok = cols.ok.len();
    let errors = cols.errors();
    let column = |i: Rec| -> Vec<f64> {
        cols.ok
            .iter()
            .map(|v| v[i as usize])
            .filter(|v| !v.is_nan())
            .collect()
    };
    let sum = |i: Rec| column(i).iter().sum::<f64>();
    let duration = cols.duration_secs();
    let per_sec = |x: f64| duration.filter(|d| *d > 0.0).map(|d| x / d);

    let mut out: Vec<MetricResult> = Vec::new();
    let scalar = |out: &mut Vec<MetricResult>, tag, header, unit, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            out.push(MetricResult {
                tag,
                header,
                unit,
                value: Value::Scalar(v),
            });
        }
    };
    let distribution = |out: &mut Vec<MetricResult>, i: Rec| {
        let d = &RECORD_METRICS[i as usize];
        if let Some(dist) = dist(&column(i), errors, d.adjusted) {
            out.push(MetricResult {
                tag: d.tag,
                header: d.header,
                unit: d.unit,
                value: Value::Dist(dist),
            });
        }
    };

    let total_osl = sum(Rec::OutputSequenceLength);
    let total_isl = sum(Rec::InputSequenceLength);
    // Embeddings generate nothing: no output totals or rates for them.
    let generated = ok == 0 || !column(Rec::OutputSequenceLength).is_empty();
    let if_generated = |x: f64| generated.then_some(x);
    let good = if goodput.is_empty() {
        None
    } else {
        Some(cols.ok.iter().filter(|v| is_good(v, goodput)).count() as f64)
    };

    // The reference tool's declared order first.
    scalar(
        &mut out,
        "request_throughput",
        "Request Throughput",
        "requests/sec",
        per_sec(ok as f64),
    );
    distribution(&mut out, Rec::RequestLatency);
    scalar(
        &mut out,
        "request_count",
        "Request Count",
        "requests",
        Some(ok as f64),
    );
    distribution(&mut out, Rec::TimeToFirstToken);
    distribution(&mut out, Rec::TimeToSecondToken);
    distribution(&mut out, Rec::InterTokenLatency);
    scalar(
        &mut out,
        "output_token_throughput",
        "Output Token Throughput",
        "tokens/sec",
        per_sec(total_osl).filter(|_| generated),
    );
    distribution(&mut out, Rec::OutputTokenThroughputPerUser);
    distribution(&mut out, Rec::OutputSequenceLength);
    distribution(&mut out, Rec::InputSequenceLength);
    scalar(
        &mut out,
        "goodput",
        "Goodput",
        "requests/sec",
        good.and_then(per_sec),
    );
    scalar(
        &mut out,
        "good_request_count",
        "Good Request Count",
        "requests",
        good,
    );
    distribution(&mut out, Rec::OutputTokenCount);
    distribution(&mut out, Rec::ReasoningTokenCount);
    for r in [
        Rec::UsagePromptTokensDiffPct,
        Rec::UsageCompletionTokensDiffPct,
        Rec::UsageReasoningTokensDiffPct,
        Rec::RequestedOsl,
        Rec::OslMismatchDiffPct,
    ] {
        distribution(&mut out, r);
    }
    let (usage_compared, usage_discrepancies) = usage_discrepancies(cols);
    scalar(
        &mut out,
        "usage_discrepancy_count",
        "Usage Discrepancy Count",
        "requests",
        (usage_compared > 0).then_some(usage_discrepancies as f64),
    );
    let (osl_compared, osl_mismatches) = osl_mismatches(cols);
    scalar(
        &mut out,
        "osl_mismatch_count",
        "OSL Mismatch Count",
        "requests",
        (osl_compared > 0).then_some(osl_mismatches as f64),
    );
    if let Some(i) = inter_chunk(cols, errors) {
        out.push(i);
    }
    scalar(
        &mut out,
        "total_output_tokens",
        "Total Output Tokens",
        "tokens",
        if_generated(sum(Rec::OutputTokenCount)),
    );
    let reasoning = sum(Rec::ReasoningTokenCount);
    scalar(
        &mut out,
        "total_reasoning_tokens",
        "Total Reasoning Tokens",
        "tokens",
        (!column(Rec::ReasoningTokenCount).is_empty()).then_some(reasoning),
    );
    scalar(
        &mut out,
        "benchmark_duration",
        "Benchmark Duration",
        "sec",
        duration,
    );
    scalar(
        &mut out,
        "total_isl",
        "Total Input Sequence Length",
        "tokens",
        Some(total_isl),
    );
    scalar(
        &mut out,
        "total_osl",
        "Total Output Sequence Length",
        "tokens",
        if_generated(total_osl),
    );
    scalar(
        &mut out,
        "error_request_count",
        "Error Request Count",
        "requests",
        (errors > 0).then_some(errors as f64),
    );
    if let Some(d) = dist(&cols.error_isl, 0, false) {
        out.push(MetricResult {
            tag: "error_isl",
            header: "Error Input Sequence Length",
            unit: "tokens",
            value: Value::Dist(d),
        });
        scalar(
            &mut out,
            "total_error_isl",
            "Total Error Input Sequence Length",
            "tokens",
            Some(cols.error_isl.iter().sum()),
        );
    }

    // Then the rest.
    for i in [
        Rec::TimeToFirstOutputToken,
        Rec::DecodeDuration,
        Rec::PrefillThroughputPerUser,
        Rec::E2eOutputTokenThroughput,
        Rec::UsagePromptTokens,
        Rec::UsageCompletionTokens,
        Rec::UsageTotalTokens,
        Rec::UsageReasoningTokens,
        Rec::ScheduleLag,
        Rec::ScheduledTimeToFirstToken,
        Rec::ScheduledRequestLatency,
    ] {
        distribution(&mut out, i);
    }
    let completed = ok + errors;
    scalar(
        &mut out,
        "request_error_rate",
        "Request Error Rate",
        "%",
        (completed > 0).then(|| 100.0 * errors as f64 / completed as f64),
    );
    scalar(
        &mut out,
        "completed_request_count",
        "Completed Requests (Success + Error)",
        "requests",
        Some(completed as f64),
    );
    scalar(
        &mut out,
        "cancelled_request_count",
        "Cancelled Request Count",
        "requests",
        (cols.cancelled > 0).then_some(cols.cancelled as f64),
    );
    for (tag, header, i) in [
        (
            "total_usage_prompt_tokens",
            "Total Usage Prompt Tokens",
            Rec::UsagePromptTokens,
        ),
        (
            "total_usage_completion_tokens",
            "Total Usage Completion Tokens",
            Rec::UsageCompletionTokens,
        ),
        (
            "total_usage_total_tokens",
            "Total Usage Total Tokens",
            Rec::UsageTotalTokens,
        ),
    ] {
        let c = column(i);
        scalar(
            &mut out,
            tag,
            header,
            "tokens",
            (!c.is_empty()).then(|| c.iter().sum()),
        );
    }
    scalar(
        &mut out,
        "total_token_throughput",
        "Total Token Throughput",
        "tokens/sec",
        per_sec(total_isl + total_osl),
    );
    scalar(
        &mut out,
        "input_token_throughput",
        "Input Token Throughput",
        "tokens/sec",
        per_sec(total_isl),
    );
    scalar(
        &mut out,
        "good_request_fraction",
        "Good Request Fraction",
        "ratio",
        good.filter(|_| completed > 0).map(|g| g / completed as f64),
    );
    out
}

fn inter_chunk(cols: &Columns, errors: usize) -> Option<MetricResult> {
    let _ = errors;
    Some(MetricResult {
        tag: "inter_chunk_latency",
        header: "Inter Chunk Latency",
        unit: "ms",
        value: Value::Dist(dist(&cols.inter_chunk, 0, false)?),
    })
}

/// A replay whose p99 send lag (anchored at its least-late request) exceeds this, in ms, could
/// not keep up with its trace.
pub const REPLAY_DEGRADED_MS: f64 = 500.0;

/// The reference tool's names for how faithfully a fixed-schedule replay kept its trace's
/// schedule: `replay_sched_lag_p50/p90/p99` (ms) are the percentiles of each request's send
/// lag minus the least-late request's (a constant delay of everything does not count), and
/// `replay_sched_degraded` is 1 when p99 passed [`REPLAY_DEGRADED_MS`].
pub fn replay_lag(cols: &Columns) -> Vec<MetricResult> {
    let mut lags: Vec<f64> = cols
        .ok
        .iter()
        .map(|v| v[Rec::ScheduleLag as usize])
        .filter(|v| !v.is_nan())
        .collect();
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

/// A server token count more than this far (percent) from the client's is a discrepancy.
pub const USAGE_DIFF_THRESHOLD_PCT: f64 = 10.0;

/// An output length off the requested one by more than this share (percent), or by more than
/// [`OSL_MISMATCH_MAX_TOKENS`], whichever is tighter, is a mismatch.
pub const OSL_MISMATCH_PCT: f64 = 5.0;
pub const OSL_MISMATCH_MAX_TOKENS: f64 = 50.0;

/// (requests whose token counts could be compared with the server's, how many disagreed).
pub fn usage_discrepancies(cols: &Columns) -> (usize, usize) {
    let diffs = [
        Rec::UsagePromptTokensDiffPct,
        Rec::UsageCompletionTokensDiffPct,
        Rec::UsageReasoningTokensDiffPct,
    ];
    let compared = cols
        .ok
        .iter()
        .filter(|v| diffs.iter().any(|r| !v[*r as usize].is_nan()))
        .count();
    let off = cols
        .ok
        .iter()
        .filter(|v| {
            diffs
                .iter()
                .any(|r| v[*r as usize] > USAGE_DIFF_THRESHOLD_PCT)
        })
        .count();
    (compared, off)
}

/// (requests that asked for an output length, how many got a different one).
pub fn osl_mismatches(cols: &Columns) -> (usize, usize) {
    let check = osl_check(cols);
    (check.compared, check.off)
}

/// Output lengths against the requested ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OslCheck {
    /// Requests that asked for an output length.
    pub compared: usize,
    /// Of those, how many got a different one (as the run counts tokens).
    pub off: usize,
    /// Of those off, how many the server itself says it generated at the requested length
    /// (`usage.completion_tokens`): only the client's tokenizer disagrees.
    pub server_exact: usize,
}

pub fn osl_check(cols: &Columns) -> OslCheck {
    let mut check = OslCheck::default();
    let beyond = |requested: f64, actual: f64| {
        let allowed = (requested * OSL_MISMATCH_PCT / 100.0).min(OSL_MISMATCH_MAX_TOKENS);
        (actual - requested).abs() > allowed
    };
    for v in &cols.ok {
        let (requested, actual) = (
            v[Rec::RequestedOsl as usize],
            v[Rec::OutputSequenceLength as usize],
        );
        if requested.is_nan() || actual.is_nan() {
            continue;
        }
        check.compared += 1;
        if beyond(requested, actual) {
            check.off += 1;
            let server = v[Rec::UsageCompletionTokens as usize];
            if !server.is_nan() && !beyond(requested, server) {
                check.server_exact += 1;
            }
        }
    }
    check
}

/// Rows of the console table, in display order.
pub const CONSOLE_ORDER: &[&str] = &[
    "time_to_first_token",
    "time_to_second_token",
    "time_to_first_output_token",
    "request_latency",
    "decode_duration",
    "inter_token_latency",
    "output_token_throughput_per_user",
    "e2e_output_token_throughput",
    "output_sequence_length",
    "input_sequence_length",
    "schedule_lag",
    "scheduled_time_to_first_token",
    "scheduled_request_latency",
    "output_token_throughput",
    // Shown only when nothing is generated (embeddings).
    "input_token_throughput",
    "request_throughput",
    "goodput",
    "good_request_count",
    "completed_request_count",
    "request_count",
    "error_request_count",
    "request_error_rate",
    "cancelled_request_count",
];

/// The statistics of a run's metrics that are aggregated across runs.
pub const STATS: [&str; 14] = [
    "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "sum",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ttft: f64, latency: f64, osl: f64) -> Values {
        let mut v = [f64::NAN; N_REC];
        v[Rec::TimeToFirstToken as usize] = ttft;
        v[Rec::RequestLatency as usize] = latency;
        v[Rec::OutputSequenceLength as usize] = osl;
        v[Rec::InputSequenceLength as usize] = 10.0;
        v
    }

    fn find<'a>(results: &'a [MetricResult], tag: &str) -> &'a MetricResult {
        results
            .iter()
            .find(|r| r.tag == tag)
            .unwrap_or_else(|| panic!("{tag} missing"))
    }

    #[test]
    fn derived_figures_follow_the_reference_formulas() {
        let cols = Columns {
            ok: vec![row(10.0, 100.0, 5.0), row(20.0, 200.0, 7.0)],
            inter_chunk: vec![1.0, 2.0],
            error_isl: vec![10.0],
            cancelled: 0,
            first_start_ns: Some(0),
            last_end_ns: Some(2_000_000_000),
            any_first_start_ns: Some(0),
            any_last_end_ns: Some(2_000_000_000),
            any_last_start_ns: Some(1_000_000_000),
            first_scheduled_ns: None,
            last_scheduled_ns: None,
        };
        let goodput = vec![GoodputTarget {
            tag: "time_to_first_token".into(),
            threshold: 15.0,
        }];
        let r = summarize(&cols, &goodput);
        assert_eq!(find(&r, "benchmark_duration").avg(), 2.0);
        assert_eq!(find(&r, "request_throughput").avg(), 1.0);
        assert_eq!(find(&r, "output_token_throughput").avg(), 6.0);
        assert_eq!(find(&r, "total_token_throughput").avg(), 16.0);
        assert_eq!(find(&r, "request_count").avg(), 2.0);
        assert_eq!(find(&r, "error_request_count").avg(), 1.0);
        assert!((find(&r, "request_error_rate").avg() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(find(&r, "good_request_count").avg(), 1.0);
        assert_eq!(find(&r, "goodput").avg(), 0.5);
        assert!((find(&r, "good_request_fraction").avg() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(find(&r, "time_to_first_token").avg(), 15.0);
        assert_eq!(r[0].tag, "request_throughput");
        assert_eq!(r[1].tag, "request_latency");
    }

    #[test]
    fn adjusted_percentiles_count_failures_as_infinite() {
        let sorted: Vec<f64> = (1..=8).map(f64::from).collect();
        let adj = adjusted(&sorted, 2);
        // n = 10: p50 → rank 5 → 5.0; p90 → rank 9 → failure (+inf).
        assert_eq!(adj[0], ("adj_p50", Some(5.0)));
        assert_eq!(adj[1], ("adj_p90", None));
        assert_eq!(adj[3], ("adj_p99", None));
        let none = dist(&sorted, 0, true).unwrap();
        assert!(none.adjusted.is_empty());
    }

    #[test]
    fn goodput_direction_depends_on_the_metric() {
        let mut v = row(10.0, 100.0, 5.0);
        v[Rec::OutputTokenThroughputPerUser as usize] = 50.0;
        let target = |tag: &str, threshold| {
            vec![GoodputTarget {
                tag: tag.into(),
                threshold,
            }]
        };
        assert!(is_good(&v, &target("time_to_first_token", 10.0)));
        assert!(!is_good(&v, &target("time_to_first_token", 9.9)));
        assert!(is_good(
            &v,
            &target("output_token_throughput_per_user", 40.0)
        ));
        assert!(!is_good(
            &v,
            &target("output_token_throughput_per_user", 60.0)
        ));
        assert!(
            !is_good(&v, &target("inter_token_latency", 60.0)),
            "missing metric is not good"
        );
    }
}
