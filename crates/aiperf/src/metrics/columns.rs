//! What the collector keeps of the profiling phase for the summary: one row of values per
//! successful request, the failures, and the times that bound the run.

use std::ops::Range;

use super::catalogue::{Rec, Values};

/// One request of the profiling phase (any outcome) as an interval, for the time-weighted
/// metrics and the queueing latencies; monotonic ns.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// When the load generator released the request (its intended send).
    pub credit_ns: u64,
    pub start_ns: u64,
    /// When its first token arrived (streamed answers).
    pub first_token_ns: Option<u64>,
    pub end_ns: u64,
    /// Input and output tokens; NaN when unknown (the output of a failed request).
    pub isl: f64,
    pub osl: f64,
    /// Its chunk gaps in [`Columns::inter_chunk`].
    pub gaps: Range<u32>,
    /// Its row in [`Columns::ok`] when it succeeded.
    pub ok_row: Option<u32>,
    pub cancelled: bool,
}

/// The inputs of a summary: per-request values of the profiling phase.
#[derive(Debug, Default)]
pub struct Columns {
    /// One row per successful request.
    pub ok: Vec<Values>,
    /// Inter-chunk gaps of every successful streaming request, pooled.
    pub inter_chunk: Vec<f64>,
    /// Every request of the phase as an interval, in completion order.
    pub spans: Vec<Span>,
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

    /// A per-request metric's values, over the successful requests it applies to.
    pub(super) fn values_of(&self, rec: Rec) -> Vec<f64> {
        self.ok
            .iter()
            .map(|v| v[rec as usize])
            .filter(|v| !v.is_nan())
            .collect()
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

    /// The requests `spans` (indices into [`Columns::spans`]), as columns of their own.
    pub fn subset(&self, spans: impl IntoIterator<Item = usize>) -> Columns {
        let mut out = Columns::default();
        for s in spans.into_iter().map(|i| &self.spans[i]) {
            out.observe(s.start_ns, s.credit_ns, s.end_ns);
            let gaps = &self.inter_chunk[s.gaps.start as usize..s.gaps.end as usize];
            let mut span = s.clone();
            let at = out.inter_chunk.len() as u32;
            span.gaps = at..at + gaps.len() as u32;
            match s.ok_row {
                Some(row) => {
                    span.ok_row = Some(out.ok.len() as u32);
                    out.add_ok(s.start_ns, s.end_ns, self.ok[row as usize], gaps);
                }
                None => out.add_error(s.isl, s.cancelled),
            }
            out.spans.push(span);
        }
        out
    }

    /// The phase's window for time-weighted figures: from the first release (or send) of a
    /// request to the last end.
    pub fn window_ns(&self) -> Option<(u64, u64)> {
        let start = match (self.first_scheduled_ns, self.any_first_start_ns) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        let end = self.any_last_end_ns?;
        (end > start).then_some((start, end))
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
