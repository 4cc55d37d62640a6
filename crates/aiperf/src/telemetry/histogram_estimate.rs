//! Percentiles of a Prometheus histogram, estimated with the "polynomial histogram" method of
//! HistogramTools (arXiv 2504.00001) extended with a second moment per bucket.
//!
//! A histogram only says how many observations fell in each bucket, plus their exact total.
//! Prometheus' `histogram_quantile` assumes observations spread evenly across a bucket, which
//! badly misplaces them when they cluster near one edge of a wide bucket, and it cannot say
//! anything above the largest finite bound. This estimator does better, mostly in the tails:
//!
//! * Whenever every new observation between two scrapes landed in a single bucket, the
//!   increase of the sum divided by the increase of the count is their exact mean. Over the
//!   run those intervals teach each bucket where its observations usually sit (a weighted
//!   mean), and how much that position varies (the sample variance of the interval means).
//! * The finite buckets' share of the total sum is estimated from those means (the midpoint
//!   where none was learned); what is left of the exact total belongs to the `+Inf` bucket, so
//!   its observations are placed around that average instead of at the largest finite bound.
//! * Each finite bucket is filled with synthetic observations shaped by what was learned: a
//!   two-point mass matching mean and variance when the variance is tiny, a blend of a shifted
//!   uniform spread and a variance-shaped spread when it is small and the mean central, a
//!   variance-shaped spread otherwise, and a uniform spread centred on the learned mean (or the
//!   overall average for a bucket holding nearly everything, or the midpoint) without one.
//!   The observations are then nudged so that their total matches the exact sum.
//! * The percentiles are those of the synthetic observations (numpy's linear method).
//!
//! The thresholds and constants below are part of the method: the exported estimates are
//! compared against the Python AIPerf's, which uses the same ones.

use super::server_export::ESTIMATED_PERCENTILES;

/// The most synthetic observations generated; larger histograms are scaled down
/// proportionally (counts and sum alike, so that averages are kept).
const MAX_OBSERVATIONS: f64 = 100_000.0;
/// Interval means needed before a bucket's variance is trusted.
const MIN_VARIANCE_SAMPLES: usize = 3;
/// A bucket holding at least this share of the observations is centred on the overall
/// average when nothing better was learned about it.
const DOMINANT_SHARE: f64 = 0.95;
/// Below this relative difference between the generated and the exact sum, the generated
/// observations are left as they are.
const SUM_TOLERANCE: f64 = 0.001;
/// The furthest the sum correction moves a bucket's observations, as a share of its width.
const MAX_SHIFT_SHARE: f64 = 0.4;

/// One scrape of a histogram series: cumulative totals since the server started counting,
/// `buckets` in the order of the series' bounds (ascending, `+Inf` last).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scrape {
    pub(super) sum: f64,
    pub(super) count: f64,
    pub(super) buckets: Vec<f64>,
}

/// What the scrape intervals whose observations all fell in one bucket say about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct BucketStats {
    /// Observations in those intervals.
    observations: i64,
    /// Each interval's mean times its observations, summed.
    weighted_sum: f64,
    /// Each interval's mean, in order.
    means: Vec<f64>,
}

impl BucketStats {
    fn record(&mut self, mean: f64, count: i64) {
        self.observations += count;
        self.weighted_sum += mean * count as f64;
        self.means.push(mean);
    }

    /// Where the bucket's observations sit on average; `None` before any interval taught it.
    pub(super) fn mean(&self) -> Option<f64> {
        (self.observations != 0).then(|| self.weighted_sum / self.observations as f64)
    }

    /// The sample variance (`n − 1`) of the interval means; `None` with too few of them.
    pub(super) fn variance(&self) -> Option<f64> {
        let n = self.means.len();
        if n < MIN_VARIANCE_SAMPLES {
            return None;
        }
        let mean = self.means.iter().sum::<f64>() / n as f64;
        let squares: f64 = self.means.iter().map(|m| (m - mean) * (m - mean)).sum();
        Some(squares / (n - 1) as f64)
    }
}

