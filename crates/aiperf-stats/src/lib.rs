//! Statistics for aiperf: pure functions, no I/O.
//!
//! Percentiles use linear interpolation between closest ranks, numpy's default
//! (`numpy.percentile(..., method="linear")`), so results match the Python tools users
//! compare against.

mod confidence;
pub mod convergence;
pub mod fit;
pub mod search;
pub mod sweep;

pub use confidence::{Confidence, t_critical};

/// The percentiles every metric reports, as in the reference tool's exports.
pub const REPORTED_PERCENTILES: [f64; 9] = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

/// The `p`-th percentile (`0 ≤ p ≤ 100`) of values sorted ascending; `None` when empty.
///
/// Rank `p/100 · (n − 1)`, interpolated linearly between its neighbours.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "input must be sorted"
    );
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Descriptive statistics of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub sum: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Population standard deviation (`ddof = 0`), as for one run's request metrics.
    pub std: f64,
    /// Values at [`REPORTED_PERCENTILES`], in that order.
    pub percentiles: [f64; 9],
}

impl Summary {
    /// Summarises `values` (any order, non-finite values ignored); `None` when nothing is left.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        let sum: f64 = sorted.iter().sum();
        let mean = sum / count as f64;
        let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count as f64;
        let percentiles = REPORTED_PERCENTILES
            .map(|p| percentile_sorted(&sorted, p).expect("sample is not empty"));
        Some(Self {
            count,
            sum,
            mean,
            min: sorted[0],
            max: sorted[count - 1],
            std: var.sqrt(),
            percentiles,
        })
    }

    /// The value at a reported percentile (`50.0` for the median); `None` for other `p`.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        REPORTED_PERCENTILES
            .iter()
            .position(|&q| q == p)
            .map(|i| self.percentiles[i])
    }
}

/// Derives a well-spread seed from a base seed and an index (the SplitMix64 finaliser), so
/// every stream of random choices (per request, per run, per purpose) gets its own seed.
pub fn derive_seed(base: u64, index: u64) -> u64 {
    let mut z = base ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sample standard deviation (`ddof = 1`), for statistics across repeated runs.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    Some((ss / (n - 1) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [0, 25, 50, 90, 99, 100])
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        let expected = [
            (0.0, 1.0),
            (25.0, 2.0),
            (50.0, 3.0),
            (90.0, 7.6),
            (99.0, 9.76),
            (100.0, 10.0),
        ];
        for (p, want) in expected {
            let got = percentile_sorted(&v, p).unwrap();
            assert!(close(got, want), "p{p}: {got} != {want}");
        }
        assert_eq!(percentile_sorted(&[], 50.0), None);
        assert_eq!(percentile_sorted(&[4.0], 99.0), Some(4.0));
    }

    #[test]
    fn summary_uses_population_std_and_skips_non_finite() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, f64::NAN]).unwrap();
        assert_eq!(s.count, 8);
        assert!(close(s.mean, 5.0));
        assert!(close(s.std, 2.0));
        assert_eq!((s.min, s.max), (2.0, 9.0));
        assert!(close(s.percentile(50.0).unwrap(), 4.5));
        assert_eq!(s.percentile(42.0), None);
        assert!(Summary::of(&[f64::INFINITY]).is_none());
    }

    #[test]
    fn derived_seeds_differ_by_index_and_base() {
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|i| derive_seed(42, i)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
        assert_eq!(derive_seed(7, 3), derive_seed(7, 3));
    }

    #[test]
    fn sample_std_uses_n_minus_one() {
        assert!(close(
            sample_std(&[1.0, 2.0, 3.0, 4.0]).unwrap(),
            1.2909944487358056
        ));
        assert_eq!(sample_std(&[1.0]), None);
    }
}
