//! Bayesian optimization with SLA constraints.
//!
//! A Gaussian process (Matérn 5/2 kernel with one length scale per dimension, hyperparameters
//! chosen by maximum marginal likelihood over a seeded random set) models the objective, and
//! one more models each SLA margin. The next point maximizes expected improvement over the
//! best *feasible* value times the probability that every SLA holds (Gardner et al. 2014);
//! before anything feasible is seen it maximizes the probability of feasibility alone, so
//! infeasible regions are learned rather than only penalized.
//!
//! Written here because the maintained Rust BO crates either pull in a BLAS/LAPACK stack or
//! have no constraint handling; with at most a few hundred observations a dense Cholesky
//! factorization is all the linear algebra needed.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use statrs::function::erf::erf;

use super::{BestFeasible, Dim, Observation, Planner};

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Lower-triangular Cholesky factor of a symmetric positive-definite matrix.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves `L·x = b` then `Lᵀ·y = x`.
fn cho_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = l.len();
    let mut x = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / l[i][i];
    }
    let mut y = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * y[k]).sum();
        y[i] = (x[i] - s) / l[i][i];
    }
    y
}

fn forward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = l.len();
    let mut x = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / l[i][i];
    }
    x
}

/// Kernel hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    pub lengthscales: Vec<f64>,
    pub signal: f64,
    pub noise: f64,
}

fn matern52(a: &[f64], b: &[f64], h: &Hyper) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(&h.lengthscales)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum();
    let r = (5.0 * r2).sqrt();
    h.signal * (1.0 + r + 5.0 * r2 / 3.0) * (-r).exp()
}

/// A fitted Gaussian process on standardized targets.
#[derive(Debug, Clone)]
pub struct Gp {
    xs: Vec<Vec<f64>>,
    hyper: Hyper,
    l: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    mean: f64,
    scale: f64,
}

impl Gp {
    fn factor(xs: &[Vec<f64>], h: &Hyper) -> Option<Vec<Vec<f64>>> {
        let n = xs.len();
        let mut k = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..=i {
                let v = matern52(&xs[i], &xs[j], h);
                k[i][j] = v;
                k[j][i] = v;
            }
            k[i][i] += h.noise + 1e-9;
        }
        cholesky(&k)
    }

    /// Log marginal likelihood of standardized `ys` under `h`.
    fn log_likelihood(xs: &[Vec<f64>], ys: &[f64], h: &Hyper) -> Option<f64> {
        let l = Self::factor(xs, h)?;
        let alpha = cho_solve(&l, ys);
        let fit: f64 = ys.iter().zip(&alpha).map(|(y, a)| y * a).sum();
        let log_det: f64 = l.iter().enumerate().map(|(i, r)| r[i].ln()).sum();
        Some(-0.5 * fit - log_det - 0.5 * ys.len() as f64 * (2.0 * std::f64::consts::PI).ln())
    }

    /// Fits the process to `(xs, ys)` (xs in the unit cube), choosing hyperparameters by
    /// maximum likelihood over `candidates` random draws.
    pub fn fit(xs: &[Vec<f64>], ys: &[f64], rng: &mut Pcg64Mcg, candidates: usize) -> Option<Self> {
        if xs.is_empty() {
            return None;
        }
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let var = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n;
        let scale = if var > 1e-24 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = ys.iter().map(|y| (y - mean) / scale).collect();
        let d = xs[0].len();
        let log_uniform = |rng: &mut Pcg64Mcg, lo: f64, hi: f64| {
            (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
        };
        let mut best: Option<(f64, Hyper)> = None;
        let default = Hyper {
            lengthscales: vec![0.3; d],
            signal: 1.0,
            noise: 1e-3,
        };
        let mut consider = |h: Hyper| {
            if let Some(ll) = Self::log_likelihood(xs, &z, &h)
                && best.as_ref().is_none_or(|(b, _)| ll > *b)
            {
                best = Some((ll, h));
            }
        };
        consider(default);
        for _ in 0..candidates {
            let h = Hyper {
                lengthscales: (0..d).map(|_| log_uniform(rng, 0.05, 3.0)).collect(),
                signal: log_uniform(rng, 0.3, 3.0),
                noise: log_uniform(rng, 1e-6, 0.3),
            };
            consider(h);
        }
        let (_, hyper) = best?;
        let l = Self::factor(xs, &hyper)?;
        let alpha = cho_solve(&l, &z);
        Some(Self {
            xs: xs.to_vec(),
            hyper,
            l,
            alpha,
            mean,
            scale,
        })
    }

    /// Posterior mean and standard deviation at `x`, in the original units.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let k: Vec<f64> = self
            .xs
            .iter()
            .map(|xi| matern52(xi, x, &self.hyper))
            .collect();
        let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = forward(&self.l, &k);
        let var = (self.hyper.signal - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        (self.mean + self.scale * mu, self.scale * var.sqrt())
    }

    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }
}