/// Each bucket's statistics (aligned with the bounds) from consecutive scrapes of one series.
///
/// A bucket counter that went down counts as no increase; intervals without new observations,
/// or with new observations in more than one bucket, teach nothing.
pub(super) fn learn(scrapes: &[Scrape]) -> Vec<BucketStats> {
    let width = scrapes.iter().map(|s| s.buckets.len()).max().unwrap_or(0);
    let mut stats = vec![BucketStats::default(); width];
    let bucket = |s: &Scrape, j: usize| s.buckets.get(j).copied().unwrap_or(0.0);
    for pair in scrapes.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        // Counts are whole numbers; truncation only matters for malformed input.
        let count = (after.count - before.count) as i64;
        if count <= 0 {
            continue;
        }
        let mut below = 0.0;
        let mut active = None;
        let mut several = false;
        for j in 0..width {
            let cumulative = (bucket(after, j) - bucket(before, j)).max(0.0);
            if (cumulative - below).max(0.0) > 0.0 {
                several |= active.is_some();
                active = Some(j);
            }
            below = cumulative;
        }
        if let (Some(j), false) = (active, several) {
            stats[j].record((after.sum - before.sum) / count as f64, count);
        }
    }
    stats
}

/// The estimated percentiles ([`ESTIMATED_PERCENTILES`]) of the observations a window added.
///
/// `bounds` ascending with `+Inf` (if any) last; `cumulative[i]` the window's increase of the
/// bucket `≤ bounds[i]`; `stats` from [`learn`], aligned with the bounds; `sum` and `count`
/// the window's increases. `None` without observations, without a finite bucket, or with a
/// sum that is negative or not finite; all zeros when the observations sum to exactly zero.
pub(super) fn estimate(
    bounds: &[f64],
    cumulative: &[f64],
    stats: &[BucketStats],
    sum: f64,
    count: u64,
) -> Option<[f64; 9]> {
    if count == 0 || bounds.is_empty() || !sum.is_finite() || sum < 0.0 {
        return None;
    }
    if sum == 0.0 {
        return Some([0.0; 9]);
    }
    let finite: Vec<usize> = (0..bounds.len())
        .filter(|&i| bounds[i].is_finite())
        .collect();
    let max_bound = finite.iter().map(|&i| bounds[i]).reduce(f64::max)?;
    let inf = (0..bounds.len()).find(|&i| bounds[i].is_infinite());
    let buckets: Vec<Bucket<'_>> = finite
        .iter()
        .enumerate()
        .map(|(k, &i)| Bucket {
            lower: if k == 0 { 0.0 } else { bounds[finite[k - 1]] },
            upper: bounds[i],
            count: cumulative[i]
                - if k == 0 {
                    0.0
                } else {
                    cumulative[finite[k - 1]]
                },
            stats: stats.get(i),
        })
        .collect();
    let mut inf_count = inf.map_or(0.0, |i| {
        cumulative[i] - finite.last().map_or(0.0, |&f| cumulative[f])
    });
    let (buckets, sum) = scale_down(buckets, &mut inf_count, sum);

    let inf_count = if inf_count > 0.0 {
        inf_count.ceil() as i64
    } else {
        0
    };
    let finite_sum: f64 = buckets
        .iter()
        .filter(|b| b.count > 0.0)
        .map(|b| b.count * b.center())
        .sum();
    let tail = tail_observations(sum - finite_sum, inf_count, max_bound);
    let tail_sum: f64 = tail.iter().sum();
    let mut observations = finite_observations(&buckets, sum - tail_sum);
    observations.extend(tail);
    if observations.is_empty() {
        return None;
    }
    observations.sort_by(f64::total_cmp);
    let mut out = [0.0; 9];
    for (slot, p) in out.iter_mut().zip(ESTIMATED_PERCENTILES) {
        *slot = aiperf_stats::percentile_sorted(&observations, p)?;
    }
    Some(out)
}

/// One finite bucket of a window: its bounds, observations, and what was learned about it.
#[derive(Debug, Clone)]
struct Bucket<'a> {
    lower: f64,
    upper: f64,
    /// Fractional once scaled down.
    count: f64,
    stats: Option<&'a BucketStats>,
}

impl Bucket<'_> {
    fn width(&self) -> f64 {
        self.upper - self.lower
    }

    fn midpoint(&self) -> f64 {
        (self.lower + self.upper) / 2.0
    }

    /// The learned mean when it lies strictly inside the bucket (one outside it comes from a
    /// counter reset or corrupt data).
    fn learned_mean(&self) -> Option<f64> {
        self.stats
            .and_then(BucketStats::mean)
            .filter(|m| self.lower < *m && *m < self.upper)
    }

    /// Where the bucket's observations are assumed to sit on average.
    fn center(&self) -> f64 {
        self.learned_mean().unwrap_or_else(|| self.midpoint())
    }
}

