//! Time-weighted metrics over the profiling window, with the reference tool's definitions:
//! how many requests were in flight (overall, in prefill, in decode), the token rates they
//! produced and the tokens they held (`effective_*`, `tokens_in_flight`), and the same rates
//! restricted to the time their phase was active (`active_*`).
//!
//! Each request is an interval `[start, end)`, split at its first token into prefill and
//! decode. Every quantity is a step function built by a sweep over the intervals' start and
//! end events (ends before starts at equal times); its statistics weigh each value by how long
//! it held. A streaming request spreads its decode tokens over its chunk gaps, so decode rates
//! and tokens in flight follow the chunks as they arrived.

use super::catalogue::MetricDef;
use super::columns::Span;
use super::distribution::Dist;
use super::result::{MetricResult, Value};

const NS_PER_SEC: f64 = 1e9;

/// A step function: `values[i]` holds from `ts[i]` to `ts[i + 1]` (0 before the first).
#[derive(Debug, Default, Clone, PartialEq)]
struct Steps {
    ts: Vec<f64>,
    values: Vec<f64>,
}

impl Steps {
    /// Sums the events' deltas in time order, ends (deltas ≤ 0) before starts at equal times.
    fn sweep(mut events: Vec<(f64, f64)>) -> Self {
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1 > 0.0).cmp(&(b.1 > 0.0))));
        let mut acc = 0.0;
        let mut values: Vec<f64> = events
            .iter()
            .map(|e| {
                acc += e.1;
                acc
            })
            .collect();
        // Large +/- pairs cancel imperfectly in floating point; residues far below the
        // curve's scale are zero.
        let max_abs = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if max_abs > 0.0 {
            for v in &mut values {
                if v.abs() < 1e-9 * max_abs {
                    *v = 0.0;
                }
            }
        }
        Self {
            ts: events.into_iter().map(|e| e.0).collect(),
            values,
        }
    }

    /// Requests in `[from, to)` for every span where both ends are known.
    fn count(spans: impl Iterator<Item = (Option<f64>, Option<f64>)>) -> Self {
        Self::sweep(
            spans
                .filter_map(|(a, b)| Some([(a?, 1.0), (b?, -1.0)]))
                .flatten()
                .collect(),
        )
    }

    /// The value at `t` (the last event at or before it).
    fn at(&self, t: f64) -> f64 {
        let i = self.ts.partition_point(|x| *x <= t);
        if i == 0 { 0.0 } else { self.values[i - 1] }
    }

    fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// `self / den` on the union of both functions' times; 0 where `den` is 0.
    fn divide(&self, den: &Steps) -> Steps {
        if self.is_empty() || den.is_empty() {
            return Steps::default();
        }
        let mut ts: Vec<f64> = self.ts.iter().chain(&den.ts).copied().collect();
        ts.sort_by(f64::total_cmp);
        ts.dedup();
        let values = ts
            .iter()
            .map(|&t| {
                let d = den.at(t);
                if d > 0.0 { self.at(t) / d } else { 0.0 }
            })
            .collect();
        Steps { ts, values }
    }
}

/// Time-weighted statistics of a step function.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Stats {
    avg: f64,
    min: f64,
    max: f64,
    p50: f64,
    p90: f64,
    p95: f64,
    p99: f64,
    std: f64,
}

/// Statistics of `(duration, value)` segments: the average over `total` time, percentiles
/// of the time spent at each value.
fn weighted(segments: &mut [(f64, f64)], total: f64) -> Stats {
    if segments.is_empty() || total <= 0.0 {
        return Stats::default();
    }
    let avg = segments.iter().map(|(d, v)| d * v).sum::<f64>() / total;
    let var = segments
        .iter()
        .map(|(d, v)| d * (v - avg).powi(2))
        .sum::<f64>()
        / total;
    segments.sort_by(|a, b| a.1.total_cmp(&b.1));
    let all: f64 = segments.iter().map(|s| s.0).sum();
    let pct = |q: f64| {
        let mut acc = 0.0;
        for (d, v) in segments.iter() {
            acc += d;
            if acc / all >= q {
                return *v;
            }
        }
        segments[segments.len() - 1].1
    };
    Stats {
        avg,
        min: segments[0].1,
        max: segments[segments.len() - 1].1,
        p50: pct(0.50),
        p90: pct(0.90),
        p95: pct(0.95),
        p99: pct(0.99),
        std: var.sqrt(),
    }
}

/// Time-weighted statistics of `f` over `[start, end]`.
fn over_window(f: &Steps, start: f64, end: f64) -> Stats {
    if f.is_empty() || end <= start {
        return Stats::default();
    }
    let mut segments = Vec::with_capacity(f.ts.len() + 1);
    let mut from = start;
    let mut value = f.at(start);
    for (&t, &v) in f.ts.iter().zip(&f.values) {
        if t <= start {
            continue;
        }
        if t >= end {
            break;
        }
        if t > from {
            segments.push((t - from, value));
        }
        from = t;
        value = v;
    }
    if end > from {
        segments.push((end - from, value));
    }
    weighted(&mut segments, end - start)
}