/// Expected improvement of a maximization over `best`.
pub fn expected_improvement(mu: f64, sigma: f64, best: f64) -> f64 {
    if sigma <= 0.0 {
        return (mu - best).max(0.0);
    }
    let z = (mu - best) / sigma;
    (mu - best) * normal_cdf(z) + sigma * normal_pdf(z)
}

/// Stopping rules besides the iteration budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopping {
    /// Stop after this many iterations without a better feasible objective.
    pub improvement_patience: usize,
    /// Stop when the last `plateau_window` objectives vary less than `plateau_threshold`
    /// (coefficient of variation).
    pub plateau_window: usize,
    pub plateau_threshold: f64,
}

impl Default for Stopping {
    fn default() -> Self {
        Self {
            improvement_patience: 10,
            plateau_window: 8,
            plateau_threshold: 0.01,
        }
    }
}

/// Constrained Bayesian optimization over a box.
#[derive(Debug, Clone)]
pub struct BayesianPlanner {
    dims: Vec<Dim>,
    n_initial: usize,
    max_iterations: usize,
    stopping: Stopping,
    rng: Pcg64Mcg,
    /// Latin-hypercube strata of the initial design, per dimension.
    strata: Vec<Vec<usize>>,
    observations: Vec<Observation>,
    progress: BestFeasible,
    asked: Option<Vec<f64>>,
    reason: Option<&'static str>,
    /// Improvement is measured from the best posterior mean at a feasible observation (noisy
    /// expected improvement) rather than the best observed value.
    noisy: bool,
}

impl BayesianPlanner {
    /// Noisy expected improvement: the incumbent is the model's best mean at the feasible
    /// points observed, not their best noisy observation, so one lucky measurement does not
    /// set the bar (Letham et al. 2019).
    pub fn with_noisy_incumbent(mut self, noisy: bool) -> Self {
        self.noisy = noisy;
        self
    }

