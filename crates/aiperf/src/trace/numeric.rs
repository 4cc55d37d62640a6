//! Descriptive statistics computed the way NumPy computes them (pairwise summation, the
//! population standard deviation, linearly interpolated percentiles, the median of an even
//! count as the mean of the middle two), so the reports of trace analysis and synthesis carry
//! the same numbers as the Python AIPerf's, to the last digit.

/// NumPy's pairwise sum of a contiguous `f64` array.
pub fn sum(values: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |acc, v| acc + v);
    }
    if n <= BLOCK {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += values[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            res += v;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    sum(&values[..half]) + sum(&values[half..])
}

/// The arithmetic mean (`NaN` for no values).
pub fn mean(values: &[f64]) -> f64 {
    sum(values) / values.len() as f64
}

/// The mean of `values` rounded once, as Python's `statistics.mean` computes it (an exact sum
/// divided exactly): a compensated sum, then a division corrected by its remainder.
pub fn exact_mean(values: &[f64]) -> f64 {
    let mut s = 0.0_f64;
    let mut c = 0.0_f64;
    for &v in values {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    let (hi, lo) = (s + c, c - ((s + c) - s));
    let n = values.len() as f64;
    let q = hi / n;
    let remainder = (-q).mul_add(n, hi) + lo;
    q + remainder / n
}

/// The population standard deviation (`ddof = 0`).
pub fn std(values: &[f64]) -> f64 {
    let m = mean(values);
    let squares: Vec<f64> = values
        .iter()
        .map(|v| {
            let d = v - m;
            d * d
        })
        .collect();
    (sum(&squares) / values.len() as f64).sqrt()
}

/// Values sorted ascending (the input to [`percentile`] and [`median`]).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q`th percentile (0–100) of ascending `sorted` values, linearly interpolated between
/// the two nearest ranks.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let virtual_index = q / 100.0 * (n - 1) as f64;
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let lo = (below as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    lerp(sorted[lo], sorted[hi], gamma)
}

/// The median of ascending `sorted` values: the middle one, or the mean of the middle two.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if !n.is_multiple_of(2) {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Interpolation between `a` and `b`, computed from the nearer end for accuracy.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `value` rounded to `digits` decimals, half to even on its exact binary value.
pub fn round_to(value: f64, digits: usize) -> f64 {
    if !value.is_finite() {
        return value;
    }
    format!("{value:.digits$}").parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = sorted(&[600.0, 1500.0, 1000.0, 700.0]);
        assert_eq!(percentile(&v, 25.0), 675.0);
        assert_eq!(percentile(&v, 75.0), 1125.0);
        assert_eq!(median(&v), 850.0);
        assert_eq!(percentile(&v, 0.0), 600.0);
        assert_eq!(percentile(&v, 100.0), 1500.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
    }

    #[test]
    fn mean_and_population_std() {
        let v = [600.0, 1500.0, 1000.0, 700.0];
        assert_eq!(mean(&v), 950.0);
        assert_eq!(std(&v), 350.0);
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn pairwise_sum_adds_long_arrays_in_blocks() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.1).collect();
        let naive: f64 = v.iter().sum();
        assert!((sum(&v) - naive).abs() < 1e-9);
        assert_eq!(sum(&[1.0; 300]), 300.0);
    }

    #[test]
    fn rounding_is_decimal() {
        assert_eq!(round_to(2.675, 2), 2.67); // 2.675 is stored just below 2.675
        assert_eq!(round_to(0.125, 2), 0.12);
        assert_eq!(round_to(1.005, 1), 1.0);
    }
}
