//! One-dimensional SLA boundary search, assuming the SLA passes below some value of the
//! parameter and fails above it (latency grows with load): exponential probing from the low
//! end until a probe fails, then bisection of the bracket until it is within a relative
//! precision. Each value's verdict latches after `stability` agreeing observations.

use std::collections::BTreeMap;

use super::{Boundary, Observation, Planner};

/// The bracketing state shared by the monotonic and smooth-isotonic planners.
#[derive(Debug, Clone)]
pub(crate) struct Bracket {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) growth: f64,
    pub(crate) precision: f64,
    pub(crate) feasible_max: Option<(f64, usize)>,
    pub(crate) infeasible_min: Option<(f64, usize)>,
    pub(crate) observations: usize,
    pub(crate) non_monotonic: Vec<bool>,
    tally: Tally,
    max_iterations: usize,
}

/// What the bracket wants next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Next {
    Probe(f64),
    /// Bracketed: bisect or refine between the two.
    Refine {
        feasible: f64,
        infeasible: f64,
    },
    Done(&'static str),
}

impl Bracket {
    pub(crate) fn new(
        lo: f64,
        hi: f64,
        growth: f64,
        precision: f64,
        stability: u32,
        max_iterations: usize,
    ) -> Self {
        Self {
            tally: Tally::new(stability),
            max_iterations,
            lo: lo.round().max(1.0),
            hi: hi.round(),
            growth,
            precision,
            feasible_max: None,
            infeasible_min: None,
            observations: 0,
            non_monotonic: Vec::new(),
        }
    }

    /// Counts an observation at `x`, latching its verdict once the stability window agrees;
    /// returns the value to ask again while it has not.
    pub(crate) fn observe(&mut self, x: f64, feasible: bool) -> Option<f64> {
        let idx = self.observations;
        self.observations += 1;
        let (pending, contradicts) = match self.tally.add(x, feasible) {
            Some(verdict) => (None, self.record(x, verdict, idx)),
            None => (Some(x), false),
        };
        self.non_monotonic.push(contradicts);
        pending
    }

    /// The observation budget is spent.
    pub(crate) fn exhausted(&self) -> bool {
        self.observations >= self.max_iterations
    }

    /// Records a latched verdict at `x` from observation `idx`; returns whether it contradicts
    /// the bracket (a pass at or above the lowest failure, or a failure at or below the
    /// highest pass). The bracket only ever tightens.
    pub(crate) fn record(&mut self, x: f64, pass: bool, idx: usize) -> bool {
        if pass {
            if self.infeasible_min.is_some_and(|(f, _)| x >= f) {
                return true;
            }
            if self.feasible_max.is_none_or(|(p, _)| x > p) {
                self.feasible_max = Some((x, idx));
            }
        } else {
            if self.feasible_max.is_some_and(|(p, _)| x <= p) {
                return true;
            }
            if self.infeasible_min.is_none_or(|(f, _)| x < f) {
                self.infeasible_min = Some((x, idx));
            }
        }
        false
    }

    pub(crate) fn next(&self, prefix: &'static str) -> Next {
        let reason = |what: &'static str| -> &'static str {
            match (prefix, what) {
                ("smooth_isotonic", "no_pass") => "smooth_isotonic_no_pass_in_range",
                ("smooth_isotonic", "no_failure") => "smooth_isotonic_no_failure_in_range",
                ("smooth_isotonic", _) => "smooth_isotonic_precision_reached",
                (_, "no_pass") => "monotonic_no_pass_in_range",
                (_, "no_failure") => "monotonic_no_failure_in_range",
                _ => "monotonic_precision_reached",
            }
        };
        match (self.feasible_max, self.infeasible_min) {
            (None, None) => Next::Probe(self.lo),
            (None, Some((f, _))) if f <= self.lo => Next::Done(reason("no_pass")),
            (None, Some((f, _))) => Next::Refine {
                feasible: self.lo - 1.0,
                infeasible: f,
            },
            (Some((p, _)), None) if p >= self.hi => Next::Done(reason("no_failure")),
            (Some((p, _)), None) => {
                let next = (p * self.growth).round().max(p + 1.0);
                Next::Probe(if next >= self.hi { self.hi } else { next })
            }
            (Some((p, _)), Some((f, _))) => {
                let gap = f - p;
                if gap <= 1.0 || gap / f < self.precision {
                    Next::Done(reason("precision"))
                } else {
                    Next::Refine {
                        feasible: p,
                        infeasible: f,
                    }
                }
            }
        }
    }
}

/// The midpoint of an open integer bracket, kept strictly inside it.
pub(crate) fn midpoint(feasible: f64, infeasible: f64) -> f64 {
    let mid = (feasible + ((infeasible - feasible) / 2.0).floor()).round();
    mid.clamp(feasible + 1.0, (infeasible - 1.0).max(feasible + 1.0))
}

/// Tallies of verdicts per value, latching after `k` agreeing ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    k: u32,
    counts: BTreeMap<u64, (u32, u32)>,
}

impl Tally {
    pub(crate) fn new(k: u32) -> Self {
        Self {
            k: k.max(1),
            counts: BTreeMap::new(),
        }
    }

