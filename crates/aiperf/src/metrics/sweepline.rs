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
const NS_PER_MS: f64 = 1e6;

/// A step function: `points[i].1` holds from `points[i].0` to the next point's time (0
/// before the first).
#[derive(Debug, Default, Clone, PartialEq)]
struct Steps {
    points: Vec<(f64, f64)>,
}

impl Steps {
    /// Sums the events' deltas in time order, ends (deltas ≤ 0) before starts at equal times.
    fn sweep(mut events: Vec<(f64, f64)>) -> Self {
        // Events at one time in any order within their kind: only the last sum at a time
        // holds for a while.
        events.sort_unstable_by_key(|e| (ordered(e.0), e.1 > 0.0));
        // The running sum replaces each delta, in place.
        let mut acc = 0.0;
        for e in &mut events {
            acc += e.1;
            e.1 = acc;
        }
        // Large +/- pairs cancel imperfectly in floating point; residues far below the
        // curve's scale are zero.
        let max_abs = events.iter().fold(0.0_f64, |m, e| m.max(e.1.abs()));
        if max_abs > 0.0 {
            for e in &mut events {
                if e.1.abs() < 1e-9 * max_abs {
                    e.1 = 0.0;
                }
            }
        }
        Self { points: events }
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
        let i = self.points.partition_point(|p| p.0 <= t);
        if i == 0 { 0.0 } else { self.points[i - 1].1 }
    }

    fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// `self / den` on the union of both functions' times; 0 where `den` is 0.
    fn divide(&self, den: &Steps) -> Steps {
        if self.is_empty() || den.is_empty() {
            return Steps::default();
        }
        let mut points = Vec::with_capacity(self.points.len() + den.points.len());
        for (t, n, d) in Merged::new(self, den) {
            points.push((t, if d > 0.0 { n / d } else { 0.0 }));
        }
        Steps { points }
    }
}

/// The distinct times of two step functions in order, with both functions' values there:
/// a linear walk over both (their times are sorted).
struct Merged<'a> {
    a: &'a Steps,
    b: &'a Steps,
    i: usize,
    j: usize,
    va: f64,
    vb: f64,
}

impl<'a> Merged<'a> {
    fn new(a: &'a Steps, b: &'a Steps) -> Self {
        Self::after(a, b, f64::NEG_INFINITY)
    }

    /// The walk over the times after `t` (with both values as they stand at `t`).
    fn after(a: &'a Steps, b: &'a Steps, t: f64) -> Self {
        Self {
            a,
            b,
            i: a.points.partition_point(|p| p.0 <= t),
            j: b.points.partition_point(|p| p.0 <= t),
            va: a.at(t),
            vb: b.at(t),
        }
    }
}

impl Iterator for Merged<'_> {
    type Item = (f64, f64, f64);

    fn next(&mut self) -> Option<Self::Item> {
        let (a, b) = (&self.a.points, &self.b.points);
        let t = match (a.get(self.i), b.get(self.j)) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => return None,
        };
        // Every event at `t` of both functions: the value after the last one holds.
        while let Some(p) = a.get(self.i).filter(|p| p.0 == t) {
            self.va = p.1;
            self.i += 1;
        }
        while let Some(p) = b.get(self.j).filter(|p| p.0 == t) {
            self.vb = p.1;
            self.j += 1;
        }
        Some((t, self.va, self.vb))
    }
}

/// `x`'s bits as an integer that sorts as `x` does (IEEE 754 total order).
fn ordered(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
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
/// of the time spent at each value (the smallest value below or at which `q` of the time was
/// spent).
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
    let (min, max) = segments
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(s.1), hi.max(s.1))
        });
    // Sorted by value (pdqsort: O(n log n) whatever the values), the durations summed up
    // to each percentile in one pass.
    segments.sort_unstable_by_key(|s| ordered(s.1));
    let all: f64 = segments.iter().map(|s| s.0).sum();
    let targets = [0.50, 0.90, 0.95, 0.99].map(|q| q * all);
    let mut found = [max; 4];
    let (mut acc, mut k) = (0.0, 0);
    for (d, v) in segments.iter() {
        acc += d;
        while k < 4 && acc >= targets[k] {
            found[k] = *v;
            k += 1;
        }
        if k == 4 {
            break;
        }
    }
    let [p50, p90, p95, p99] = found;
    Stats {
        avg,
        min,
        max,
        p50,
        p90,
        p95,
        p99,
        std: var.sqrt(),
    }
}

