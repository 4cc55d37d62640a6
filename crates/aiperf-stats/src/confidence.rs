//! Confidence statistics across repeated runs: the mean of a per-run statistic with its sample
//! standard deviation and a Student-t confidence interval.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Statistics of one quantity measured once per run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence {
    /// Number of finite values.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (ddof 1); 0 with one value.
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// `std / mean` (a ratio); infinite when the mean is 0 and std is not.
    pub cv: f64,
    /// Standard error of the mean, `std / √n`.
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The two-sided Student-t quantile used; `None` with a single value.
    pub t_critical: Option<f64>,
}

/// The two-sided Student-t critical value for `level` (e.g. 0.95) with `df` degrees of freedom.
pub fn t_critical(level: f64, df: usize) -> Option<f64> {
    if df == 0 || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - level) / 2.0))
}

impl Confidence {
    /// Statistics of the finite values in `values` at confidence `level`; `None` when there
    /// are none.
    pub fn of(values: &[f64], level: f64) -> Option<Self> {
        let xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if n == 1 {
            return Some(Self {
                n,
                mean,
                std: 0.0,
                min,
                max,
                cv: 0.0,
                se: 0.0,
                ci_low: mean,
                ci_high: mean,
                t_critical: None,
            });
        }
        let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let se = std / (n as f64).sqrt();
        let t = t_critical(level, n - 1);
        let half = t.map_or(0.0, |t| t * se);
        let cv = if mean == 0.0 {
            if std == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            std / mean
        };
        Some(Self {
            n,
            mean,
            std,
            min,
            max,
            cv,
            se,
            ci_low: mean - half,
            ci_high: mean + half,
            t_critical: t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_published_tables() {
        // Two-sided 95 %: df 2 → 4.303, df 4 → 2.776, df 9 → 2.262; 99 %, df 4 → 4.604.
        for (level, df, expected) in [
            (0.95, 2, 4.302_652_729_749_462),
            (0.95, 4, 2.776_445),
            (0.95, 9, 2.262_157),
            (0.99, 4, 4.604_095),
        ] {
            let t = t_critical(level, df).unwrap();
            assert!((t - expected).abs() < 1e-5, "t({level}, {df}) = {t}");
        }
        assert_eq!(t_critical(0.95, 0), None);
    }

    #[test]
    fn interval_of_known_values() {
        let c = Confidence::of(&[10.0, 12.0, 14.0, f64::NAN], 0.95).unwrap();
        assert_eq!(c.n, 3);
        assert_eq!(c.mean, 12.0);
        assert_eq!(c.std, 2.0);
        assert!((c.se - 2.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!((c.ci_high - (12.0 + 4.302_652_729_749_462 * c.se)).abs() < 1e-9);
        assert!((c.cv - 2.0 / 12.0).abs() < 1e-12);
        assert_eq!((c.min, c.max), (10.0, 14.0));
    }

    #[test]
    fn single_and_degenerate_inputs() {
        let one = Confidence::of(&[5.0], 0.95).unwrap();
        assert_eq!(
            (one.std, one.ci_low, one.ci_high, one.t_critical),
            (0.0, 5.0, 5.0, None)
        );
        assert!(Confidence::of(&[], 0.95).is_none());
        assert!(Confidence::of(&[f64::INFINITY], 0.95).is_none());
        assert!(Confidence::of(&[-1.0, 1.0], 0.95).unwrap().cv.is_infinite());
        assert_eq!(Confidence::of(&[0.0, 0.0], 0.95).unwrap().cv, 0.0);
    }
}
