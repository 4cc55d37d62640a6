//! Tree-structured Parzen estimator (Bergstra et al. 2011), the default sampler of Optuna.
//!
//! Observations are ranked (feasible by objective, then infeasible by total SLA violation, then
//! failures) and split into a small "good" group and the rest. Each dimension gets two
//! densities in the unit interval, a mixture of truncated normals around the good points and
//! one around the others, each with a broad prior component. Candidates drawn from the good
//! density are scored by the ratio of the two, and the best unseen one is measured next.
//! Dimensions are modelled independently, as Optuna's default (`multivariate=False`) does.
//!
//! Written here because no maintained Rust crate provides TPE with constraint handling; the
//! whole method is a few density evaluations per candidate.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use statrs::function::erf::erf;

use super::bayes::Stopping;
use super::{BestFeasible, Dim, Observation, Planner};

/// Candidates drawn from the good density per proposal (Optuna's `n_ei_candidates`).
const CANDIDATES: usize = 24;

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// A mixture of normals truncated to `[0, 1]`, with a wide prior component at the centre.
#[derive(Debug, Clone)]
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
}

impl Parzen {
    /// Bandwidths follow the original TPE rule: the larger gap to a neighbour (the prior
    /// counting as a point at 0.5), clipped to `[1 / min(100, n + 1), 1]`.
    fn new(points: &[f64]) -> Self {
        let mut mus: Vec<f64> = points.to_vec();
        mus.push(0.5);
        let mut order: Vec<usize> = (0..mus.len()).collect();
        order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
        let n = mus.len();
        let min_bw = 1.0 / (n as f64 + 1.0).min(100.0);
        let mut sigmas = vec![1.0; n];
        for (rank, &i) in order.iter().enumerate() {
            if i == n - 1 {
                continue; // the prior keeps its full width
            }
            let left = if rank == 0 {
                mus[i]
            } else {
                mus[i] - mus[order[rank - 1]]
            };
            let right = if rank + 1 == n {
                1.0 - mus[i]
            } else {
                mus[order[rank + 1]] - mus[i]
            };
            sigmas[i] = left.max(right).clamp(min_bw, 1.0);
        }
        Self { mus, sigmas }
    }

    fn log_pdf(&self, x: f64) -> f64 {
        let n = self.mus.len() as f64;
        let p: f64 = self
            .mus
            .iter()
            .zip(&self.sigmas)
            .map(|(&mu, &sigma)| {
                let z = (x - mu) / sigma;
                let mass = normal_cdf((1.0 - mu) / sigma) - normal_cdf(-mu / sigma);
                (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt() * mass)
            })
            .sum::<f64>()
            / n;
        p.max(1e-300).ln()
    }

    /// A draw: pick a component, then a normal draw from it, redrawn until inside `[0, 1]`.
    fn sample(&self, rng: &mut Pcg64Mcg) -> f64 {
        let k = rng.random_range(0..self.mus.len());
        for _ in 0..64 {
            // Box-Muller.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let x = self.mus[k] + self.sigmas[k] * z;
            if (0.0..=1.0).contains(&x) {
                return x;
            }
        }
        self.mus[k].clamp(0.0, 1.0)
    }
}

/// Constrained TPE over a box.
#[derive(Debug, Clone)]
pub struct TpePlanner {
    dims: Vec<Dim>,
    n_initial: usize,
    max_iterations: usize,
    stopping: Stopping,
    rng: Pcg64Mcg,
    observations: Vec<Observation>,
    progress: BestFeasible,
    asked: Option<Vec<f64>>,
    reason: Option<&'static str>,
}

impl TpePlanner {
    pub fn new(
        dims: Vec<Dim>,
        n_initial: usize,
        max_iterations: usize,
        stopping: Stopping,
        seed: u64,
    ) -> Self {
        Self {
            dims,
            n_initial: n_initial.max(1),
            max_iterations,
            stopping,
            rng: Pcg64Mcg::seed_from_u64(seed ^ 0x7470_655f_7061_727a),
            observations: Vec::new(),
            progress: BestFeasible::default(),
            asked: None,
            reason: None,
        }
    }

    fn seen(&self, x: &[f64]) -> bool {
        self.observations.iter().any(|o| o.x == x)
    }

    fn random_point(&mut self) -> Vec<f64> {
        let dims = self.dims.clone();
        dims.iter()
            .map(|d| d.from_unit(self.rng.random::<f64>()))
            .collect()
    }

    /// Observation indices from best to worst: feasible by objective, then infeasible by
    /// total violation, then those without an objective.
    fn ranking(&self) -> Vec<usize> {
        let key = |o: &Observation| -> (u8, f64) {
            let violation: f64 = o
                .margins
                .iter()
                .map(|m| m.map_or(1.0, |v| v.max(0.0)))
                .sum();
            match (o.objective.filter(|v| v.is_finite()), o.feasible) {
                (Some(v), true) => (0, -v),
                (Some(_), false) => (1, violation),
                (None, _) => (2, violation),
            }
        };
        let mut idx: Vec<usize> = (0..self.observations.len()).collect();
        idx.sort_by(|&a, &b| {
            let (ka, kb) = (key(&self.observations[a]), key(&self.observations[b]));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        });
        idx
    }

