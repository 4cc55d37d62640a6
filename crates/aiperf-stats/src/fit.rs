//! Curve fitting for the search recipes' post-processing: least-squares polynomials with r²,
//! isotonic (monotone) regression, and monotone cubic (PCHIP) interpolation with root finding.
//! Hand-written: a few dozen lines each, and no maintained crate offers PAVA and PCHIP with
//! SciPy's exact conventions.

/// A least-squares polynomial: coefficients highest degree first (as `numpy.polyfit`).
#[derive(Debug, Clone, PartialEq)]
pub struct Polynomial {
    pub coefficients: Vec<f64>,
    /// Coefficient of determination; 0 when `y` is constant.
    pub r_squared: f64,
}

impl Polynomial {
    pub fn eval(&self, x: f64) -> f64 {
        self.coefficients.iter().fold(0.0, |acc, c| acc * x + c)
    }
}

/// Fits a polynomial of `degree` (1 or 2 in practice) to the points by least squares.
/// `None` with fewer than `degree + 1` points or a singular system (all `x` equal).
pub fn polyfit(xs: &[f64], ys: &[f64], degree: usize) -> Option<Polynomial> {
    let n = degree + 1;
    if xs.len() != ys.len() || xs.len() < n {
        return None;
    }
    // Normal equations on x scaled to [-1, 1] for conditioning, then mapped back.
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if hi <= lo {
        return None;
    }
    let (mid, half) = ((hi + lo) / 2.0, (hi - lo) / 2.0);
    let mut a = vec![vec![0.0; n + 1]; n];
    for (&x, &y) in xs.iter().zip(ys) {
        let t = (x - mid) / half;
        let powers: Vec<f64> = (0..n).map(|k| t.powi(k as i32)).collect();
        for r in 0..n {
            for c in 0..n {
                a[r][c] += powers[r] * powers[c];
            }
            a[r][n] += powers[r] * y;
        }
    }
    let scaled = solve(a)?; // ascending powers of t
    // Expand Σ s_k ((x − mid)/half)^k into ascending powers of x.
    let mut ascending = vec![0.0; n];
    for (k, s) in scaled.iter().enumerate() {
        for (j, coefficient) in ascending.iter_mut().enumerate().take(k + 1) {
            *coefficient += s * binomial(k, j) * (-mid).powi((k - j) as i32) / half.powi(k as i32);
        }
    }
    let coefficients: Vec<f64> = ascending.into_iter().rev().collect();
    let mut p = Polynomial {
        coefficients,
        r_squared: 0.0,
    };
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let ss_tot: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = xs
        .iter()
        .zip(ys)
        .map(|(&x, &y)| (y - p.eval(x)).powi(2))
        .sum();
    p.r_squared = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        0.0
    };
    Some(p)
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Gaussian elimination with partial pivoting on an augmented matrix.
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = a.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (row, values) in a.iter_mut().enumerate() {
            if row != col {
                let f = values[col] / pivot_row[col];
                for (v, p) in values.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..n).map(|i| a[i][n] / a[i][i]).collect())
}

/// Isotonic (non-decreasing) regression by pool-adjacent-violators, with weights.
pub fn isotonic_increasing(ys: &[f64], weights: &[f64]) -> Vec<f64> {
    // Blocks of (weighted mean, total weight, length).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(ys.len());
    for (&y, &w) in ys.iter().zip(weights) {
        blocks.push((y, w, 1));
        while blocks.len() >= 2 {
            let (m2, w2, l2) = blocks[blocks.len() - 1];
            let (m1, w1, l1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.pop();
            let w = w1 + w2;
            *blocks.last_mut().expect("two blocks") = ((m1 * w1 + m2 * w2) / w, w, l1 + l2);
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, _, l)| std::iter::repeat_n(m, l))
        .collect()
}

/// A monotone piecewise cubic through the points (Fritsch–Carlson slopes with SciPy's
/// `PchipInterpolator` conventions: harmonic-mean interior slopes, one-sided three-point ends).
#[derive(Debug, Clone)]
pub struct Pchip {
    xs: Vec<f64>,
    ys: Vec<f64>,
    slopes: Vec<f64>,
}

impl Pchip {
    /// `xs` strictly increasing, at least two points.
    pub fn new(xs: &[f64], ys: &[f64]) -> Option<Self> {
        let n = xs.len();
        if n < 2 || ys.len() != n || xs.windows(2).any(|w| w[1] <= w[0]) {
            return None;
        }
        let h: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let delta: Vec<f64> = ys
            .windows(2)
            .zip(&h)
            .map(|(w, h)| (w[1] - w[0]) / h)
            .collect();
        let mut d = vec![0.0; n];
        if n == 2 {
            d = vec![delta[0]; 2];
        } else {
            for k in 1..n - 1 {
                if delta[k - 1] * delta[k] > 0.0 {
                    let w1 = 2.0 * h[k] + h[k - 1];
                    let w2 = h[k] + 2.0 * h[k - 1];
                    d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k]);
                }
            }
            d[0] = end_slope(h[0], h[1], delta[0], delta[1]);
            d[n - 1] = end_slope(h[n - 2], h[n - 3], delta[n - 2], delta[n - 3]);
        }
        Some(Self {
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            slopes: d,
        })
    }

    pub fn eval(&self, x: f64) -> f64 {
        let n = self.xs.len();
        let k = match self.xs.iter().rposition(|&xi| xi <= x) {
            Some(k) if k >= n - 1 => n - 2,
            Some(k) => k,
            None => 0,
        };
        let h = self.xs[k + 1] - self.xs[k];
        let t = (x - self.xs[k]) / h;
        let (h00, h10, h01, h11) = (
            (1.0 + 2.0 * t) * (1.0 - t).powi(2),
            t * (1.0 - t).powi(2),
            t * t * (3.0 - 2.0 * t),
            t * t * (t - 1.0),
        );
        h00 * self.ys[k]
            + h10 * h * self.slopes[k]
            + h01 * self.ys[k + 1]
            + h11 * h * self.slopes[k + 1]
    }

    /// The first `x` in `[lo, hi]` where the curve crosses zero, by bisection on each interval
    /// with a sign change; `None` when it does not cross.
    pub fn root(&self, lo: f64, hi: f64) -> Option<f64> {
        let mut knots: Vec<f64> = vec![lo];
        knots.extend(self.xs.iter().copied().filter(|&x| x > lo && x < hi));
        knots.push(hi);
        for w in knots.windows(2) {
            let (mut a, mut b) = (w[0], w[1]);
            let (fa, fb) = (self.eval(a), self.eval(b));
            if fa == 0.0 {
                return Some(a);
            }
            if fa * fb > 0.0 {
                continue;
            }
            let mut fa = fa;
            for _ in 0..100 {
                let m = (a + b) / 2.0;
                let fm = self.eval(m);
                if fm == 0.0 || (b - a) < 1e-9 * b.abs().max(1.0) {
                    return Some(m);
                }
                if fa * fm < 0.0 {
                    b = m;
                } else {
                    a = m;
                    fa = fm;
                }
            }
            return Some((a + b) / 2.0);
        }
        None
    }
}

