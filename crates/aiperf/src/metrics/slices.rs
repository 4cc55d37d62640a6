//! `--slice-duration`: the profiling phase cut into windows of equal length, each summarized
//! like a run of its own, as the reference tool does. A window holds the requests sent in it
//! (whenever they ended), its rates are per second of the window, and its time-weighted
//! figures are those of every request over the window. Windows without a request are left
//! out; a window cut short by the end of the run (the last request's end) is marked incomplete.

use super::columns::Columns;
use super::result::MetricResult;
use super::summary::request_figures;
use super::sweepline::sweep_metrics;
use crate::settings::GoodputTarget;

/// One time slice: its window (monotonic ns) and its figures.
#[derive(Debug, Clone)]
pub struct Slice {
    pub start_ns: u64,
    pub end_ns: u64,
    /// The window is as long as asked (the last one may be cut short by the run's end).
    pub complete: bool,
    pub metrics: Vec<MetricResult>,
}

/// The slices of `slice_ns` of the phase, starting at its first send. The requests are
/// sorted by send time once and the curves of the time-weighted figures built once, then
/// measured over each window. With a network round trip (`rtt_ms`), each slice has its
/// network-adjusted latencies too.
pub fn timeslices(
    cols: &Columns,
    goodput: &[GoodputTarget],
    slice_ns: u64,
    rtt_ms: Option<f64>,
) -> Vec<Slice> {
    let slice_ns = slice_ns.max(1);
    let Some(first) = cols.spans.iter().map(|s| s.start_ns).min() else {
        return Vec::new();
    };
    let last = (cols.spans.iter())
        .map(|s| s.start_ns.max(s.end_ns))
        .max()
        .unwrap_or(first);
    let mut order: Vec<usize> = (0..cols.spans.len()).collect();
    order.sort_by_key(|&i| cols.spans[i].start_ns);
    // The requests of each slice that has any: (slice number, their indices).
    let mut groups: Vec<(u64, &[usize])> = Vec::new();
    let mut rest = &order[..];
    while let Some(&i) = rest.first() {
        let k = (cols.spans[i].start_ns - first) / slice_ns;
        let to = first + (k + 1) * slice_ns;
        let n = rest.partition_point(|&j| cols.spans[j].start_ns < to);
        groups.push((k, &rest[..n]));
        rest = &rest[n..];
    }
    let window = |k: u64| {
        let from = first + k * slice_ns;
        (from, (from + slice_ns).min(last), from + slice_ns <= last)
    };
    let windows: Vec<(f64, f64)> = (groups.iter())
        .map(|(k, _)| {
            let (from, end, _) = window(*k);
            (from as f64, end as f64)
        })
        .collect();
    let curves = sweep_metrics(&cols.spans, &cols.inter_chunk, &windows);
    (groups.into_iter().zip(curves))
        .map(|((k, members), over_time)| {
            let (from, end, complete) = window(k);
            let sent = cols.subset(members.iter().copied());
            let secs = (end - from) as f64 / 1e9;
            let mut metrics = request_figures(&sent, goodput, Some(secs)).0;
            metrics.extend(over_time);
            metrics.extend(super::network::network_adjusted(&sent, rtt_ms));
            Slice {
                start_ns: from,
                end_ns: end,
                complete,
                metrics,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{N_REC, Rec, Span};

    /// A successful request sent at `start` ms lasting 100 ms with 10 output tokens.
    fn add(cols: &mut Columns, start_ms: u64) {
        let (start, end) = (start_ms * 1_000_000, (start_ms + 100) * 1_000_000);
        let mut v = [f64::NAN; N_REC];
        v[Rec::RequestLatency as usize] = 100.0;
        v[Rec::OutputSequenceLength as usize] = 10.0;
        v[Rec::InputSequenceLength as usize] = 5.0;
        cols.observe(start, start, end);
        cols.spans.push(Span {
            credit_ns: start,
            start_ns: start,
            first_token_ns: Some(start + 10_000_000),
            end_ns: end,
            isl: 5.0,
            osl: 10.0,
            gaps: 0..0,
            ok_row: Some(cols.ok.len() as u32),
            cancelled: false,
        });
        cols.add_ok(start, end, v, &[]);
    }

    fn value(m: &[MetricResult], tag: &str) -> f64 {
        m.iter().find(|m| m.tag == tag).unwrap().avg()
    }

    #[test]
    fn requests_fall_in_the_slice_they_were_sent_in() {
        let mut cols = Columns::default();
        for t in [0, 200, 400, 1_100, 2_850] {
            add(&mut cols, t);
        }
        let slices = timeslices(&cols, &[], 1_000_000_000, None);
        // 0-1 s: three requests; 1-2 s: one; 2-3 s: one, cut at the last end (2.95 s).
        assert_eq!(slices.len(), 3);
        assert_eq!(value(&slices[0].metrics, "request_count"), 3.0);
        assert_eq!(value(&slices[1].metrics, "request_count"), 1.0);
        // Rates are per second of the window.
        assert_eq!(value(&slices[0].metrics, "request_throughput"), 3.0);
        assert!(slices[0].complete && slices[1].complete);
        let last = &slices[2];
        assert!(!last.complete);
        assert_eq!(last.end_ns - last.start_ns, 950_000_000);
        assert!(value(&last.metrics, "effective_concurrency") > 0.0);
        assert!(last.metrics.iter().all(|m| !m.tag.starts_with("network_")));
        // A network round trip is taken out of each slice's latencies.
        let adjusted = timeslices(&cols, &[], 1_000_000_000, Some(10.0));
        assert_eq!(value(&adjusted[1].metrics, "network_rtt"), 10.0);
        assert_eq!(
            value(&adjusted[1].metrics, "network_adjusted_request_latency"),
            90.0
        );
    }

    #[test]
    fn empty_windows_are_left_out() {
        let mut cols = Columns::default();
        add(&mut cols, 0);
        add(&mut cols, 5_000);
        let slices = timeslices(&cols, &[], 1_000_000_000, None);
        assert_eq!(slices.len(), 2);
        assert_eq!(slices[1].start_ns, 5_000_000_000);
        assert_eq!(slices[1].end_ns, 5_100_000_000);
    }
}
