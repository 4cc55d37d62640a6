//! Log-spaced grids and a planner that walks one.

use super::{Observation, Planner};

/// Rounds half to even, as Python's `round`.
pub fn round_half_even(v: f64) -> f64 {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - v.signum()
    } else {
        r
    }
}

/// `steps` log-spaced integers over `[lo, hi]`: rounded half to even, at least 1,
/// de-duplicated, sorted, endpoints included. `None` unless `0 < lo < hi` and `steps ≥ 2`.
pub fn log_grid(lo: f64, hi: f64, steps: usize) -> Option<Vec<u64>> {
    if !(lo > 0.0 && hi > lo && steps >= 2) {
        return None;
    }
    let (a, b) = (lo.ln(), hi.ln());
    let mut v: Vec<u64> = (0..steps)
        .map(|i| {
            let x = (a + (b - a) * i as f64 / (steps - 1) as f64).exp();
            round_half_even(x).max(1.0) as u64
        })
        .collect();
    v.push(round_half_even(lo).max(1.0) as u64);
    v.push(round_half_even(hi).max(1.0) as u64);
    v.sort_unstable();
    v.dedup();
    Some(v)
}

/// Measures a fixed list of points in order.
#[derive(Debug, Clone)]
pub struct GridPlanner {
    points: Vec<Vec<f64>>,
    next: usize,
}

impl GridPlanner {
    pub fn new(points: Vec<Vec<f64>>) -> Self {
        Self { points, next: 0 }
    }
}

impl Planner for GridPlanner {
    fn ask(&mut self) -> Option<Vec<f64>> {
        self.points.get(self.next).cloned()
    }

    fn tell(&mut self, _observation: Observation) {
        self.next += 1;
    }

    fn convergence_reason(&self) -> Option<&'static str> {
        (self.next >= self.points.len()).then_some("grid_exhausted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_match_the_reference_values() {
        assert_eq!(
            log_grid(1.0, 1000.0, 8).unwrap(),
            [1, 3, 7, 19, 52, 139, 373, 1000]
        );
        assert_eq!(log_grid(1.0, 200.0, 6).unwrap(), [1, 3, 8, 24, 69, 200]);
        assert_eq!(log_grid(64.0, 1024.0, 4).unwrap(), [64, 161, 406, 1024]);
        assert_eq!(
            log_grid(256.0, 32768.0, 8).unwrap(),
            [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
        );
        assert_eq!(log_grid(1.0, 2.0, 8).unwrap(), [1, 2], "de-duplicated");
        assert!(log_grid(0.0, 10.0, 3).is_none());
        assert!(log_grid(5.0, 5.0, 3).is_none());
        assert!(log_grid(1.0, 5.0, 1).is_none());
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(3.5), 4.0);
    }

    #[test]
    fn grid_planner_walks_its_points() {
        let mut g = GridPlanner::new(vec![vec![1.0], vec![2.0]]);
        let obs = |x: f64| Observation {
            x: vec![x],
            objective: Some(x),
            feasible: true,
            margins: vec![],
        };
        assert_eq!(g.ask(), Some(vec![1.0]));
        g.tell(obs(1.0));
        assert_eq!(g.ask(), Some(vec![2.0]));
        assert_eq!(g.convergence_reason(), None);
        g.tell(obs(2.0));
        assert_eq!(g.ask(), None);
        assert_eq!(g.convergence_reason(), Some("grid_exhausted"));
    }
}