    pub fn new(
        dims: Vec<Dim>,
        n_initial: usize,
        max_iterations: usize,
        stopping: Stopping,
        seed: u64,
    ) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x6261_7965_7369_616e);
        let n = n_initial.max(1);
        let strata = dims
            .iter()
            .map(|_| {
                let mut p: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = rng.random_range(0..=i);
                    p.swap(i, j);
                }
                p
            })
            .collect();
        Self {
            dims,
            n_initial: n,
            max_iterations,
            stopping,
            rng,
            strata,
            observations: Vec::new(),
            progress: BestFeasible::default(),
            asked: None,
            reason: None,
            noisy: false,
        }
    }

    fn unit_of(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.dims)
            .map(|(v, d)| d.to_unit(*v))
            .collect()
    }

    fn point_of(&self, u: &[f64]) -> Vec<f64> {
        u.iter()
            .zip(&self.dims)
            .map(|(v, d)| d.from_unit(*v))
            .collect()
    }

    fn seen(&self, x: &[f64]) -> bool {
        self.observations.iter().any(|o| o.x == x)
    }

    fn initial_point(&mut self, i: usize) -> Vec<f64> {
        let u: Vec<f64> = (0..self.dims.len())
            .map(|d| {
                (self.strata[d][i % self.n_initial] as f64 + self.rng.random::<f64>())
                    / self.n_initial as f64
            })
            .collect();
        self.point_of(&u)
    }

    /// Objective values for the GP: failures get a value below the worst seen.
    fn objective_targets(&self) -> Vec<f64> {
        let scored: Vec<f64> = self
            .observations
            .iter()
            .filter_map(|o| o.objective)
            .collect();
        let worst = scored.iter().copied().fold(f64::INFINITY, f64::min);
        let sentinel = if worst.is_finite() {
            worst - (0.1 * worst.abs()).max(1.0)
        } else {
            0.0
        };
        self.observations
            .iter()
            .map(|o| o.objective.filter(|v| v.is_finite()).unwrap_or(sentinel))
            .collect()
    }

    fn propose(&mut self) -> Vec<f64> {
        let xs: Vec<Vec<f64>> = self
            .observations
            .iter()
            .map(|o| self.unit_of(&o.x))
            .collect();
        let ys = self.objective_targets();
        let gp = Gp::fit(&xs, &ys, &mut self.rng, 48);
        let n_constraints = self
            .observations
            .iter()
            .map(|o| o.margins.len())
            .max()
            .unwrap_or(0);
        let constraints: Vec<Gp> = (0..n_constraints)
            .filter_map(|j| {
                let measured: Vec<f64> = self
                    .observations
                    .iter()
                    .filter_map(|o| o.margins.get(j).copied().flatten())
                    .collect();
                let worst = measured.iter().copied().fold(0.0_f64, f64::max) + 1.0;
                let m: Vec<f64> = self
                    .observations
                    .iter()
                    .map(|o| o.margins.get(j).copied().flatten().unwrap_or(worst))
                    .collect();
                Gp::fit(&xs, &m, &mut self.rng, 24)
            })
            .collect();
        let best_feasible = match (&gp, self.noisy) {
            (Some(gp), true) => self
                .observations
                .iter()
                .filter(|o| o.feasible && o.objective.is_some())
                .map(|o| gp.predict(&self.unit_of(&o.x)).0)
                .fold(f64::NEG_INFINITY, f64::max),
            _ => self
                .observations
                .iter()
                .filter(|o| o.feasible)
                .filter_map(|o| o.objective)
                .fold(f64::NEG_INFINITY, f64::max),
        };
        let any_feasible = best_feasible.is_finite();
        let score = |u: &[f64]| -> f64 {
            let pof: f64 = constraints
                .iter()
                .map(|c| {
                    let (m, s) = c.predict(u);
                    normal_cdf(-m / s)
                })
                .product();
            match (&gp, any_feasible) {
                (Some(gp), true) => {
                    let (mu, sigma) = gp.predict(u);
                    expected_improvement(mu, sigma, best_feasible) * pof
                }
                (Some(gp), false) if constraints.is_empty() => gp.predict(u).1,
                _ => pof,
            }
        };
        // Candidates: random points plus perturbations of the best feasible observation.
        let d = self.dims.len();
        let mut candidates: Vec<Vec<f64>> = (0..1024)
            .map(|_| (0..d).map(|_| self.rng.random::<f64>()).collect())
            .collect();
        if let Some(best) = self
            .observations
            .iter()
            .filter(|o| o.feasible && o.objective.is_some())
            .max_by(|a, b| {
                a.objective
                    .partial_cmp(&b.objective)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        {
            let centre = self.unit_of(&best.x);
            for _ in 0..256 {
                candidates.push(
                    centre
                        .iter()
                        .map(|c| (c + (self.rng.random::<f64>() - 0.5) * 0.2).clamp(0.0, 1.0))
                        .collect(),
                );
            }
        }
        let mut scored: Vec<(f64, Vec<f64>)> = candidates
            .into_iter()
            .map(|u| {
                let x = self.point_of(&u);
                (score(&self.unit_of(&x)), x)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .iter()
            .find(|(_, x)| !self.seen(x))
            .or(scored.first())
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| self.point_of(&vec![0.5; d]))
    }

    fn check_convergence(&mut self) {
        let n = self.observations.len();
        if n >= self.max_iterations {
            self.reason = Some("max_iterations");
        } else if n > self.n_initial
            && self.progress.since_improvement >= self.stopping.improvement_patience
        {
            self.reason = Some("improvement_patience");
        } else if n >= self.stopping.plateau_window.max(2) && n > self.n_initial {
            let last: Option<Vec<f64>> = self.observations[n - self.stopping.plateau_window..]
                .iter()
                .map(|o| o.objective)
                .collect();
            if let Some(v) = last {
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64)
                    .sqrt();
                if mean.abs() > 1e-9 && sd / mean.abs() < self.stopping.plateau_threshold {
                    self.reason = Some("plateau_cv");
                }
            }
        }
    }
}

impl Planner for BayesianPlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        let i = self.observations.len();
        let x = if i < self.n_initial {
            let mut x = self.initial_point(i);
            for _ in 0..16 {
                if !self.seen(&x) {
                    break;
                }
                x = self.initial_point(i);
            }
            x
        } else {
            self.propose()
        };
        self.asked = Some(x.clone());
        Some(x)
    }

    fn tell(&mut self, mut observation: Observation) {
        if let Some(x) = self.asked.take() {
            observation.x = x;
        }
        self.progress.record(&observation);
        self.observations.push(observation);
        self.check_convergence();
    }

    fn convergence_reason(&self) -> Option<&'static str> {
        self.reason
    }
}

