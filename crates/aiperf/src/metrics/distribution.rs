//! Distributions of per-request metrics, with error-adjusted percentiles that count each
//! failed request as +inf (a server that fails slow requests does not look faster).

use aiperf_stats::Summary;

/// Distribution statistics of a per-request metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Dist {
    pub summary: Summary,
    /// Error-adjusted percentiles (p50, p90, p95, p99) counting each failed request as
    /// +inf; `None` where failures reach the percentile's rank. Empty when nothing failed.
    pub adjusted: Vec<(&'static str, Option<f64>)>,
}

impl Dist {
    /// A time-weighted distribution: average, extremes, p50/p90/p95/p99 and standard
    /// deviation of a quantity over time. It has no count or sum, and the other percentiles
    /// are not reported (NaN).
    pub(super) fn time_weighted(avg: f64, min: f64, max: f64, p: [f64; 4], std: f64) -> Self {
        let nan = f64::NAN;
        Self {
            summary: Summary {
                count: 0,
                sum: nan,
                mean: avg,
                min,
                max,
                std,
                percentiles: [nan, nan, nan, nan, p[0], nan, p[1], p[2], p[3]],
            },
            adjusted: Vec::new(),
        }
    }
}

/// The distribution of `values`, error-adjusted for `failures` where `adjust` asks for it;
/// `None` without values.
pub(super) fn dist(values: &[f64], failures: usize, adjust: bool) -> Option<Dist> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