/// Time-weighted statistics of `rate` over the parts of `[start, end]` where `mask` is
/// positive (the time its phase was active).
fn over_active(rate: &Steps, mask: &Steps, start: f64, end: f64) -> Stats {
    if rate.is_empty() || mask.is_empty() || end <= start {
        return Stats::default();
    }
    let inside = |t: &&f64| **t > start && **t < end;
    let mut grid: Vec<f64> = [start, end]
        .iter()
        .chain(rate.ts.iter().filter(inside))
        .chain(mask.ts.iter().filter(inside))
        .copied()
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let mut segments: Vec<(f64, f64)> = grid
        .windows(2)
        .filter(|w| w[1] > w[0] && mask.at(w[0]) > 0.0)
        .map(|w| (w[1] - w[0], rate.at(w[0])))
        .collect();
    let active: f64 = segments.iter().map(|s| s.0).sum();
    weighted(&mut segments, active)
}

/// Per-request inputs of the curves, in ns and tokens.
struct Interval<'a> {
    start: f64,
    first: Option<f64>,
    end: f64,
    isl: Option<f64>,
    osl: Option<f64>,
    /// Chunk gaps after the first token, ns.
    gaps: &'a [f64],
}

impl Interval<'_> {
    fn decode_tokens(&self) -> Option<f64> {
        self.osl.filter(|o| *o >= 1.0)
    }

    fn prefill(&self) -> Option<(f64, f64)> {
        let first = self.first?;
        (first > self.start).then_some((self.start, first))
    }

    /// Input tokens per ns over the prefill.
    fn prefill_rate(&self) -> Option<(f64, f64, f64)> {
        let (a, b) = self.prefill()?;
        Some((a, b, self.isl? / (b - a)))
    }

    /// Decode tokens (after the first) per ns from the first token to the end.
    fn decode_rate(&self) -> Option<(f64, f64, f64)> {
        let first = self.first?;
        let osl = self.decode_tokens()?;
        (self.end > first).then(|| (first, self.end, (osl - 1.0) / (self.end - first)))
    }
}

/// The step functions of one run.
struct Curves {
    concurrency: Steps,
    decode_concurrency: Steps,
    prefill_concurrency: Steps,
    decode_throughput: Steps,
    prefill_throughput: Steps,
    total_throughput: Steps,
    decode_per_user: Steps,
    prefill_per_user: Steps,
    tokens_in_flight: Steps,
}

