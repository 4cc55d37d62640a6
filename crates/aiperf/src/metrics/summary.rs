//! The summary of a run: distributions of per-request metrics and the run-level figures
//! derived from them. [`summarize`] lists them in the reference tool's order of keys and
//! leaves the arithmetic to [`Run`] and to the goodput and token-check modules.

use super::catalogue::{
    BENCHMARK_DURATION, CANCELLED_REQUEST_COUNT, COMPLETED_REQUEST_COUNT, CREDIT_TO_START_LATENCY,
    EFFECTIVE_LATENCY, ERROR_REQUEST_COUNT, GOOD_REQUEST_COUNT, GOOD_REQUEST_FRACTION, GOODPUT,
    HTTP_TRACE_METRICS, INPUT_TOKEN_THROUGHPUT, INTER_CHUNK_LATENCY, MetricDef, OSL_MISMATCH_COUNT,
    OUTPUT_TOKEN_THROUGHPUT, RECORD_METRICS, REQUEST_COUNT, REQUEST_ERROR_RATE, REQUEST_THROUGHPUT,
    Rec, TOTAL_ERROR_ISL, TOTAL_ISL, TOTAL_OSL, TOTAL_OUTPUT_TOKENS, TOTAL_REASONING_TOKENS,
    TOTAL_TOKEN_THROUGHPUT, TOTAL_USAGE_COMPLETION_TOKENS, TOTAL_USAGE_PROMPT_TOKENS,
    TOTAL_USAGE_TOTAL_TOKENS, USAGE_DISCREPANCY_COUNT,
};
use super::columns::{Columns, Span};
use super::distribution::{Dist, dist};
use super::goodput::good_requests;
use super::result::{MetricResult, Value};
use super::sweepline::sweep_metrics;
use super::token_checks::{osl_mismatch_count, usage_discrepancy_count};
use crate::settings::GoodputTarget;

/// Summarizes the profiling phase in the reference tool's order of keys.
pub fn summarize(cols: &Columns, goodput: &[GoodputTarget]) -> Vec<MetricResult> {
    let mut out = request_figures(cols, goodput, None);

    // How long requests waited to be sent once released, and the latency a user who released
    // them perceived (coordinated-omission aware); then the time-weighted figures.
    let since_credit = |to: fn(&Span) -> u64| -> Vec<f64> {
        (cols.spans.iter())
            .map(|s| to(s).saturating_sub(s.credit_ns) as f64 / 1e6)
            .collect()
    };
    out.distribution(
        &CREDIT_TO_START_LATENCY,
        dist(&since_credit(|s| s.start_ns), 0, false),
    );
    out.distribution(
        &EFFECTIVE_LATENCY,
        dist(&since_credit(|s| s.end_ns), 0, false),
    );
    if let Some((start, end)) = cols.window_ns() {
        let window = [(start as f64, end as f64)];
        out.0.extend(
            sweep_metrics(&cols.spans, &cols.inter_chunk, &window)
                .into_iter()
                .flatten(),
        );
    }
    out.0
}

