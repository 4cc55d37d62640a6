//! Search planners: pure, seeded ask/tell optimizers over benchmark parameters.
//!
//! A driver asks a planner for the next point, runs a benchmark there, and tells it what was
//! observed. Planners maximize; a driver minimizing an objective negates it. Every planner is
//! deterministic for a given seed and sequence of observations, so a search can be resumed by
//! replaying its history.

pub mod bayes;
pub mod grid;
pub mod isotonic;
pub mod monotonic;
pub mod tpe;

/// One dimension of a search space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dim {
    pub lo: f64,
    pub hi: f64,
    /// Values are integers.
    pub integer: bool,
    /// Sampled uniformly in log space (needs `lo > 0`).
    pub log: bool,
}

impl Dim {
    /// Maps `u ∈ [0, 1]` into the dimension (rounded for integers).
    pub fn from_unit(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if self.log {
            (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp()
        } else {
            self.lo + u * (self.hi - self.lo)
        };
        let v = v.clamp(self.lo, self.hi);
        if self.integer { v.round() } else { v }
    }

    /// Maps a value of the dimension to `[0, 1]`.
    pub fn to_unit(&self, v: f64) -> f64 {
        let u = if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// What one benchmark at a point showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub x: Vec<f64>,
    /// The objective (to maximize); `None` when the benchmark produced no usable value.
    pub objective: Option<f64>,
    /// Every SLA filter passed.
    pub feasible: bool,
    /// Per SLA filter, the signed violation relative to its threshold
    /// (`(observed − threshold) / |threshold|` for upper bounds, sign-flipped for lower
    /// bounds): `≤ 0` passes. `None` when the metric was not measured.
    pub margins: Vec<Option<f64>>,
}

/// The best feasible objective seen and how many observations ago it improved (the
/// model-based planners' patience).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct BestFeasible {
    pub(crate) best: Option<f64>,
    pub(crate) since_improvement: usize,
}

impl BestFeasible {
    pub(crate) fn record(&mut self, o: &Observation) {
        match (o.feasible, o.objective) {
            (true, Some(v)) if self.best.is_none_or(|b| v > b) => {
                self.best = Some(v);
                self.since_improvement = 0;
            }
            _ => self.since_improvement += 1,
        }
    }
}

/// An ask/tell optimizer.
pub trait Planner: std::fmt::Debug {
    /// The next point to measure, or `None` when the search is over.
    fn ask(&mut self) -> Option<Vec<f64>>;
    /// Records the result of the point last asked.
    fn tell(&mut self, observation: Observation);
    /// Why the search stopped (once `ask` returned `None`).
    fn convergence_reason(&self) -> Option<&'static str>;
    /// Whether observation `idx` contradicted a monotone SLA boundary.
    fn non_monotonic(&self, _idx: usize) -> bool {
        false
    }
    /// For one-dimensional SLA searches: the bracket found so far.
    fn boundary(&self) -> Option<Boundary> {
        None
    }
}

/// The SLA boundary of a one-dimensional search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boundary {
    /// Highest value seen passing, with the index of the observation.
    pub feasible_max: Option<(f64, usize)>,
    /// Lowest value seen failing, with the index of the observation.
    pub infeasible_min: Option<(f64, usize)>,
    /// `smooth` or `cliff`.
    pub cliff: bool,
    /// A confidence interval of the boundary, when replicate probes gave one.
    pub ci: Option<(f64, f64)>,
}