/// Random search over the same box, for comparisons.
#[derive(Debug, Clone)]
pub struct RandomPlanner {
    dims: Vec<Dim>,
    rng: Pcg64Mcg,
    left: usize,
}

impl RandomPlanner {
    pub fn new(dims: Vec<Dim>, budget: usize, seed: u64) -> Self {
        Self {
            dims,
            rng: Pcg64Mcg::seed_from_u64(seed),
            left: budget,
        }
    }
}

impl Planner for RandomPlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        (self.left > 0).then(|| {
            self.dims
                .iter()
                .map(|d| d.from_unit(self.rng.random::<f64>()))
                .collect()
        })
    }

    fn tell(&mut self, _observation: Observation) {
        self.left = self.left.saturating_sub(1);
    }

    fn convergence_reason(&self) -> Option<&'static str> {
        (self.left == 0).then_some("max_iterations")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(lo: f64, hi: f64) -> Dim {
        Dim {
            lo,
            hi,
            integer: false,
            log: false,
        }
    }

    /// The best feasible objective a planner finds on `f` with SLA margin `g` (≤ 0 passes).
    fn best_found(
        p: &mut dyn Planner,
        f: &dyn Fn(&[f64]) -> f64,
        g: &dyn Fn(&[f64]) -> f64,
    ) -> f64 {
        let mut best = f64::NEG_INFINITY;
        while let Some(x) = p.ask() {
            let (v, m) = (f(&x), g(&x));
            if m <= 0.0 {
                best = best.max(v);
            }
            p.tell(Observation {
                x,
                objective: Some(v),
                feasible: m <= 0.0,
                margins: vec![Some(m)],
            });
        }
        best
    }

    #[test]
    fn gp_interpolates_and_is_uncertain_away_from_data() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let xs: Vec<Vec<f64>> = (0..8).map(|i| vec![f64::from(i) / 7.0]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| (6.0 * x[0]).sin()).collect();
        let gp = Gp::fit(&xs, &ys, &mut rng, 64).unwrap();
        for (x, y) in xs.iter().zip(&ys) {
            let (m, _) = gp.predict(x);
            assert!((m - y).abs() < 0.05, "{m} vs {y}");
        }
        let (m, s) = gp.predict(&[0.5]);
        assert!((m - 3f64.sin()).abs() < 0.15, "{m}");
        let near = gp.predict(&[3.0 / 7.0]).1;
        assert!(s > near, "between points is less certain than at one");
    }

    #[test]
    fn bayesian_beats_random_search_with_the_same_budget() {
        // Branin on [-5, 10] × [0, 15], negated: the maximum is −0.397887.
        let branin = |x: &[f64]| {
            let (a, b, c) = (
                1.0,
                5.1 / (4.0 * std::f64::consts::PI.powi(2)),
                5.0 / std::f64::consts::PI,
            );
            let (r, s, t) = (6.0, 10.0, 1.0 / (8.0 * std::f64::consts::PI));
            -(a * (x[1] - b * x[0] * x[0] + c * x[0] - r).powi(2) + s * (1.0 - t) * x[0].cos() + s)
        };
        let none = |_: &[f64]| -1.0;
        let dims = vec![real(-5.0, 10.0), real(0.0, 15.0)];
        let (mut bo_total, mut random_total) = (0.0, 0.0);
        for seed in 0..5 {
            let mut bo = BayesianPlanner::new(
                dims.clone(),
                5,
                25,
                Stopping {
                    improvement_patience: 100,
                    ..Stopping::default()
                },
                seed,
            );
            let mut random = RandomPlanner::new(dims.clone(), 25, seed);
            bo_total += best_found(&mut bo, &branin, &none);
            random_total += best_found(&mut random, &branin, &none);
        }
        assert!(
            bo_total / 5.0 > random_total / 5.0,
            "BO {} vs random {}",
            bo_total / 5.0,
            random_total / 5.0
        );
        assert!(
            bo_total / 5.0 > -1.5,
            "BO gets near the optimum (−0.398): {}",
            bo_total / 5.0
        );
    }

    #[test]
    fn constraints_are_learned() {
        // Throughput grows with concurrency; the SLA caps it at 600.
        let dims = vec![Dim {
            lo: 1.0,
            hi: 1000.0,
            integer: true,
            log: true,
        }];
        let tp = |x: &[f64]| 10.0 * x[0] / (1.0 + x[0] / 800.0);
        let sla = |x: &[f64]| x[0] / 600.0 - 1.0;
        let mut bo = BayesianPlanner::new(dims, 5, 20, Stopping::default(), 3);
        let best = best_found(&mut bo, &tp, &sla);
        let optimum = tp(&[600.0]);
        assert!(
            best >= 0.95 * optimum && best <= optimum,
            "{best} vs {optimum}"
        );
    }

    #[test]
    fn noisy_expected_improvement_learns_the_constraint_too() {
        let dims = vec![Dim {
            lo: 1.0,
            hi: 1000.0,
            integer: true,
            log: true,
        }];
        // A noisy throughput: the incumbent is the model's mean, not a lucky draw.
        let tp = |x: &[f64]| 10.0 * x[0] / (1.0 + x[0] / 800.0) * (1.0 + 0.02 * (x[0] * 7.3).sin());
        let sla = |x: &[f64]| x[0] / 600.0 - 1.0;
        let mut bo = BayesianPlanner::new(dims.clone(), 5, 20, Stopping::default(), 3)
            .with_noisy_incumbent(true);
        let best = best_found(&mut bo, &tp, &sla);
        let optimum = 10.0 * 600.0 / (1.0 + 600.0 / 800.0);
        assert!(best >= 0.9 * optimum, "{best} vs {optimum}");
        // Deterministic for its seed, like the plain planner.
        let mut again =
            BayesianPlanner::new(dims, 5, 20, Stopping::default(), 3).with_noisy_incumbent(true);
        assert_eq!(best_found(&mut again, &tp, &sla), best);
    }

    #[test]
    fn planners_are_deterministic_and_stop() {
        let dims = vec![real(0.0, 1.0)];
        let run = || {
            let mut p = BayesianPlanner::new(dims.clone(), 3, 8, Stopping::default(), 9);
            let mut xs = Vec::new();
            while let Some(x) = p.ask() {
                xs.push(x[0]);
                p.tell(Observation {
                    x,
                    objective: Some(1.0),
                    feasible: true,
                    margins: vec![],
                });
            }
            (xs, p.convergence_reason())
        };
        let (a, reason) = run();
        assert_eq!(a, run().0);
        assert!(a.len() <= 8);
        assert!(
            matches!(
                reason,
                Some("plateau_cv" | "improvement_patience" | "max_iterations")
            ),
            "{reason:?}"
        );
    }
}