fn end_slope(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if d.signum() != m0.signum() {
        0.0
    } else if m0.signum() != m1.signum() && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyfit_recovers_exact_polynomials() {
        let xs = [128.0, 256.0, 512.0, 1024.0];
        let lin: Vec<f64> = xs.iter().map(|x| 0.05 * x + 12.0).collect();
        let p = polyfit(&xs, &lin, 1).unwrap();
        assert!(
            (p.coefficients[0] - 0.05).abs() < 1e-9 && (p.coefficients[1] - 12.0).abs() < 1e-7,
            "{p:?}"
        );
        assert!((p.r_squared - 1.0).abs() < 1e-12);
        let quad: Vec<f64> = xs.iter().map(|x| 1e-5 * x * x + 0.01 * x + 3.0).collect();
        let q = polyfit(&xs, &quad, 2).unwrap();
        assert!((q.coefficients[0] - 1e-5).abs() < 1e-12, "{q:?}");
        assert!((q.eval(300.0) - (0.9 + 3.0 + 3.0)).abs() < 1e-6);
        assert!(
            polyfit(&xs, &lin, 1).unwrap().r_squared > polyfit(&xs, &quad, 1).unwrap().r_squared
        );
        assert_eq!(
            polyfit(&xs, &[5.0; 4], 1).unwrap().r_squared,
            0.0,
            "constant y"
        );
        assert!(polyfit(&[1.0, 1.0], &[1.0, 2.0], 1).is_none());
        assert!(polyfit(&[1.0], &[1.0], 1).is_none());
    }

    #[test]
    fn pava_matches_known_answers() {
        assert_eq!(
            isotonic_increasing(&[1.0, 3.0, 2.0, 4.0], &[1.0; 4]),
            [1.0, 2.5, 2.5, 4.0]
        );
        assert_eq!(
            isotonic_increasing(&[3.0, 2.0, 1.0], &[1.0; 3]),
            [2.0, 2.0, 2.0]
        );
        assert_eq!(isotonic_increasing(&[1.0, 0.0], &[3.0, 1.0]), [0.75, 0.75]);
        assert!(isotonic_increasing(&[], &[]).is_empty());
    }

    #[test]
    fn pchip_interpolates_monotonically_and_finds_roots() {
        let xs = [1.0, 2.0, 4.0, 8.0];
        let ys = [-3.0, -2.0, 1.0, 5.0];
        let p = Pchip::new(&xs, &ys).unwrap();
        for (x, y) in xs.iter().zip(ys) {
            assert!((p.eval(*x) - y).abs() < 1e-12);
        }
        let grid: Vec<f64> = (0..=70).map(|i| p.eval(1.0 + f64::from(i) * 0.1)).collect();
        assert!(grid.windows(2).all(|w| w[1] >= w[0] - 1e-12), "monotone");
        let r = p.root(1.0, 8.0).unwrap();
        assert!(r > 2.0 && r < 4.0 && p.eval(r).abs() < 1e-6, "{r}");
        assert!(p.root(4.0, 8.0).is_none());
        // Values from scipy.interpolate.PchipInterpolator on the same points.
        assert!(
            (p.eval(3.0) - -0.513_339_920_948_616_6).abs() < 1e-12,
            "{}",
            p.eval(3.0)
        );
        assert!(
            (p.eval(6.0) - 3.280_303_030_303_030_3).abs() < 1e-12,
            "{}",
            p.eval(6.0)
        );
        // Slopes 0, 1.5, 4 (end slope clipped to 0 as SciPy does): 0.5 + 0.1875 + 2 - 0.5.
        let q = Pchip::new(&[0.0, 1.0, 2.0], &[0.0, 1.0, 4.0]).unwrap();
        assert!((q.eval(1.5) - 2.1875).abs() < 1e-9, "{}", q.eval(1.5));
        assert!(Pchip::new(&[1.0, 1.0], &[0.0, 1.0]).is_none());
    }
}