/// The figures of the requests in `cols`; rates are per second of `rate_secs` when given (a
/// time slice), of the benchmark duration otherwise.
pub(super) fn request_figures(
    cols: &Columns,
    goodput: &[GoodputTarget],
    rate_secs: Option<f64>,
) -> Figures {
    let mut run = Run::new(cols, goodput);
    run.rate_secs = rate_secs.or(run.duration);
    let mut out = Figures::default();

    // The reference tool's declared order first.
    out.scalar(&REQUEST_THROUGHPUT, run.per_sec(run.ok as f64));
    out.records(
        &run,
        &[
            Rec::RequestLatency,
            Rec::VideoInferenceTime,
            Rec::VideoPeakMemory,
        ],
    );
    out.scalar(&REQUEST_COUNT, Some(run.ok as f64));
    out.records(
        &run,
        &[
            Rec::TimeToFirstToken,
            Rec::TimeToSecondToken,
            Rec::InterTokenLatency,
        ],
    );
    out.scalar(&OUTPUT_TOKEN_THROUGHPUT, run.output_token_throughput());
    out.records(
        &run,
        &[
            Rec::OutputTokenThroughputPerUser,
            Rec::OutputSequenceLength,
            Rec::InputSequenceLength,
        ],
    );
    out.scalar(&GOODPUT, run.good.and_then(|good| run.per_sec(good)));
    out.scalar(&GOOD_REQUEST_COUNT, run.good);
    out.records(
        &run,
        &[
            Rec::OutputTokenCount,
            Rec::ReasoningTokenCount,
            Rec::UsagePromptTokensDiffPct,
            Rec::UsageCompletionTokensDiffPct,
            Rec::UsageReasoningTokensDiffPct,
            Rec::RequestedOsl,
            Rec::OslMismatchDiffPct,
        ],
    );
    out.scalar(&USAGE_DISCREPANCY_COUNT, usage_discrepancy_count(cols));
    out.scalar(&OSL_MISMATCH_COUNT, osl_mismatch_count(cols));
    out.distribution(&INTER_CHUNK_LATENCY, dist(&cols.inter_chunk, 0, false));
    out.scalar(
        &TOTAL_OUTPUT_TOKENS,
        run.if_generated(run.sum(Rec::OutputTokenCount)),
    );
    out.scalar(&TOTAL_REASONING_TOKENS, run.total(Rec::ReasoningTokenCount));
    out.scalar(&BENCHMARK_DURATION, run.duration);
    out.scalar(&TOTAL_ISL, run.if_tokenized(run.total_isl));
    out.scalar(&TOTAL_OSL, run.if_generated(run.total_osl));
    out.scalar(&ERROR_REQUEST_COUNT, run.error_count());
    if let Some(d) = dist(&cols.error_isl, 0, false) {
        out.distribution(&RECORD_METRICS[Rec::ErrorIsl as usize], Some(d));
        out.scalar(&TOTAL_ERROR_ISL, Some(cols.error_isl.iter().sum()));
    }

    // Then the rest.
    out.records(
        &run,
        &[
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
            Rec::NumImages,
            Rec::ImageThroughput,
            Rec::ImageLatency,
            Rec::AudioDuration,
            Rec::Rtfx,
        ],
    );
    out.records(&run, &HTTP_TRACE_METRICS);
    out.scalar(&REQUEST_ERROR_RATE, run.error_rate());
    out.scalar(&COMPLETED_REQUEST_COUNT, Some(run.completed as f64));
    out.scalar(&CANCELLED_REQUEST_COUNT, run.cancelled_count());
    out.scalar(
        &TOTAL_USAGE_PROMPT_TOKENS,
        run.total(Rec::UsagePromptTokens),
    );
    out.scalar(
        &TOTAL_USAGE_COMPLETION_TOKENS,
        run.total(Rec::UsageCompletionTokens),
    );
    out.scalar(&TOTAL_USAGE_TOTAL_TOKENS, run.total(Rec::UsageTotalTokens));
    out.scalar(
        &TOTAL_TOKEN_THROUGHPUT,
        run.per_sec(run.total_isl + run.total_osl)
            .filter(|_| run.tokenized || run.generated),
    );
    out.scalar(
        &INPUT_TOKEN_THROUGHPUT,
        run.per_sec(run.total_isl).filter(|_| run.tokenized),
    );
    out.scalar(&GOOD_REQUEST_FRACTION, run.good_fraction());
    spec_decode_figures(&mut out, &run);
    out
}

/// Speculative decoding, when the server reported it: each request's acceptance, then the
/// run's totals and its acceptance weighted by steps and by draft tokens.
fn spec_decode_figures(out: &mut Figures, run: &Run<'_>) {
    use super::catalogue::{
        SPEC_DECODE_OVERALL_DRAFT_ACCEPTANCE_RATE, SPEC_DECODE_TOKEN_WEIGHTED_ACCEPTANCE_LENGTH,
        TOTAL_ACCEPTED_DRAFT_TOKENS, TOTAL_DRAFT_TOKENS, TOTAL_SPEC_DECODE_STEPS,
    };
    out.records(
        run,
        &[
            Rec::SpecDecodeAcceptanceLength,
            Rec::SpecDecodeDraftAcceptanceRate,
            Rec::SpecDecodeAcceptedPerVerified,
            Rec::SpecDecodeSteps,
            Rec::SpecDecodeAcceptedDraftTokens,
            Rec::SpecDecodeDraftTokens,
        ],
    );
    let steps = run.total(Rec::SpecDecodeSteps);
    let accepted = run.total(Rec::SpecDecodeAcceptedDraftTokens);
    let drafted = run.total(Rec::SpecDecodeDraftTokens);
    out.scalar(&TOTAL_SPEC_DECODE_STEPS, steps);
    out.scalar(&TOTAL_ACCEPTED_DRAFT_TOKENS, accepted);
    out.scalar(&TOTAL_DRAFT_TOKENS, drafted);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    out.scalar(
        &SPEC_DECODE_TOKEN_WEIGHTED_ACCEPTANCE_LENGTH,
        ratio(accepted, steps).map(|r| 1.0 + r),
    );
    out.scalar(
        &SPEC_DECODE_OVERALL_DRAFT_ACCEPTANCE_RATE,
        ratio(accepted, drafted).map(|r| r * 100.0),
    );
}