/// The buckets (and the `+Inf` count and sum) scaled by one ratio when there are more than
/// [`MAX_OBSERVATIONS`] observations in all.
fn scale_down<'a>(
    mut buckets: Vec<Bucket<'a>>,
    inf_count: &mut f64,
    sum: f64,
) -> (Vec<Bucket<'a>>, f64) {
    let total = buckets.iter().map(|b| b.count).sum::<f64>() + *inf_count;
    if total <= MAX_OBSERVATIONS {
        return (buckets, sum);
    }
    let ratio = MAX_OBSERVATIONS / total;
    for b in &mut buckets {
        b.count *= ratio;
    }
    *inf_count *= ratio;
    (buckets, sum * ratio)
}

/// The observations above the largest finite bound: spread evenly from that bound so that
/// their average is what the exact sum leaves for them (`inf_sum`), or 1.5 times the bound
/// when that average would not lie above it.
fn tail_observations(inf_sum: f64, count: i64, max_bound: f64) -> Vec<f64> {
    if count <= 0 {
        return Vec::new();
    }
    let mut avg = inf_sum / count as f64;
    if inf_sum <= 0.0 || avg <= max_bound {
        avg = max_bound * 1.5;
    }
    if count == 1 {
        return vec![avg];
    }
    let mut top = 2.0 * avg - max_bound;
    if top <= max_bound {
        top = max_bound * 2.0;
    }
    linspace(max_bound, top, count as usize)
}

/// `n ≥ 2` evenly spaced values from `start` to `stop`, both included.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = (stop - start) / (n - 1) as f64;
    let mut out: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    out[n - 1] = stop;
    out
}

/// `x` limited to `[lo, hi]`, `hi` winning when the bounds cross (a first bucket with a
/// negative bound).
fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

/// The `i`-th of `n` evenly spaced fractions strictly inside `(0, 1)`.
fn fraction(i: usize, n: usize) -> f64 {
    (i as f64 + 0.5) / n as f64
}