/// Time-weighted statistics of `f` over `[start, end]`.
fn over_window(f: &Steps, start: f64, end: f64) -> Stats {
    if f.is_empty() || end <= start {
        return Stats::default();
    }
    let first = f.points.partition_point(|p| p.0 <= start);
    let inside = f.points[first..].partition_point(|p| p.0 < end);
    let mut segments = Vec::with_capacity(inside + 1);
    let mut from = start;
    let mut value = f.at(start);
    for &(t, v) in &f.points[first..] {
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

/// [`over_window`] on a curve no longer needed: its points become the segments in place.
fn over_window_owned(f: Steps, start: f64, end: f64) -> Stats {
    if f.is_empty() || end <= start {
        return Stats::default();
    }
    let mut value = f.at(start);
    let mut v = f.points;
    let mut from = start;
    let mut w = 0;
    let put = |v: &mut Vec<(f64, f64)>, w: &mut usize, seg: (f64, f64)| {
        if *w < v.len() {
            v[*w] = seg;
        } else {
            v.push(seg);
        }
        *w += 1;
    };
    for i in 0..v.len() {
        // Segment `w` is written at or before point `i`, which has been read.
        let (t, val) = v[i];
        if t <= start {
            continue;
        }
        if t >= end {
            break;
        }
        if t > from {
            put(&mut v, &mut w, (t - from, value));
        }
        from = t;
        value = val;
    }
    if end > from {
        put(&mut v, &mut w, (end - from, value));
    }
    v.truncate(w);
    weighted(&mut v, end - start)
}

/// Time-weighted statistics of `rate` over the parts of `[start, end]` where `mask` is
/// positive (the time its phase was active).
fn over_active(rate: &Steps, mask: &Steps, start: f64, end: f64) -> Stats {
    if rate.is_empty() || mask.is_empty() || end <= start {
        return Stats::default();
    }
    let inside = |f: &Steps| {
        let first = f.points.partition_point(|p| p.0 <= start);
        f.points[first..].partition_point(|p| p.0 < end)
    };
    let mut segments: Vec<(f64, f64)> = Vec::with_capacity(inside(rate) + inside(mask) + 1);
    let (mut from, mut r, mut m) = (start, rate.at(start), mask.at(start));
    let mut closed = false;
    for (t, rv, mv) in Merged::after(rate, mask, start) {
        let to = t.min(end);
        if to > from && m > 0.0 {
            segments.push((to - from, r));
        }
        if t >= end {
            closed = true;
            break;
        }
        (from, r, m) = (t, rv, mv);
    }
    if !closed && end > from && m > 0.0 {
        segments.push((end - from, r));
    }
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
    /// Chunk gaps after the first token, ms (as the collector keeps them).
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

/// The statistics of every curve of a run over `[start, end]`, in the order of
/// [`EFFECTIVE`] and [`ACTIVE`]. Curves are built one after the other and dropped once
/// measured, so the large ones (a streamed run's decode rate and tokens in flight have an
/// event per chunk) are never all in memory together.
fn curve_stats(intervals: &[Interval<'_>], windows: &[(f64, f64)]) -> Vec<CurveStats> {
    let window = |f: &Steps| -> Vec<Stats> {
        (windows.iter())
            .map(|&(start, end)| over_window(f, start, end))
            .collect()
    };
    let window_owned = |f: Steps| match windows {
        [(start, end)] => vec![over_window_owned(f, *start, *end)],
        _ => window(&f),
    };
    let active = |f: &Steps, mask: &Steps| -> Vec<Stats> {
        (windows.iter())
            .map(|&(start, end)| over_active(f, mask, start, end))
            .collect()
    };
    let chunked = intervals.iter().any(|r| !r.gaps.is_empty());
    let concurrency = Steps::count(intervals.iter().map(|r| (Some(r.start), Some(r.end))));
    let decode_concurrency = Steps::count(intervals.iter().map(|r| (r.first, Some(r.end))));
    let prefill_concurrency = Steps::count(intervals.iter().map(|r| (Some(r.start), r.first)));
    let rate_events = |(a, b, rate): (f64, f64, f64)| [(a, rate), (b, -rate)];
    let prefill = || intervals.iter().filter_map(Interval::prefill_rate);
    let decode = || intervals.iter().filter_map(Interval::decode_rate);
    let all_gaps: usize = intervals.iter().map(|r| r.gaps.len()).sum();

    let (decode_tp, decode_tp_active, per_user, per_user_active) = {
        let decode_throughput = if chunked {
            let mut events = Vec::with_capacity(2 * all_gaps);
            for r in intervals {
                chunk_rates(r, &mut events);
            }
            Steps::sweep(events)
        } else {
            Steps::sweep(decode().flat_map(rate_events).collect())
        };
        // Each large curve is measured last by consuming it, so at most two are alive.
        let tp_active = active(&decode_throughput, &decode_concurrency);
        let per_user = decode_throughput.divide(&decode_concurrency);
        let tp = window_owned(decode_throughput);
        let per_user_active = active(&per_user, &decode_concurrency);
        (tp, tp_active, window_owned(per_user), per_user_active)
    };
    let held = {
        let mut events = Vec::with_capacity(all_gaps + 3 * intervals.len());
        for r in intervals {
            held_tokens(r, chunked, &mut events);
        }
        window_owned(Steps::sweep(events))
    };
    let prefill_throughput = Steps::sweep(prefill().flat_map(rate_events).collect());
    let prefill_per_user = prefill_throughput.divide(&prefill_concurrency);
    let total_throughput = Steps::sweep(prefill().chain(decode()).flat_map(rate_events).collect());
    let effective = [
        window(&concurrency),
        decode_tp,
        window(&prefill_throughput),
        window(&decode_concurrency),
        window(&prefill_concurrency),
        window(&total_throughput),
        per_user,
        window(&prefill_per_user),
        held,
    ];
    let active = [
        decode_tp_active,
        active(&prefill_throughput, &prefill_concurrency),
        per_user_active,
        active(&prefill_per_user, &prefill_concurrency),
        active(&total_throughput, &concurrency),
    ];
    (0..windows.len())
        .map(|k| {
            (
                effective.each_ref().map(|v| v[k]),
                active.each_ref().map(|v| v[k]),
            )
        })
        .collect()
}

/// One window's statistics, in the order of [`EFFECTIVE`] and [`ACTIVE`].
type CurveStats = ([Stats; 9], [Stats; 5]);

/// A streamed request's decode rate per chunk gap: its tokens after the first shared evenly
/// by its non-empty gaps, each spread over its own gap.
fn chunk_rates(r: &Interval<'_>, out: &mut Vec<(f64, f64)>) {
    let (Some(first), Some(osl)) = (r.first, r.decode_tokens()) else {
        return;
    };
    let gaps = r.gaps.iter().filter(|g| **g > 0.0).count();
    if gaps == 0 {
        return;
    }
    let per_gap = (osl - 1.0) / gaps as f64;
    // Consecutive gaps touch: one event per boundary carries the change of rate there.
    let (mut at, mut rate) = (first, 0.0);
    for &g_ms in r.gaps {
        if g_ms > 0.0 {
            let g = g_ms * NS_PER_MS;
            let next = per_gap / g;
            out.push((at, next - rate));
            rate = next;
            at += g;
        }
    }
    out.push((at, -rate));
}

/// The tokens a request holds on the server: its input from the start, its output from the
/// first token (as the chunks arrive, for a streamed request), all released at the end.
fn held_tokens(r: &Interval<'_>, chunked: bool, out: &mut Vec<(f64, f64)>) {
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
                at += g * NS_PER_MS;
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
    windows: &[(f64, f64)],
) -> Vec<Vec<MetricResult>> {
    if spans.is_empty() {
        return vec![Vec::new(); windows.len()];
    }
    let intervals: Vec<Interval<'_>> = spans
        .iter()
        .map(|s| Interval {
            start: s.start_ns as f64,
            first: s.first_token_ns.map(|t| t as f64),
            end: s.end_ns as f64,
            isl: Some(s.isl).filter(|v| v.is_finite()),
            osl: Some(s.osl).filter(|v| v.is_finite()),
            gaps: &gaps[s.gaps.start as usize..s.gaps.end as usize],
        })
        .collect();
    let scales = [
        1.0, NS_PER_SEC, NS_PER_SEC, 1.0, 1.0, NS_PER_SEC, NS_PER_SEC, NS_PER_SEC, 1.0,
    ];
    (curve_stats(&intervals, windows).into_iter())
        .map(|(effective, active)| {
            let mut out: Vec<MetricResult> = (EFFECTIVE.iter().zip(effective).zip(scales))
                .map(|((def, st), scale)| result(def, st, scale))
                .collect();
            out.extend((ACTIVE.iter().zip(active)).map(|(def, st)| result(def, st, NS_PER_SEC)));
            out
        })
        .collect()
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

    /// The statistics by brute force: the functions' values on a fine grid of equal steps.
    fn sampled(rate: &Steps, mask: Option<&Steps>, start: f64, end: f64) -> (f64, f64) {
        let n = 200_000;
        let dt = (end - start) / n as f64;
        let (mut sum, mut time) = (0.0, 0.0);
        for k in 0..n {
            let t = start + (k as f64 + 0.5) * dt;
            if mask.is_none_or(|m| m.at(t) > 0.0) {
                sum += rate.at(t) * dt;
                time += dt;
            }
        }
        let total = if mask.is_some() { time } else { end - start };
        (sum / total, time)
    }

    fn random_steps(seed: u64, n: usize) -> Steps {
        // A small deterministic generator: times on a 0.25 grid (ties included), values
        // with zeros.
        let mut x = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut events: Vec<(f64, f64)> = (0..n)
            .map(|_| ((next() % 400) as f64 * 0.25, (next() % 5) as f64 - 2.0))
            .collect();
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc: f64 = 0.0;
        Steps {
            points: events
                .iter()
                .map(|e| {
                    acc = (acc + e.1).max(0.0);
                    (e.0, acc)
                })
                .collect(),
        }
    }

    #[test]
    fn window_and_active_statistics_match_sampling() {
        for seed in 1..20 {
            let rate = random_steps(seed, 60);
            let mask = random_steps(seed + 100, 40);
            for (start, end) in [(0.0, 100.0), (10.3, 57.9), (-5.0, 120.0)] {
                let w = over_window(&rate, start, end);
                assert_eq!(over_window_owned(rate.clone(), start, end), w);
                let (avg, _) = sampled(&rate, None, start, end);
                assert!(
                    (w.avg - avg).abs() < 1e-3,
                    "{seed} {start} {end}: {w:?} vs {avg}"
                );
                let a = over_active(&rate, &mask, start, end);
                let (avg, time) = sampled(&rate, Some(&mask), start, end);
                if time > 0.0 {
                    assert!(
                        (a.avg - avg).abs() < 1e-2,
                        "{seed} {start} {end}: {a:?} vs {avg}"
                    );
                }
                let q = rate.divide(&mask);
                for t in [start, (start + end) / 2.0, end - 0.1] {
                    let d = mask.at(t);
                    let want = if d > 0.0 { rate.at(t) / d } else { 0.0 };
                    assert_eq!(q.at(t), want, "{seed} at {t}");
                }
            }
        }
    }

    #[test]
    fn weighted_percentiles_are_those_of_a_sort() {
        let mut x: u64 = 7;
        for n in [1, 5, 17, 100, 1000, 5000] {
            let mut segs: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x % 97) as f64 + 0.5, (x % 31) as f64)
                })
                .collect();
            let mut sorted = segs.clone();
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
            let all: f64 = sorted.iter().map(|s| s.0).sum();
            let by_sort = |q: f64| {
                let mut acc = 0.0;
                for (d, v) in &sorted {
                    acc += d;
                    if acc >= q * all {
                        return *v;
                    }
                }
                sorted[sorted.len() - 1].1
            };
            let st = weighted(&mut segs, all);
            assert_eq!(
                [st.p50, st.p90, st.p95, st.p99],
                [by_sort(0.5), by_sort(0.9), by_sort(0.95), by_sort(0.99)],
                "{n}"
            );
            assert_eq!((st.min, st.max), (sorted[0].1, sorted[sorted.len() - 1].1));
        }
    }

    #[test]
    fn concurrency_is_weighted_by_time() {
        // Two requests: [0, 100) and [50, 150) over the window [0, 200]:
        // 1 for 50 ns, 2 for 50, 1 for 50, 0 for 50 → average 1.0.
        let spans = [
            span(0, Some(10), 100, 10.0, 10.0),
            span(50, Some(60), 150, 10.0, 10.0),
        ];
        let m = sweep_metrics(&spans, &[], &[(0.0, 200.0)]).remove(0);
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
        let m = sweep_metrics(&spans, &[], &[(0.0, 1100.0)]).remove(0);
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
        let m = sweep_metrics(&[s], &[0.0001, 0.0003], &[(0.0, 500.0)]).remove(0);
        let d = stat(&m, "effective_decode_throughput");
        assert!((d.max - 0.02e9).abs() < 1.0, "{d:?}");
        // 4 tokens decoded over 400 ns of the 500 ns window.
        assert!((d.mean - 4.0 / 500.0 * 1e9).abs() < 1.0, "{d:?}");
        let held = stat(&m, "tokens_in_flight");
        assert_eq!(held.max, 15.0);
    }
}
