//! The `smooth_isotonic` style: bracket like the monotonic planner, then use how far each
//! probe was from the SLA (its margin), not only whether it passed. Margins are made monotone
//! in the parameter by isotonic regression (PAVA), interpolated by a monotone cubic (PCHIP),
//! and the root of that curve inside the bracket is the next probe. Where the margin jumps
//! (a cliff: e.g. KV-cache exhaustion), the curve says nothing useful and it falls back to
//! bisection.

use super::monotonic::{Bracket, Next, midpoint};
use super::{Boundary, Observation, Planner};
use crate::fit::{Pchip, isotonic_increasing};

/// A jump in normalized margin across a bracket narrower than this share of its upper end is
/// treated as a cliff.
const CLIFF_WIDTH: f64 = 0.1;
/// Margin jump (in units of the threshold) that makes a cliff.
const CLIFF_JUMP: f64 = 1.0;

#[derive(Debug, Clone)]
pub struct SmoothIsotonicPlanner {
    bracket: Bracket,
    /// (x, binding margin) of every observation with a measured margin.
    margins: Vec<(f64, f64)>,
    pending: Option<f64>,
    asked: Option<f64>,
    reason: Option<&'static str>,
    cliff: bool,
    fallbacks: usize,
    /// Extra probes at the final passing value, to estimate the boundary's uncertainty.
    replicates: u32,
    replicates_left: Option<u32>,
    seed: u64,
    ci: Option<(f64, f64)>,
}

impl SmoothIsotonicPlanner {
    pub fn new(
        lo: f64,
        hi: f64,
        growth: f64,
        precision: f64,
        stability: u32,
        max_iterations: usize,
    ) -> Self {
        Self {
            bracket: Bracket::new(lo, hi, growth, precision, stability, max_iterations),
            margins: Vec::new(),
            pending: None,
            asked: None,
            reason: None,
            cliff: false,
            fallbacks: 0,
            replicates: 0,
            replicates_left: None,
            seed: 0,
            ci: None,
        }
    }

    /// Re-probes the final passing value `replicates` times once the bracket has converged
    /// (same configuration and seed: common random numbers), and reports a bootstrap
    /// confidence interval of the boundary.
    pub fn with_replicates(mut self, replicates: u32, seed: u64) -> Self {
        self.replicates = replicates.min(20);
        self.seed = seed;
        self
    }

    /// A 95 % bootstrap interval of the boundary: resample the (value, margin) observations,
    /// refit the monotone curve, take its root; the 2.5th and 97.5th percentiles of the roots.
    fn bootstrap_ci(&self) -> Option<(f64, f64)> {
        use rand::{RngExt, SeedableRng};
        let n = self.margins.len();
        let distinct = {
            let mut xs: Vec<f64> = self.margins.iter().map(|m| m.0).collect();
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            xs.len()
        };
        if n < 4 || distinct < 3 {
            return None;
        }
        let (lo, hi) = self
            .margins
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), m| {
                (a.min(m.0), b.max(m.0))
            });
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(self.seed ^ 0x626f_6f74);
        let mut roots = Vec::new();
        for _ in 0..1000 {
            let sample: Vec<(f64, f64)> = (0..n)
                .map(|_| self.margins[rng.random_range(0..n)])
                .collect();
            if let Some(r) = root_of(&sample, lo, hi) {
                roots.push(r);
            }
        }
        if roots.len() < 100 {
            return None;
        }
        roots.sort_by(f64::total_cmp);
        Some((
            crate::percentile_sorted(&roots, 2.5)?,
            crate::percentile_sorted(&roots, 97.5)?,
        ))
    }

    pub fn non_monotonic(&self, idx: usize) -> bool {
        self.bracket
            .non_monotonic
            .get(idx)
            .copied()
            .unwrap_or(false)
    }

    /// The root of the fitted margin curve strictly inside `(feasible, infeasible)`.
    fn fitted_root(&self, feasible: f64, infeasible: f64) -> Option<f64> {
        let mut xs: Vec<f64> = self.margins.iter().map(|m| m.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if xs.len() < 2 {
            return None;
        }
        let means: Vec<f64> = xs
            .iter()
            .map(|x| {
                let v: Vec<f64> = self
                    .margins
                    .iter()
                    .filter(|m| m.0 == *x)
                    .map(|m| m.1)
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            })
            .collect();
        let weights: Vec<f64> = xs
            .iter()
            .map(|x| self.margins.iter().filter(|m| m.0 == *x).count() as f64)
            .collect();
        let fitted = isotonic_increasing(&means, &weights);
        // Cliff: the fitted margin jumps by more than the threshold across a narrow bracket.
        let at = |x: f64| xs.iter().position(|v| *v == x).map(|i| fitted[i]);
        if let (Some(a), Some(b)) = (at(feasible), at(infeasible))
            && b - a > CLIFF_JUMP
            && (infeasible - feasible) / infeasible < CLIFF_WIDTH
        {
            return None;
        }
        let curve = Pchip::new(&xs, &fitted)?;
        let root = curve.root(feasible, infeasible)?;
        // Probe a little past the estimate, away from the nearer end of the bracket, so that
        // an accurate estimate closes the bracket in one or two probes instead of creeping.
        let step = (0.5 * self.bracket.precision * root).floor().max(1.0);
        let lo = feasible + step;
        let hi = infeasible - step;
        if lo > hi {
            return None;
        }
        Some(root.round().clamp(lo, hi))
    }
}