/// The summary as it is built: figures in the order they are added, leaving out those that
/// do not apply to the run.
#[derive(Default)]
pub(super) struct Figures(pub(super) Vec<MetricResult>);

impl Figures {
    /// Adds a single value; a missing or non-finite one is left out.
    fn scalar(&mut self, def: &MetricDef, value: Option<f64>) {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.push(def, Value::Scalar(v));
        }
    }

    /// Adds a distribution; a missing one (no values) is left out.
    fn distribution(&mut self, def: &MetricDef, dist: Option<Dist>) {
        if let Some(d) = dist {
            self.push(def, Value::Dist(d));
        }
    }

    /// Adds the distributions of per-request metrics, error-adjusted where the metric says so.
    fn records(&mut self, run: &Run<'_>, recs: &[Rec]) {
        for &rec in recs {
            let def = &RECORD_METRICS[rec as usize];
            self.distribution(
                def,
                dist(&run.cols.values_of(rec), run.errors, def.adjusted),
            );
        }
    }

    fn push(&mut self, def: &MetricDef, value: Value) {
        self.0.push(MetricResult {
            tag: def.tag,
            header: def.header,
            unit: def.unit,
            value,
        });
    }
}

/// What the run-level figures are computed from: the columns, and the counts, totals and
/// duration that several figures share.
struct Run<'a> {
    cols: &'a Columns,
    ok: usize,
    errors: usize,
    /// Successful plus failed requests.
    completed: usize,
    duration: Option<f64>,
    /// What rates are per second of: the benchmark duration, or a time slice's length.
    rate_secs: Option<f64>,
    total_isl: f64,
    total_osl: f64,
    /// Embeddings generate nothing: no output totals or rates for them.
    generated: bool,
    /// Some endpoint types send no text (audio, images alone): no input totals or rates.
    tokenized: bool,
    /// Requests that met every goodput target; `None` without targets.
    good: Option<f64>,
}

impl<'a> Run<'a> {
    fn new(cols: &'a Columns, goodput: &[GoodputTarget]) -> Self {
        let ok = cols.ok.len();
        let errors = cols.errors();
        let osl = cols.values_of(Rec::OutputSequenceLength);
        let isl = cols.values_of(Rec::InputSequenceLength);
        Run {
            cols,
            ok,
            errors,
            completed: ok + errors,
            duration: cols.duration_secs(),
            rate_secs: cols.duration_secs(),
            total_isl: isl.iter().sum(),
            total_osl: osl.iter().sum(),
            generated: ok == 0 || !osl.is_empty(),
            tokenized: ok == 0 || !isl.is_empty(),
            good: good_requests(cols, goodput),
        }
    }

    fn sum(&self, rec: Rec) -> f64 {
        self.cols.values_of(rec).iter().sum()
    }

    /// A per-request metric's sum; `None` where no request has it.
    fn total(&self, rec: Rec) -> Option<f64> {
        let values = self.cols.values_of(rec);
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// A rate over the benchmark duration; `None` without one.
    fn per_sec(&self, x: f64) -> Option<f64> {
        self.rate_secs.filter(|d| *d > 0.0).map(|d| x / d)
    }

    /// An input figure, left out where the run's requests carry no tokenized text.
    fn if_tokenized(&self, x: f64) -> Option<f64> {
        self.tokenized.then_some(x)
    }

    /// An output figure, left out where the run generates nothing.
    fn if_generated(&self, x: f64) -> Option<f64> {
        self.generated.then_some(x)
    }

    fn output_token_throughput(&self) -> Option<f64> {
        self.per_sec(self.total_osl).filter(|_| self.generated)
    }

    fn error_count(&self) -> Option<f64> {
        (self.errors > 0).then_some(self.errors as f64)
    }

    fn error_rate(&self) -> Option<f64> {
        (self.completed > 0).then(|| 100.0 * self.errors as f64 / self.completed as f64)
    }

    fn cancelled_count(&self) -> Option<f64> {
        (self.cols.cancelled > 0).then_some(self.cols.cancelled as f64)
    }

    /// Good requests as a share of all completed ones, failures included.
    fn good_fraction(&self) -> Option<f64> {
        self.good
            .filter(|_| self.completed > 0)
            .map(|g| g / self.completed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::{N_REC, Values};
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
            spans: Vec::new(),
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
}