/// Synthetic observations for the finite buckets, totalling about `target_sum`.
fn finite_observations(buckets: &[Bucket<'_>], target_sum: f64) -> Vec<f64> {
    let mut buckets = buckets.to_vec();
    let mut target_sum = target_sum;
    let mut total: f64 = buckets.iter().map(|b| b.count).sum();
    if total > MAX_OBSERVATIONS {
        let ratio = MAX_OBSERVATIONS / total;
        for b in &mut buckets {
            b.count *= ratio;
        }
        target_sum *= ratio;
        total = buckets.iter().map(|b| b.count).sum();
    }
    let avg = if total > 0.0 { target_sum / total } else { 0.0 };
    let dominant = (total > 0.0)
        .then(|| {
            let most = buckets.iter().map(|b| b.count).reduce(f64::max)?;
            let first = buckets.iter().position(|b| b.count == most)?;
            (most / total >= DOMINANT_SHARE).then_some(first)
        })
        .flatten();

    let whole: Vec<i64> = buckets.iter().map(|b| b.count as i64).collect();
    let room: i64 = whole.iter().sum();
    if room <= 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(room as usize);
    let mut ranges = Vec::new();
    for (k, b) in buckets.iter().enumerate() {
        if whole[k] <= 0 {
            continue;
        }
        let left = room - out.len() as i64;
        if left <= 0 {
            break;
        }
        let n = whole[k].min(left) as usize;
        let start = out.len();
        let overall = (dominant == Some(k)).then_some(avg);
        out.extend(place(b, n, overall));
        ranges.push((start, n, b.lower, b.upper));
    }
    match_sum(&mut out, &ranges, target_sum);
    out
}

/// `n` observations for one bucket, shaped by what was learned about it; `overall` is the
/// overall average when the bucket holds nearly all the observations.
fn place(b: &Bucket<'_>, n: usize, overall: Option<f64>) -> Vec<f64> {
    let (lower, upper, width, mid) = (b.lower, b.upper, b.width(), b.midpoint());
    let mean = b.learned_mean();
    let variance = b.stats.and_then(BucketStats::variance);
    if let (Some(mean), Some(variance)) = (mean, variance)
        && variance > 0.0
    {
        let std = variance.sqrt();
        // Share of the bucket covered by two standard deviations either side of the mean.
        let spread = 4.0 * std / width;
        let offset = (mean - mid).abs() / width;
        return if spread < 0.01 {
            two_point_mass(n, lower, upper, mean, variance)
        } else if spread < 0.2 && offset < 0.3 {
            blended(n, lower, upper, mean, std)
        } else {
            variance_shaped(n, lower, upper, mean, std)
        };
    }
    let mut center = mean.unwrap_or(mid);
    if let Some(avg) = overall.filter(|a| lower < *a && *a < upper) {
        center = avg;
    }
    shifted_uniform(n, lower, upper, center - mid)
}

/// `n` evenly spread observations across the bucket, moved by `shift` and kept inside it.
fn shifted_uniform(n: usize, lower: f64, upper: f64, shift: f64) -> Vec<f64> {
    let width = upper - lower;
    (0..n)
        .map(|i| clip(lower + width * fraction(i, n) + shift, lower, upper))
        .collect()
}

/// The F3 distribution of HistogramTools: a share of the observations at the lower bound and
/// the rest at one point above the mean, chosen so that mean and variance both match.
fn two_point_mass(n: usize, lower: f64, upper: f64, mean: f64, variance: f64) -> Vec<f64> {
    let gap = mean - lower;
    let high = if gap > 0.0 {
        mean + variance / gap
    } else {
        upper
    };
    let high = clip(high, lower, upper);
    let denominator = variance + gap * gap;
    let share = if denominator > 0.0 {
        variance / denominator
    } else {
        0.5
    };
    let at_lower = (n as f64 * clip(share, 0.0, 1.0)) as usize;
    (0..n)
        .map(|i| if i < at_lower { lower } else { high })
        .collect()
}

/// `n` observations fanning out from the mean to at most three standard deviations either
/// side (less where the bucket's edge is nearer), kept inside the bucket.
fn variance_shaped(n: usize, lower: f64, upper: f64, mean: f64, std: f64) -> Vec<f64> {
    let reach = |distance: f64| {
        let stds = if std > 0.0 { distance / std } else { 3.0 };
        stds.min(3.0) * std
    };
    let (down, up) = (reach(mean - lower), reach(upper - mean));
    (0..n)
        .map(|i| {
            let f = fraction(i, n);
            let x = if f < 0.5 {
                mean - down * (1.0 - 2.0 * f)
            } else {
                mean + up * (2.0 * f - 1.0)
            };
            clip(x, lower, upper)
        })
        .collect()
}

/// The average of a uniform spread centred on the mean and a variance-shaped one.
fn blended(n: usize, lower: f64, upper: f64, mean: f64, std: f64) -> Vec<f64> {
    let mid = (lower + upper) / 2.0;
    let uniform = shifted_uniform(n, lower, upper, mean - mid);
    let shaped = variance_shaped(n, lower, upper, mean, std);
    uniform
        .iter()
        .zip(&shaped)
        .map(|(u, s)| clip(0.5 * u + 0.5 * s, lower, upper))
        .collect()
}

/// Moves each bucket's observations (`ranges`: start, length, bounds) so that their total
/// approaches `target`: each bucket takes a share of the difference proportional to its
/// share of the total, by at most [`MAX_SHIFT_SHARE`] of its width, staying inside it.
fn match_sum(observations: &mut [f64], ranges: &[(usize, usize, f64, f64)], target: f64) {
    let generated: f64 = observations.iter().sum();
    if generated <= 0.0 || target <= 0.0 {
        return;
    }
    let missing = target - generated;
    if (missing / target).abs() < SUM_TOLERANCE {
        return;
    }
    for &(start, n, lower, upper) in ranges {
        let slice = &mut observations[start..start + n];
        let share = slice.iter().sum::<f64>() / generated;
        let limit = (upper - lower) * MAX_SHIFT_SHARE;
        let shift = clip(missing * share / n as f64, -limit, limit);
        for x in slice {
            *x = clip(*x + shift, lower, upper);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Deterministic numbers in `[0, 1)` (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A whole number in `lo..=hi`.
        fn int(&mut self, lo: usize, hi: usize) -> usize {
            lo + (self.next() * (hi - lo + 1) as f64) as usize
        }
    }

    /// A histogram series as a server would expose it, scraped after each batch observed.
    struct Series {
        bounds: Vec<f64>,
        scrapes: Vec<Scrape>,
    }

    impl Series {
        /// The first scrape holds what the server saw before the window (`before`).
        fn new(bounds: &[f64], before: &[f64]) -> Self {
            let empty = Scrape {
                sum: 0.0,
                count: 0.0,
                buckets: vec![0.0; bounds.len()],
            };
            let mut s = Series {
                bounds: bounds.to_vec(),
                scrapes: vec![empty],
            };
            s.observe(before);
            s.scrapes.remove(0);
            s
        }

        /// Observes `values`, then scrapes.
        fn observe(&mut self, values: &[f64]) {
            let mut next = self.scrapes.last().unwrap().clone();
            for &v in values {
                next.sum += v;
                next.count += 1.0;
                for (b, n) in self.bounds.iter().zip(&mut next.buckets) {
                    if v <= *b {
                        *n += 1.0;
                    }
                }
            }
            self.scrapes.push(next);
        }

        /// The window's bucket increases, sum and count, from the first scrape to the last.
        fn window(&self) -> (Vec<f64>, f64, u64) {
            let (a, b) = (&self.scrapes[0], self.scrapes.last().unwrap());
            let cumulative = a
                .buckets
                .iter()
                .zip(&b.buckets)
                .map(|(x, y)| ((y - x) as u64) as f64)
                .collect();
            let count = (b.count - a.count).max(0.0) as u64;
            (cumulative, (b.sum - a.sum).max(0.0), count)
        }

        fn estimate(&self) -> Option<[f64; 9]> {
            let (cumulative, sum, count) = self.window();
            estimate(&self.bounds, &cumulative, &learn(&self.scrapes), sum, count)
        }
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn a_learned_mean_places_observations_clustered_low_in_a_wide_bucket() {
        let mut rng = Rng(7);
        let mut s = Series::new(&[1.0, 10.0, INF], &[]);
        for _ in 0..30 {
            let k = rng.int(1, 3);
            let batch: Vec<f64> = (0..k).map(|_| 1.4 + 0.2 * rng.next()).collect();
            s.observe(&batch);
        }
        let stats = learn(&s.scrapes);
        let mean = stats[1].mean().unwrap();
        assert!((mean - 1.5).abs() < 0.05, "{mean}");
        assert!(stats[0].mean().is_none() && stats[2].mean().is_none());
        let e = s.estimate().unwrap();
        // Spread evenly over (1, 10], the median would be 5.5.
        assert!((e[4] - mean).abs() < 0.1, "{e:?}");
        assert!(e[8] < 2.0, "{e:?}");
    }

    #[test]
    fn observations_above_the_last_bound_are_placed_from_the_exact_sum() {
        let mut s = Series::new(&[1.0, 2.0, INF], &[0.5, 30.0]);
        for _ in 0..10 {
            s.observe(&[0.5, 10.0]);
        }
        // No interval added to one bucket only: nothing learned, the finite ones sit at the
        // midpoint (0.5 each), and the ten above 2 must average (105 − 5) / 10 = 10.
        assert!(learn(&s.scrapes).iter().all(|b| b.mean().is_none()));
        // Those spread evenly from 2 to 18; the ones at or below 1 from 0.05 to 0.95.
        let e = s.estimate().unwrap();
        assert!(e[8] > 10.0, "{e:?}");
        let p99 = 2.0 + 16.0 / 9.0 * (8.0 + 0.81);
        assert!((e[8] - p99).abs() < 1e-9, "{e:?}");
        assert!((e[4] - (0.95 + 0.5 * 1.05)).abs() < 1e-12, "{e:?}");
    }

    #[test]
    fn windows_without_observations_estimate_nothing() {
        let mut s = Series::new(&[1.0, INF], &[0.5, 3.0]);
        s.observe(&[]);
        assert_eq!(s.estimate(), None);
        let stats = learn(&s.scrapes);
        assert_eq!(estimate(&[1.0, INF], &[2.0, 2.0], &stats, 1.0, 0), None);
        assert_eq!(estimate(&[], &[], &stats, 1.0, 2), None);
        assert_eq!(estimate(&[INF], &[2.0], &stats, 1.0, 2), None);
        assert_eq!(estimate(&[1.0], &[2.0], &stats, f64::NAN, 2), None);
        assert_eq!(estimate(&[1.0], &[2.0], &stats, -1.0, 2), None);
        // Observations that add up to nothing were all zero.
        assert_eq!(estimate(&[1.0], &[2.0], &stats, 0.0, 2), Some([0.0; 9]));
    }

    #[test]
    fn only_single_bucket_intervals_teach_and_variance_needs_three() {
        let mut s = Series::new(&[1.0, 2.0, INF], &[]);
        s.observe(&[0.2, 0.4]);
        s.observe(&[0.5, 1.5]);
        s.observe(&[0.6]);
        let stats = learn(&s.scrapes);
        // (0.2 + 0.4) and 0.6, weighted by their counts.
        assert!((stats[0].mean().unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(stats[0].variance(), None);
        assert_eq!(stats[1], BucketStats::default());
        s.observe(&[0.9]);
        let variance = learn(&s.scrapes)[0].variance().unwrap();
        // The interval means 0.3, 0.6 and 0.9.
        assert!((variance - 0.09).abs() < 1e-12, "{variance}");
    }

    /// The interpreter with the Python AIPerf 0.13 installed, or `None` (and why) when there
    /// is none; `AIPERF_REQUIRE_REFERENCE` makes its absence a failure.
    fn reference_python() -> Option<String> {
        let python = std::env::var("AIPERF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let version = Command::new(&python)
            .args([
                "-c",
                "from importlib.metadata import version; print(version('aiperf'))",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        if version.as_deref() == Some("0.13.0") {
            return Some(python);
        }
        let why = format!(
            "aiperf==0.13.0 is not installed for {python} (found {version:?}): histogram \
             estimates not checked against it (set AIPERF_TEST_PYTHON)"
        );
        assert!(
            std::env::var_os("AIPERF_REQUIRE_REFERENCE").is_none(),
            "{why}"
        );
        let _ = std::io::stderr().write_all(format!("{why}\n").as_bytes());
        None
    }

    /// Runs the Python AIPerf's estimator over each series: the window from the first scrape
    /// to the last, the buckets learned from all of its scrapes.
    const REFERENCE_SCRIPT: &str = r#"
import json, sys
from dataclasses import astuple
import numpy as np
from aiperf.server_metrics.histogram_percentiles import (
    accumulate_bucket_statistics, compute_estimated_percentiles)
out = []
for case in json.load(sys.stdin):
    les = tuple(case["les"])
    sums = np.array([s["sum"] for s in case["scrapes"]], dtype=np.float64)
    counts = np.array([s["count"] for s in case["scrapes"]], dtype=np.float64)
    buckets = np.array([s["buckets"] for s in case["scrapes"]], dtype=np.float64)
    count = max(int(counts[-1] - counts[0]), 0)
    total = max(float(sums[-1] - sums[0]), 0.0)
    deltas = {le: int(buckets[-1][i] - buckets[0][i]) for i, le in enumerate(les)}
    stats = accumulate_bucket_statistics(sums, counts, les, buckets, start_idx=0)
    est = compute_estimated_percentiles(deltas, stats, total, count) if count > 0 else None
    learned = {le: [b.estimated_mean, b.estimated_variance] for le, b in stats.items()}
    out.append({"estimates": None if est is None else list(astuple(est)), "learned": learned})
json.dump(out, sys.stdout)
"#;

    fn le(bound: f64) -> String {
        if bound.is_infinite() {
            "+Inf".into()
        } else {
            format!("{bound}")
        }
    }

    /// Series exercising each way of placing observations, the `+Inf` back-calculation,
    /// scaling down, and an empty window.
    fn generated_series() -> Vec<(&'static str, Series)> {
        let mut rng = Rng(0x5eed);
        let mut out = Vec::new();

        // Intervals mostly within one bucket: clustered low (variance-shaped), centred and
        // tight (blended), nearly constant (two-point mass); some mixed.
        let mut s = Series::new(&[0.1, 0.5, 1.0, 2.5, 5.0, INF], &[0.3, 0.7, 1.2]);
        for _ in 0..90 {
            let regime = rng.next();
            let k = rng.int(1, 4);
            let mut batch: Vec<f64> = (0..k)
                .map(|_| {
                    let u = rng.next();
                    match regime {
                        r if r < 0.4 => 0.12 + 0.05 * u,
                        r if r < 0.6 => 0.6 + 0.3 * u,
                        r if r < 0.75 => 1.75 + 0.05 * (u - 0.5),
                        r if r < 0.9 => 3.0 + 1e-7 * u,
                        _ => 0.2 + 4.0 * u,
                    }
                })
                .collect();
            if regime >= 0.9 {
                batch.push(0.05);
            }
            s.observe(&batch);
        }
        out.push(("learned shapes", s));

        // A tail above the last finite bound.
        let mut s = Series::new(&[0.5, 1.0, 2.0, INF], &[0.4, 3.0]);
        for _ in 0..40 {
            let k = rng.int(1, 8);
            let batch: Vec<f64> = (0..k)
                .map(|_| match rng.next() {
                    r if r < 0.85 => 0.1 + 0.8 * rng.next(),
                    _ => 4.0 + 16.0 * rng.next(),
                })
                .collect();
            s.observe(&batch);
        }
        out.push(("+Inf tail", s));

        // Many observations per interval across several buckets.
        let mut s = Series::new(&[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, INF], &[]);
        for _ in 0..25 {
            let k = rng.int(20, 50);
            let batch: Vec<f64> = (0..k).map(|_| -0.8 * (1.0 - rng.next()).ln()).collect();
            s.observe(&batch);
        }
        out.push(("mixed intervals", s));

        // More observations than are generated: everything scaled down.
        let mut s = Series::new(&[1.0, 2.0, 5.0, 10.0, INF], &[2.0]);
        for _ in 0..4 {
            let batch: Vec<f64> = (0..40_001)
                .map(|_| -3.0 * (1.0 - rng.next()).ln())
                .collect();
            s.observe(&batch);
        }
        out.push(("scaled down", s));

        // One bucket with nearly everything and nothing learned: centred on the average.
        let mut s = Series::new(&[0.5, 1.0, 2.5, 5.0, INF], &[]);
        for _ in 0..10 {
            let mut batch: Vec<f64> = (0..40).map(|_| 1.1 + 0.3 * rng.next()).collect();
            batch.push(0.7);
            s.observe(&batch);
        }
        out.push(("dominant bucket", s));

        let mut s = Series::new(&[1.0, INF], &[0.5]);
        s.observe(&[]);
        out.push(("no observations", s));
        out
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
    }

    #[test]
    fn estimates_match_the_python_aiperf() {
        let Some(python) = reference_python() else {
            return;
        };
        let series = generated_series();
        let input: Vec<serde_json::Value> = series
            .iter()
            .map(|(_, s)| {
                serde_json::json!({
                    "les": s.bounds.iter().map(|b| le(*b)).collect::<Vec<_>>(),
                    "scrapes": s.scrapes.iter().map(|x| serde_json::json!({
                        "sum": x.sum, "count": x.count, "buckets": x.buckets,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut child = Command::new(&python)
            .args(["-c", REFERENCE_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the reference interpreter starts");
        let body = serde_json::to_vec(&input).unwrap();
        child.stdin.take().unwrap().write_all(&body).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "the reference script failed");
        let theirs: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();

        for ((name, s), theirs) in series.iter().zip(&theirs) {
            let stats = learn(&s.scrapes);
            for (i, b) in s.bounds.iter().enumerate() {
                let learned = &theirs["learned"][le(*b)];
                let their_mean = learned[0].as_f64();
                let their_variance = learned[1].as_f64();
                let ok = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => close(a, b),
                    (a, b) => a.is_none() && b.is_none(),
                };
                assert!(
                    ok(stats[i].mean(), their_mean) && ok(stats[i].variance(), their_variance),
                    "{name}, bucket {b}: ours {:?} {:?}, theirs {learned}",
                    stats[i].mean(),
                    stats[i].variance()
                );
            }
            let ours = s.estimate();
            match (&ours, theirs["estimates"].as_array()) {
                (None, None) => {}
                (Some(ours), Some(theirs)) => {
                    let theirs: Vec<f64> = theirs.iter().map(|v| v.as_f64().unwrap()).collect();
                    let all = ours.iter().zip(&theirs).all(|(a, b)| close(*a, *b));
                    assert!(all, "{name}: ours {ours:?}, theirs {theirs:?}");
                }
                _ => panic!("{name}: ours {ours:?}, theirs {}", theirs["estimates"]),
            }
        }
        assert_eq!(series.len(), theirs.len());
    }
}
