//! Cross-cell analysis of a parameter sweep: best cells, the Pareto frontier of a quantity to
//! maximize against one to minimize, and trends along a single swept parameter.

/// Index of the largest value; `None` if any value is missing (every cell must have the
/// metric) or there are none. Ties go to the first.
pub fn argmax(values: &[Option<f64>]) -> Option<usize> {
    best_by(values, |a, b| a > b)
}

/// Index of the smallest value, under the same rules as [`argmax`].
pub fn argmin(values: &[Option<f64>]) -> Option<usize> {
    best_by(values, |a, b| a < b)
}

fn best_by(values: &[Option<f64>], better: impl Fn(f64, f64) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        let v = (*v)?;
        if !v.is_finite() {
            return None;
        }
        if best.is_none_or(|(_, b)| better(v, b)) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Which points are Pareto optimal when `maximize` should be high and `minimize` low.
///
/// A point is dropped only if another point is at least as good on both objectives and
/// strictly better on one; identical points are all kept. An empty result when any point
/// lacks a value (the frontier is undefined).
pub fn pareto_optimal(maximize: &[Option<f64>], minimize: &[Option<f64>]) -> Vec<usize> {
    let points: Option<Vec<(f64, f64)>> = maximize
        .iter()
        .zip(minimize)
        .map(|(a, b)| Some((a.filter(|v| v.is_finite())?, b.filter(|v| v.is_finite())?)))
        .collect();
    let Some(points) = points else {
        return Vec::new();
    };
    (0..points.len())
        .filter(|&i| {
            let (ti, li) = points[i];
            !points
                .iter()
                .enumerate()
                .any(|(j, &(tj, lj))| j != i && tj >= ti && lj <= li && (tj > ti || lj < li))
        })
        .collect()
}

/// How a metric changes along a single swept parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// `value[i + 1] − value[i]`.
    pub rate_of_change: Vec<f64>,
    /// Indices (into the parameter values) where the trend changes: the slope
    /// (`Δvalue / Δparameter`) flips sign, or changes by more than half of the previous slope.
    /// With evenly spaced parameters this is the same as comparing `rate_of_change` entries;
    /// dividing by the step keeps a doubling sweep (1, 2, 4, 8) of a linear metric free of
    /// false inflections.
    pub inflection_points: Vec<usize>,
}

/// The trend of `values` measured at increasing parameter values `xs`.
pub fn trend(xs: &[f64], values: &[f64]) -> Trend {
    let rate_of_change: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let slopes: Vec<f64> = rate_of_change
        .iter()
        .zip(xs.windows(2))
        .map(|(dy, x)| if x[1] > x[0] { dy / (x[1] - x[0]) } else { *dy })
        .collect();
    let inflection_points = slopes
        .windows(2)
        .enumerate()
        .filter(|(_, r)| {
            r[0] * r[1] < 0.0 || (r[0] != 0.0 && (r[1] - r[0]).abs() > 0.5 * r[0].abs())
        })
        .map(|(i, _)| i + 1)
        .collect();
    Trend {
        rate_of_change,
        inflection_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_requires_every_cell_and_breaks_ties_first() {
        assert_eq!(argmax(&[Some(1.0), Some(3.0), Some(3.0)]), Some(1));
        assert_eq!(argmin(&[Some(2.0), Some(1.0), Some(1.0)]), Some(1));
        assert_eq!(argmax(&[Some(1.0), None]), None);
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmin(&[Some(7.0)]), Some(0));
    }

    #[test]
    fn pareto_front_of_known_points() {
        // (throughput, latency): c is dominated by b (more throughput, less latency).
        let tp = [Some(100.0), Some(180.0), Some(170.0), Some(270.0)];
        let lat = [Some(120.0), Some(135.0), Some(140.0), Some(155.0)];
        assert_eq!(pareto_optimal(&tp, &lat), [0, 1, 3]);
        // Ties: identical points are both optimal; equal throughput, lower latency wins.
        let tp = [Some(10.0), Some(10.0), Some(10.0)];
        let lat = [Some(5.0), Some(5.0), Some(6.0)];
        assert_eq!(pareto_optimal(&tp, &lat), [0, 1]);
        assert_eq!(pareto_optimal(&[Some(1.0)], &[Some(1.0)]), [0]);
        assert!(pareto_optimal(&[Some(1.0), None], &[Some(1.0), Some(2.0)]).is_empty());
    }

    #[test]
    fn trends_find_the_knee() {
        let xs = [10.0, 20.0, 30.0, 40.0];
        let t = trend(&xs, &[100.0, 180.0, 270.0, 285.0]);
        assert_eq!(t.rate_of_change, [80.0, 90.0, 15.0]);
        assert_eq!(
            t.inflection_points,
            [2],
            "scaling slows after the third value"
        );
        let t = trend(&xs[..3], &[1.0, 2.0, 1.0]);
        assert_eq!(t.inflection_points, [1], "a peak");
        // Linear in the parameter over a doubling sweep: no inflection.
        let t = trend(&[1.0, 2.0, 4.0, 8.0], &[10.0, 20.0, 40.0, 80.0]);
        assert_eq!(t.rate_of_change, [10.0, 20.0, 40.0]);
        assert!(t.inflection_points.is_empty());
        assert!(trend(&[1.0], &[5.0]).rate_of_change.is_empty());
    }
}