    /// Adds a verdict; returns the latched one, if any.
    pub(crate) fn add(&mut self, x: f64, pass: bool) -> Option<bool> {
        let c = self.counts.entry(x.to_bits()).or_default();
        if pass {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
        if c.0 >= self.k {
            Some(true)
        } else if c.1 >= self.k {
            Some(false)
        } else {
            None
        }
    }
}

/// Exponential probe + bisection (the `monotonic` style).
#[derive(Debug, Clone)]
pub struct MonotonicPlanner {
    bracket: Bracket,
    /// A value whose verdict has not latched yet is asked again.
    pending: Option<f64>,
    asked: Option<f64>,
    reason: Option<&'static str>,
}

impl MonotonicPlanner {
    /// Searches integers in `[lo, hi]`, growing probes by `growth` (e.g. 2 or 4), stopping when
    /// the bracket is within `precision` (e.g. 0.05) of its upper end.
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
            pending: None,
            asked: None,
            reason: None,
        }
    }

    /// Whether observation `idx` contradicted the monotonic assumption.
    pub fn non_monotonic(&self, idx: usize) -> bool {
        self.bracket
            .non_monotonic
            .get(idx)
            .copied()
            .unwrap_or(false)
    }
}

impl Planner for MonotonicPlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        if self.reason.is_some() {
            return None;
        }
        if let Some(x) = self.pending {
            self.asked = Some(x);
            return Some(vec![x]);
        }
        let x = match self.bracket.next("monotonic") {
            Next::Done(reason) => {
                self.reason = Some(reason);
                return None;
            }
            Next::Probe(x) => x,
            Next::Refine {
                feasible,
                infeasible,
            } => midpoint(feasible, infeasible),
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
        self.pending = self.bracket.observe(x, observation.feasible);
        // A value whose verdict has not latched when the budget is spent stays undecided.
        if self.pending.is_some() && self.bracket.exhausted() {
            self.reason = Some("max_iterations");
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
            cliff: false,
            ci: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a planner against "passes iff x ≤ truth"; returns the probes and the planner.
    fn run(mut p: MonotonicPlanner, truth: f64) -> (Vec<f64>, MonotonicPlanner) {
        let mut probes = Vec::new();
        while let Some(x) = p.ask() {
            probes.push(x[0]);
            p.tell(Observation {
                x: x.clone(),
                objective: Some(x[0]),
                feasible: x[0] <= truth,
                margins: vec![Some(x[0] / truth - 1.0)],
            });
        }
        (probes, p)
    }

    #[test]
    fn finds_the_boundary_within_precision() {
        for truth in [1.0, 7.0, 37.0, 100.0, 333.0, 700.0, 999.0] {
            let (probes, p) = run(MonotonicPlanner::new(1.0, 1000.0, 4.0, 0.05, 1, 30), truth);
            let b = p.boundary().unwrap();
            let found = b.feasible_max.unwrap().0;
            assert!(
                found <= truth && (truth - found) / truth <= 0.05,
                "truth {truth}: found {found} via {probes:?}"
            );
            assert!(
                probes.len() <= 12,
                "truth {truth}: {} probes {probes:?}",
                probes.len()
            );
            assert_eq!(p.convergence_reason(), Some("monotonic_precision_reached"));
        }
    }

    #[test]
    fn reports_when_the_range_does_not_bracket() {
        let (probes, p) = run(MonotonicPlanner::new(4.0, 1000.0, 2.0, 0.05, 1, 30), 2.0);
        assert_eq!(probes, [4.0]);
        assert_eq!(p.convergence_reason(), Some("monotonic_no_pass_in_range"));
        let (probes, p) = run(MonotonicPlanner::new(1.0, 100.0, 2.0, 0.05, 1, 30), 5000.0);
        assert_eq!(probes, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]);
        assert_eq!(
            p.convergence_reason(),
            Some("monotonic_no_failure_in_range")
        );
        let (probes, p) = run(MonotonicPlanner::new(1.0, 1000.0, 2.0, 0.05, 1, 3), 500.0);
        assert_eq!(probes.len(), 3);
        assert_eq!(p.convergence_reason(), Some("max_iterations"));
    }

    #[test]
    fn verdicts_latch_after_the_stability_window() {
        let (probes, _) = run(MonotonicPlanner::new(1.0, 16.0, 2.0, 0.05, 2, 100), 5.0);
        // Every value is asked twice before the planner moves on.
        assert!(
            probes.chunks(2).all(|c| c.len() == 2 && c[0] == c[1]),
            "{probes:?}"
        );
    }

    #[test]
    fn contradictions_are_flagged_and_the_bracket_only_tightens() {
        let mut p = MonotonicPlanner::new(1.0, 64.0, 2.0, 0.05, 1, 100);
        let tell = |p: &mut MonotonicPlanner, pass: bool| {
            let x = p.ask().unwrap();
            p.tell(Observation {
                x,
                objective: None,
                feasible: pass,
                margins: vec![],
            });
        };
        tell(&mut p, true); // 1
        tell(&mut p, true); // 2
        tell(&mut p, false); // 4
        tell(&mut p, true); // 3
        assert!(!p.non_monotonic(3));
        let b = p.boundary().unwrap();
        assert_eq!(
            (b.feasible_max.unwrap().0, b.infeasible_min.unwrap().0),
            (3.0, 4.0)
        );
        assert_eq!(p.ask(), None);
        let mut q = MonotonicPlanner::new(1.0, 64.0, 2.0, 0.05, 1, 100);
        tell(&mut q, true); // 1
        tell(&mut q, false); // 2
        assert!(!q.non_monotonic(1));
        assert_eq!(q.ask(), None, "gap of one: done");
        let mut r = Bracket::new(1.0, 64.0, 2.0, 0.05, 1, 100);
        r.record(8.0, true, 0);
        r.record(16.0, false, 1);
        assert!(
            r.record(20.0, true, 2),
            "a pass above a failure contradicts"
        );
        assert!(
            r.record(4.0, false, 3),
            "a failure below a pass contradicts"
        );
        assert_eq!(
            (r.feasible_max.unwrap().0, r.infeasible_min.unwrap().0),
            (8.0, 16.0)
        );
    }
}