impl Planner for SmoothIsotonicPlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        if let Some(x) = self.pending {
            self.asked = Some(x);
            return Some(vec![x]);
        }
        let x = match self.bracket.next("smooth_isotonic") {
            Next::Done("smooth_isotonic_precision_reached")
                if self.replicates > 0 && self.replicates_left != Some(0) =>
            {
                let left = self.replicates_left.unwrap_or(self.replicates);
                self.replicates_left = Some(left - 1);
                match self.bracket.feasible_max {
                    Some((x, _)) => x,
                    None => return None,
                }
            }
            Next::Done(reason) => {
                self.ci = self.bootstrap_ci();
                self.reason = Some(
                    if self.cliff && reason == "smooth_isotonic_precision_reached" {
                        "smooth_isotonic_cliff_precision_reached"
                    } else {
                        reason
                    },
                );
                return None;
            }
            Next::Probe(x) => x,
            Next::Refine {
                feasible,
                infeasible,
            } => match self.fitted_root(feasible, infeasible) {
                Some(root) if !self.cliff => root,
                _ => {
                    if !self.cliff && self.margins.len() >= 2 {
                        self.fallbacks += 1;
                    }
                    midpoint(feasible, infeasible)
                }
            },
        };
        if self.bracket.exhausted() {
            self.reason = Some("max_iterations");
            return None;
        }
        self.asked = Some(x);
        Some(vec![x])
    }

    fn tell(&mut self, observation: Observation) {
        let x = self.asked.take().unwrap_or(observation.x[0]);
        let binding = observation
            .margins
            .iter()
            .map(|m| m.unwrap_or(f64::INFINITY))
            .fold(f64::NEG_INFINITY, f64::max);
        if binding.is_finite() {
            self.margins.push((x, binding));
        }
        self.pending = self.bracket.observe(x, observation.feasible);
        // A value whose verdict has not latched when the budget is spent stays undecided.
        if self.pending.is_some() && self.bracket.exhausted() {
            self.reason = Some("max_iterations");
        }
        // Cliff detection on the latest bracket.
        if let (Some((p, _)), Some((f, _))) =
            (self.bracket.feasible_max, self.bracket.infeasible_min)
        {
            let m = |x: f64| self.margins.iter().rev().find(|m| m.0 == x).map(|m| m.1);
            if let (Some(a), Some(b)) = (m(p), m(f))
                && b - a > CLIFF_JUMP
                && (f - p) / f < CLIFF_WIDTH
            {
                self.cliff = true;
            }
        }
    }

    fn convergence_reason(&self) -> Option<&'static str> {
        self.reason
    }

    fn non_monotonic(&self, idx: usize) -> bool {
        self.bracket
            .non_monotonic
            .get(idx)
            .copied()
            .unwrap_or(false)
    }

    fn boundary(&self) -> Option<Boundary> {
        Some(Boundary {
            feasible_max: self.bracket.feasible_max,
            infeasible_min: self.bracket.infeasible_min,
            cliff: self.cliff,
            ci: self.ci,
        })
    }
}