    fn propose(&mut self) -> Vec<f64> {
        let ranked = self.ranking();
        let n = ranked.len();
        // Optuna's default split: the best 10 %, at most 25.
        let n_good = n.div_ceil(10).clamp(1, 25);
        let (good, bad) = ranked.split_at(n_good);
        let units = |set: &[usize], d: usize| -> Vec<f64> {
            set.iter()
                .map(|&i| self.dims[d].to_unit(self.observations[i].x[d]))
                .collect()
        };
        let models: Vec<(Parzen, Parzen)> = (0..self.dims.len())
            .map(|d| (Parzen::new(&units(good, d)), Parzen::new(&units(bad, d))))
            .collect();
        let (dims, rng) = (&self.dims, &mut self.rng);
        let mut scored: Vec<(f64, Vec<f64>)> = (0..CANDIDATES * 4)
            .map(|_| {
                let mut score = 0.0;
                let x: Vec<f64> = models
                    .iter()
                    .zip(dims)
                    .map(|((l, g), dim)| {
                        let v = dim.from_unit(l.sample(rng));
                        let u = dim.to_unit(v);
                        score += l.log_pdf(u) - g.log_pdf(u);
                        v
                    })
                    .collect();
                (score, x)
            })
            .collect();
        // The first CANDIDATES draws compete; later ones stand in when those were all seen
        // (integer dimensions run out of new values).
        scored[..CANDIDATES].sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .iter()
            .find(|(_, x)| !self.seen(x))
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| scored[0].1.clone())
    }

    fn check_convergence(&mut self) {
        let n = self.observations.len();
        if n >= self.max_iterations {
            self.reason = Some("max_iterations");
        } else if n > self.n_initial
            && self.progress.since_improvement >= self.stopping.improvement_patience
        {
            self.reason = Some("improvement_patience");
        }
    }
}

impl Planner for TpePlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        let x = if self.observations.len() < self.n_initial {
            let mut x = self.random_point();
            for _ in 0..16 {
                if !self.seen(&x) {
                    break;
                }
                x = self.random_point();
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

#[cfg(test)]
mod tests {
    use super::super::bayes::RandomPlanner;
    use super::*;

    fn run(p: &mut dyn Planner, f: &dyn Fn(&[f64]) -> f64, g: &dyn Fn(&[f64]) -> f64) -> f64 {
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

    fn no_patience() -> Stopping {
        Stopping {
            improvement_patience: 1000,
            ..Stopping::default()
        }
    }

    #[test]
    fn parzen_density_integrates_to_one_and_peaks_at_its_points() {
        let p = Parzen::new(&[0.2, 0.25, 0.8]);
        let n = 10_000;
        let integral: f64 = (0..n)
            .map(|i| p.log_pdf((f64::from(i) + 0.5) / f64::from(n)).exp())
            .sum::<f64>()
            / f64::from(n);
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
        assert!(p.log_pdf(0.22) > p.log_pdf(0.5));
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        assert!((0..1000).all(|_| (0.0..=1.0).contains(&p.sample(&mut rng))));
    }

    #[test]
    fn tpe_beats_random_search_with_the_same_budget() {
        // A narrow peak in [0, 10]²: random search rarely lands near it.
        let f = |x: &[f64]| -((x[0] - 7.3).powi(2) + (x[1] - 2.1).powi(2));
        let none = |_: &[f64]| -1.0;
        let dims = vec![
            Dim {
                lo: 0.0,
                hi: 10.0,
                integer: false,
                log: false,
            };
            2
        ];
        let (mut tpe_total, mut random_total) = (0.0, 0.0);
        for seed in 0..10 {
            let mut tpe = TpePlanner::new(dims.clone(), 5, 40, no_patience(), seed);
            let mut random = RandomPlanner::new(dims.clone(), 40, seed);
            tpe_total += run(&mut tpe, &f, &none);
            random_total += run(&mut random, &f, &none);
        }
        assert!(
            tpe_total > random_total,
            "TPE {} vs random {}",
            tpe_total / 10.0,
            random_total / 10.0
        );
    }

    #[test]
    fn constraints_steer_it_to_the_sla_boundary() {
        // Throughput grows with concurrency; the SLA caps it at 600.
        let dims = vec![Dim {
            lo: 1.0,
            hi: 1000.0,
            integer: true,
            log: true,
        }];
        let tp = |x: &[f64]| 10.0 * x[0] / (1.0 + x[0] / 800.0);
        let sla = |x: &[f64]| x[0] / 600.0 - 1.0;
        let mut found = Vec::new();
        for seed in 0..5 {
            let mut tpe = TpePlanner::new(dims.clone(), 5, 30, no_patience(), seed);
            found.push(run(&mut tpe, &tp, &sla) / tp(&[600.0]));
        }
        let mean = found.iter().sum::<f64>() / found.len() as f64;
        assert!(mean > 0.85 && found.iter().all(|r| *r <= 1.0), "{found:?}");
    }

    #[test]
    fn same_seed_same_points_and_it_stops() {
        let dims = vec![Dim {
            lo: 1.0,
            hi: 64.0,
            integer: true,
            log: false,
        }];
        let points = || {
            let mut p = TpePlanner::new(dims.clone(), 3, 12, Stopping::default(), 4);
            let mut xs = Vec::new();
            while let Some(x) = p.ask() {
                xs.push(x[0]);
                p.tell(Observation {
                    objective: Some(-(x[0] - 20.0).abs()),
                    x,
                    feasible: true,
                    margins: vec![],
                });
            }
            (xs, p.convergence_reason())
        };
        let (a, reason) = points();
        assert_eq!(a, points().0);
        assert_eq!(a.len(), 12);
        assert_eq!(reason, Some("max_iterations"));
        assert!(
            a.iter()
                .all(|x| x.fract() == 0.0 && (1.0..=64.0).contains(x))
        );
    }
}