impl Curves {
    fn new(intervals: &[Interval<'_>]) -> Self {
        let chunked = intervals.iter().any(|r| !r.gaps.is_empty());
        let concurrency = Steps::count(intervals.iter().map(|r| (Some(r.start), Some(r.end))));
        let decode_concurrency = Steps::count(intervals.iter().map(|r| (r.first, Some(r.end))));
        let prefill_concurrency = Steps::count(intervals.iter().map(|r| (Some(r.start), r.first)));
        let rate_events = |(a, b, rate): (f64, f64, f64)| [(a, rate), (b, -rate)];
        let prefill = || intervals.iter().filter_map(Interval::prefill_rate);
        let decode = || intervals.iter().filter_map(Interval::decode_rate);
        let decode_throughput = if chunked {
            Steps::sweep(intervals.iter().flat_map(chunk_rates).collect())
        } else {
            Steps::sweep(decode().flat_map(rate_events).collect())
        };
        let prefill_throughput = Steps::sweep(prefill().flat_map(rate_events).collect());
        let total_throughput =
            Steps::sweep(prefill().chain(decode()).flat_map(rate_events).collect());
        let tokens_in_flight = Steps::sweep(
            intervals
                .iter()
                .flat_map(|r| held_tokens(r, chunked))
                .collect(),
        );
        Self {
            decode_per_user: decode_throughput.divide(&decode_concurrency),
            prefill_per_user: prefill_throughput.divide(&prefill_concurrency),
            concurrency,
            decode_concurrency,
            prefill_concurrency,
            decode_throughput,
            prefill_throughput,
            total_throughput,
            tokens_in_flight,
        }
    }
}

/// A streamed request's decode rate per chunk gap: its tokens after the first shared evenly
/// by its non-empty gaps, each spread over its own gap.
fn chunk_rates(r: &Interval<'_>) -> Vec<(f64, f64)> {
    let (Some(first), Some(osl)) = (r.first, r.decode_tokens()) else {
        return Vec::new();
    };
    let gaps = r.gaps.iter().filter(|g| **g > 0.0).count();
    if gaps == 0 {
        return Vec::new();
    }
    let per_gap = (osl - 1.0) / gaps as f64;
    let mut out = Vec::with_capacity(2 * gaps);
    let mut at = first;
    for &g in r.gaps {
        let from = at;
        at += g;
        if g > 0.0 {
            out.push((from, per_gap / g));
            out.push((at, -per_gap / g));
        }
    }
    out
}

/// The tokens a request holds on the server: its input from the start, its output from the
/// first token (as the chunks arrive, for a streamed request), all released at the end.
fn held_tokens(r: &Interval<'_>, chunked: bool) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let input = r.prefill().and(r.isl);
    if let Some(isl) = input {
        out.push((r.start, isl));
    }
    let mut output = None;
    match (r.first, r.osl) {
        (Some(first), Some(osl)) if chunked && osl >= 1.0 && !r.gaps.is_empty() => {
            out.push((first, 1.0));
            let per_chunk = (osl - 1.0) / r.gaps.len() as f64;
            let mut at = first;
            for &g in r.gaps {
                at += g;
                // A chunk counted at or after the end would outlive the request.
                let t = if at >= r.end { r.end.next_down() } else { at };
                out.push((t, per_chunk));
            }
            output = Some(osl);
        }
        (Some(first), Some(osl)) if !chunked && r.end > first => {
            out.push((first, osl));
            output = Some(osl);
        }
        _ => {}
    }
    let held = input.unwrap_or(0.0) + output.unwrap_or(0.0);
    if input.is_some() || output.is_some() {
        out.push((r.end, -held));
    }
    out
}

const EFFECTIVE: [MetricDef; 9] = [
    MetricDef::plain("effective_concurrency", "Effective Concurrency", "requests"),
    MetricDef::plain(
        "effective_decode_throughput",
        "Effective Decode Throughput",
        "tokens/sec",
    ),
    MetricDef::plain(
        "effective_prefill_throughput",
        "Effective Prefill Throughput",
        "tokens/sec",
    ),
    MetricDef::plain(
        "effective_decode_concurrency",
        "Effective Decode Concurrency",
        "requests",
    ),
    MetricDef::plain(
        "effective_prefill_concurrency",
        "Effective Prefill Concurrency",
        "requests",
    ),
    MetricDef::plain(
        "effective_total_throughput",
        "Effective Total Throughput",
        "tokens/sec",
    ),
    MetricDef::plain(
        "effective_decode_throughput_per_user",
        "Effective Decode Throughput Per User",
        "tokens/sec/user",
    ),
    MetricDef::plain(
        "effective_prefill_throughput_per_user",
        "Effective Prefill Throughput Per User",
        "tokens/sec/user",
    ),
    MetricDef::plain("tokens_in_flight", "Tokens In Flight", "tokens"),
];

const ACTIVE: [MetricDef; 5] = [
    MetricDef::plain(
        "active_decode_throughput",
        "Active Decode Throughput",
        "tokens/sec",
    ),
    MetricDef::plain(
        "active_prefill_throughput",
        "Active Prefill Throughput",
        "tokens/sec",
    ),
    MetricDef::plain(
        "active_decode_throughput_per_user",
        "Active Decode Throughput Per User",
        "tokens/sec/user",
    ),
    MetricDef::plain(
        "active_prefill_throughput_per_user",
        "Active Prefill Throughput Per User",
        "tokens/sec/user",
    ),
    MetricDef::plain(
        "active_total_throughput",
        "Active Total Throughput",
        "tokens/sec",
    ),
];

fn result(def: &MetricDef, s: Stats, scale: f64) -> MetricResult {
    MetricResult {
        tag: def.tag,
        header: def.header,
        unit: def.unit,
        value: Value::Dist(Dist::time_weighted(
            s.avg * scale,
            s.min * scale,
            s.max * scale,
            [s.p50, s.p90, s.p95, s.p99].map(|p| p * scale),
            s.std * scale,
        )),
    }
}

/// The time-weighted metrics of the requests in `spans` over the window `[start, end]` (ns);
/// `gaps` holds the chunk gaps (ms) the spans point into. Nothing without requests.
pub(super) fn sweep_metrics(
    spans: &[Span],
    gaps: &[f64],
    start: f64,
    end: f64,
) -> Vec<MetricResult> {
    if spans.is_empty() {
        return Vec::new();
    }
    let gaps_ns: Vec<f64> = gaps.iter().map(|g| g * 1e6).collect();
    let intervals: Vec<Interval<'_>> = spans
        .iter()
        .map(|s| Interval {
            start: s.start_ns as f64,
            first: s.first_token_ns.map(|t| t as f64),
            end: s.end_ns as f64,
            isl: Some(s.isl).filter(|v| v.is_finite()),
            osl: Some(s.osl).filter(|v| v.is_finite()),
            gaps: &gaps_ns[s.gaps.start as usize..s.gaps.end as usize],
        })
        .collect();
    let c = Curves::new(&intervals);
    let per_sec = NS_PER_SEC;
    let effective = [
        (&c.concurrency, 1.0),
        (&c.decode_throughput, per_sec),
        (&c.prefill_throughput, per_sec),
        (&c.decode_concurrency, 1.0),
        (&c.prefill_concurrency, 1.0),
        (&c.total_throughput, per_sec),
        (&c.decode_per_user, per_sec),
        (&c.prefill_per_user, per_sec),
        (&c.tokens_in_flight, 1.0),
    ];
    let active = [
        (&c.decode_throughput, &c.decode_concurrency),
        (&c.prefill_throughput, &c.prefill_concurrency),
        (&c.decode_per_user, &c.decode_concurrency),
        (&c.prefill_per_user, &c.prefill_concurrency),
        (&c.total_throughput, &c.concurrency),
    ];
    let mut out: Vec<MetricResult> = EFFECTIVE
        .iter()
        .zip(effective)
        .map(|(def, (f, scale))| result(def, over_window(f, start, end), scale))
        .collect();
    out.extend(
        ACTIVE
            .iter()
            .zip(active)
            .map(|(def, (rate, mask))| result(def, over_active(rate, mask, start, end), per_sec)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, first: Option<u64>, end: u64, isl: f64, osl: f64) -> Span {
        Span {
            start_ns: start,
            first_token_ns: first,
            end_ns: end,
            credit_ns: start,
            isl,
            osl,
            gaps: 0..0,
            ok_row: None,
            cancelled: false,
        }
    }

    fn stat(ms: &[MetricResult], tag: &str) -> aiperf_stats::Summary {
        let m = ms.iter().find(|m| m.tag == tag).unwrap();
        let Value::Dist(d) = &m.value else { panic!() };
        d.summary.clone()
    }

    #[test]
    fn concurrency_is_weighted_by_time() {
        // Two requests: [0, 100) and [50, 150) over the window [0, 200]:
        // 1 for 50 ns, 2 for 50, 1 for 50, 0 for 50 → average 1.0.
        let spans = [
            span(0, Some(10), 100, 10.0, 10.0),
            span(50, Some(60), 150, 10.0, 10.0),
        ];
        let m = sweep_metrics(&spans, &[], 0.0, 200.0);
        let c = stat(&m, "effective_concurrency");
        assert!((c.mean - 1.0).abs() < 1e-12, "{c:?}");
        assert_eq!((c.min, c.max), (0.0, 2.0));
        // Half the time at 1, a quarter at 0 and at 2: the median is 1, p90 is 2.
        assert_eq!(c.percentiles[4], 1.0);
        assert_eq!(c.percentiles[6], 2.0);
    }

    #[test]
    fn throughput_spreads_decode_tokens_over_the_decode_time() {
        // 11 tokens: the first at 100 ns, 10 more until 1100 ns → 0.01 tokens/ns = 1e7/s.
        let spans = [span(0, Some(100), 1100, 50.0, 11.0)];
        let m = sweep_metrics(&spans, &[], 0.0, 1100.0);
        let active = stat(&m, "active_decode_throughput");
        assert!((active.mean - 1e7).abs() < 1e-3, "{active:?}");
        // Over the whole window decode ran 1000 of 1100 ns.
        let effective = stat(&m, "effective_decode_throughput");
        assert!((effective.mean - 1e7 * 1000.0 / 1100.0).abs() < 1e-3);
        // Prefill: 50 tokens in 100 ns.
        let prefill = stat(&m, "active_prefill_throughput");
        assert!((prefill.mean - 0.5e9).abs() < 1e-3, "{prefill:?}");
        // Held tokens: 50 during prefill, 61 during decode.
        let held = stat(&m, "tokens_in_flight");
        assert_eq!((held.min, held.max), (50.0, 61.0));
    }

    #[test]
    fn streamed_tokens_follow_their_chunks() {
        // First token at 100 ns, then two gaps of 0.0001 ms (100 ns) and 0.0003 ms (300 ns)
        // carrying (5 - 1) / 2 = 2 tokens each: 0.02 then ~0.00667 tokens/ns.
        let mut s = span(0, Some(100), 500, 10.0, 5.0);
        s.gaps = 0..2;
        let m = sweep_metrics(&[s], &[0.0001, 0.0003], 0.0, 500.0);
        let d = stat(&m, "effective_decode_throughput");
        assert!((d.max - 0.02e9).abs() < 1.0, "{d:?}");
        // 4 tokens decoded over 400 ns of the 500 ns window.
        assert!((d.mean - 4.0 / 500.0 * 1e9).abs() < 1.0, "{d:?}");
        let held = stat(&m, "tokens_in_flight");
        assert_eq!(held.max, 15.0);
    }
}