/// The root of the isotonic-PCHIP curve through `points` inside `[lo, hi]`.
fn root_of(points: &[(f64, f64)], lo: f64, hi: f64) -> Option<f64> {
    let mut xs: Vec<f64> = points.iter().map(|m| m.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() < 2 {
        return None;
    }
    let means: Vec<f64> = xs
        .iter()
        .map(|x| {
            let v: Vec<f64> = points.iter().filter(|m| m.0 == *x).map(|m| m.1).collect();
            v.iter().sum::<f64>() / v.len() as f64
        })
        .collect();
    let weights: Vec<f64> = xs
        .iter()
        .map(|x| points.iter().filter(|m| m.0 == *x).count() as f64)
        .collect();
    let fitted = isotonic_increasing(&means, &weights);
    Pchip::new(&xs, &fitted)?.root(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::monotonic::MonotonicPlanner;

    fn run(p: &mut dyn Planner, margin: impl Fn(f64) -> f64) -> Vec<f64> {
        let mut probes = Vec::new();
        while let Some(x) = p.ask() {
            probes.push(x[0]);
            let m = margin(x[0]);
            p.tell(Observation {
                x,
                objective: None,
                feasible: m <= 0.0,
                margins: vec![Some(m)],
            });
        }
        probes
    }

    #[test]
    fn smooth_margins_converge_faster_than_bisection() {
        // TTFT grows linearly with load: margin = ttft/threshold - 1, boundary at 437.
        let margin = |x: f64| (20.0 + 0.4 * x) / (20.0 + 0.4 * 437.0) - 1.0;
        let mut s = SmoothIsotonicPlanner::new(1.0, 1000.0, 4.0, 0.01, 1, 40);
        let smooth = run(&mut s, margin);
        let b = s.boundary().unwrap().feasible_max.unwrap().0;
        assert!(
            (437.0 - b) / 437.0 <= 0.01 && b <= 437.0,
            "{b} via {smooth:?}"
        );
        let mut m = MonotonicPlanner::new(1.0, 1000.0, 4.0, 0.01, 1, 40);
        let mono = run(&mut m, margin);
        assert!(
            smooth.len() < mono.len(),
            "smooth {smooth:?} vs monotonic {mono:?}"
        );
        assert_eq!(
            s.convergence_reason(),
            Some("smooth_isotonic_precision_reached")
        );
    }

    #[test]
    fn replicates_give_a_boundary_interval() {
        // A noisy linear margin around a boundary at 437 (deterministic pseudo-noise).
        let noisy = |x: f64| {
            let noise = ((x * 12.9898).sin() * 43_758.545_3).fract() * 0.04 - 0.02;
            (20.0 + 0.4 * x) / (20.0 + 0.4 * 437.0) - 1.0 + noise
        };
        let mut s = SmoothIsotonicPlanner::new(1.0, 1000.0, 4.0, 0.01, 1, 60).with_replicates(5, 7);
        let probes = run(&mut s, noisy);
        let b = s.boundary().unwrap();
        let (lo, hi) = b.ci.expect("an interval");
        assert!(
            lo <= hi && lo > 300.0 && hi < 600.0,
            "{lo}..{hi} via {probes:?}"
        );
        let last = *probes.last().unwrap();
        assert_eq!(
            probes.iter().filter(|p| **p == last).count(),
            6,
            "five replicates of the final value"
        );
    }

    #[test]
    fn the_budget_holds_while_a_verdict_has_not_latched() {
        // Verdicts alternate: with a stability window of 2, two observations decide nothing.
        let mut s = SmoothIsotonicPlanner::new(1.0, 1000.0, 4.0, 0.01, 2, 2);
        let mut n = 0;
        while let Some(x) = s.ask() {
            n += 1;
            s.tell(Observation {
                x,
                objective: None,
                feasible: n % 2 == 0,
                margins: vec![],
            });
        }
        assert_eq!(n, 2);
        assert_eq!(s.convergence_reason(), Some("max_iterations"));
    }

    #[test]
    fn cliffs_fall_back_to_bisection() {
        // Flat, then a wall at 300.
        let margin = |x: f64| if x <= 300.0 { -0.5 } else { 5.0 };
        let mut s = SmoothIsotonicPlanner::new(1.0, 1000.0, 4.0, 0.02, 1, 40);
        run(&mut s, margin);
        let b = s.boundary().unwrap();
        let found = b.feasible_max.unwrap().0;
        assert!(found <= 300.0 && (300.0 - found) / 300.0 <= 0.02, "{b:?}");
        assert!(b.cliff);
        assert_eq!(
            s.convergence_reason(),
            Some("smooth_isotonic_cliff_precision_reached")
        );
    }
}
