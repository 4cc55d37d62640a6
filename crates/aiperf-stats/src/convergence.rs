//! When repeated runs of one configuration agree well enough to stop repeating them.
//!
//! Three criteria, as in the reference tool: the relative width of the confidence interval of
//! a metric's per-run statistic, its coefficient of variation, or a two-sample
//! Kolmogorov-Smirnov test between the newest run's per-request values and all earlier runs'.

use crate::Confidence;

/// The relative width `2·t·s/√n / |mean|` of the confidence interval of `values` (one value
/// per run); `None` with fewer than two values or a zero mean.
pub fn ci_width(values: &[f64], level: f64) -> Option<f64> {
    let c = Confidence::of(values, level)?;
    (c.n >= 2 && c.mean != 0.0).then(|| (c.ci_high - c.ci_low) / c.mean.abs())
}

/// The coefficient of variation `s / |mean|` of `values`; `None` with fewer than two values
/// or a zero mean.
pub fn cv(values: &[f64]) -> Option<f64> {
    let c = Confidence::of(values, 0.95)?;
    (c.n >= 2 && c.mean != 0.0).then(|| c.std / c.mean.abs())
}

/// The two-sample Kolmogorov-Smirnov statistic `D` and its p-value for the hypothesis that
/// `a` and `b` come from one distribution; `None` when either has fewer than two values.
///
/// The p-value is the asymptotic Kolmogorov distribution with Stephens' small-sample
/// correction, `Q((√nₑ + 0.12 + 0.11/√nₑ)·D)` with `nₑ = n·m/(n+m)` (Numerical Recipes
/// §14.3); runs have hundreds of requests or more, where it agrees with the exact test. No
/// statistics crate on crates.io offers the two-sample test, hence this.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let mut a: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
    let mut b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0_f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let ne = (n * m / (n + m)).sqrt();
    Some((d, kolmogorov_q((ne + 0.12 + 0.11 / ne) * d)))
}

/// `Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}`, the Kolmogorov survival function.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = sign * (-2.0 * f64::from(j * j) * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_width_and_cv_follow_their_formulas() {
        // mean 100, s = 10, n = 4: t(0.975, 3) = 3.1824, half width 3.1824·10/2.
        let v = [90.0, 100.0, 110.0, 100.0];
        let s = (200.0_f64 / 3.0).sqrt();
        assert!((cv(&v).unwrap() - s / 100.0).abs() < 1e-12);
        let want = 2.0 * 3.182_446_305 * s / 2.0 / 100.0;
        assert!((ci_width(&v, 0.95).unwrap() - want).abs() < 1e-6);
        assert_eq!(ci_width(&[5.0], 0.95), None);
        assert_eq!(cv(&[0.0, 0.0]), None);
    }

    #[test]
    fn ks_matches_scipy_and_tells_distributions_apart() {
        // scipy.stats.ks_2samp([1..=10], [1.5, 2.5, …, 10.5]) gives D = 0.1.
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.5).collect();
        let (d, p) = ks_2samp(&a, &b).unwrap();
        assert!((d - 0.1).abs() < 1e-12);
        assert!(p > 0.99, "{p}");
        // Disjoint samples: D = 1 and a tiny p.
        let c: Vec<f64> = a.iter().map(|x| x + 100.0).collect();
        let (d, p) = ks_2samp(&a, &c).unwrap();
        assert_eq!(d, 1.0);
        assert!(p < 1e-3, "{p}");
        // Same shape, shifted by half its spread, 400 values each: clearly different.
        let u: Vec<f64> = (0..400).map(|i| f64::from(i) / 400.0).collect();
        let shifted: Vec<f64> = u.iter().map(|x| x + 0.2).collect();
        let (d, p) = ks_2samp(&u, &shifted).unwrap();
        assert!((d - 0.2).abs() < 0.01 && p < 1e-6, "{d} {p}");
        assert_eq!(ks_2samp(&[1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn kolmogorov_tail_values() {
        // Q(1.36) ≈ 0.0494 and Q(1.0) ≈ 0.2700 (the classic 5 % and 27 % points).
        assert!((kolmogorov_q(1.36) - 0.0494).abs() < 5e-4);
        assert!((kolmogorov_q(1.0) - 0.2700).abs() < 5e-4);
        assert_eq!(kolmogorov_q(0.0), 1.0);
    }
}
