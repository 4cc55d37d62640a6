//! Ramps, as the Python AIPerf runs them: a concurrency steps up from 1 to its target one
//! slot at a time, evenly spaced over the ramp; a request rate starts at target × 0.1 s /
//! duration and is raised linearly, updated every 0.1 s; a rate series follows its points,
//! interpolated linearly, updated every 0.1 s from the end of the rate ramp. Each rate
//! update pulls the next arrival in when a gap drawn at the new rate ends sooner.
//!
//! Everything here is a pure function of its settings (and seed): the schedule is decided
//! before the phase starts.

use std::time::Duration;

use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};
use rand_pcg::Pcg64Mcg;

use crate::settings::{Arrival, RatePoint};

/// Seconds between two updates of a ramped or scheduled rate.
pub(super) const RATE_UPDATE_SECS: f64 = 0.1;

/// When each extra slot of a concurrency ramped from 1 to `target` over `duration` opens:
/// the `k`-th entry is when the limit becomes `k + 2`.
pub(super) fn step_times(target: u32, duration: Duration) -> Vec<Duration> {
    if target <= 1 {
        return Vec::new();
    }
    let steps = f64::from(target - 1);
    (1..target)
        .map(|k| duration.mul_f64(f64::from(k) / steps))
        .collect()
}

/// The rate changes of a phase: `(seconds from the start, requests per second)`, the first
/// at 0; consecutive entries differ.
pub(super) fn rate_changes(
    target: f64,
    ramp_secs: Option<f64>,
    series: Option<&[RatePoint]>,
) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut push = |t: f64, r: f64| {
        if out.last().is_none_or(|&(_, last)| last != r) {
            out.push((t, r));
        }
    };
    let mut series_start = 0.0;
    if let Some(d) = ramp_secs.filter(|d| *d > 0.0) {
        let start = target * (RATE_UPDATE_SECS / d);
        push(0.0, start);
        for k in 1.. {
            let t = f64::from(k) * RATE_UPDATE_SECS;
            if t >= d {
                push(t, target);
                break;
            }
            push(t, start + (target - start) * (t / d));
        }
        series_start = d;
    }
    match series {
        Some(points) if !points.is_empty() => {
            push(series_start, series_value(points, 0.0));
            let last = points[points.len() - 1];
            for k in 1.. {
                let elapsed = f64::from(k) * RATE_UPDATE_SECS;
                if elapsed >= last.time_s {
                    push(series_start + elapsed, last.qps);
                    break;
                }
                push(series_start + elapsed, series_value(points, elapsed));
            }
        }
        _ => push(series_start, target),
    }
    out
}

/// The rate of a series `elapsed` seconds after its start: its first value before its first
/// point, its last after the last, linear between.
fn series_value(points: &[RatePoint], elapsed: f64) -> f64 {
    let first = points[0];
    let last = points[points.len() - 1];
    if elapsed <= first.time_s {
        return first.qps;
    }
    if elapsed >= last.time_s {
        return last.qps;
    }
    let right = points.partition_point(|p| p.time_s <= elapsed);
    let (a, b) = (points[right - 1], points[right]);
    a.qps + (b.qps - a.qps) * (elapsed - a.time_s) / (b.time_s - a.time_s)
}

/// Nanosecond offsets of arrivals whose rate follows `changes`: the first at 0, then each a
/// gap drawn at the current rate after the previous one, unless a rate change comes first
/// and a gap drawn from it at the new rate ends sooner.
pub(super) fn shaped_arrivals(
    changes: Vec<(f64, f64)>,
    arrival: Arrival,
    seed: u64,
) -> impl Iterator<Item = u64> + Send {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x7261_6d70_6564);
    let mut gap = move |rate: f64| -> f64 {
        match arrival {
            Arrival::Constant => 1.0 / rate,
            Arrival::Poisson => Exp::new(rate).map_or(1.0 / rate, |d| d.sample(&mut rng)),
            Arrival::Gamma { smoothness } => Gamma::new(smoothness, 1.0 / (rate * smoothness))
                .map_or(1.0 / rate, |d| d.sample(&mut rng)),
        }
    };
    let mut rate = changes.first().map_or(1.0, |c| c.1);
    let mut next_change = 1;
    let mut at: Option<f64> = None;
    std::iter::from_fn(move || {
        let t = match at {
            None => 0.0,
            Some(prev) => {
                let mut t = prev + gap(rate);
                while let Some(&(u, r)) = changes.get(next_change) {
                    if u >= t {
                        break;
                    }
                    next_change += 1;
                    rate = r;
                    t = t.min(u.max(prev) + gap(r));
                }
                t
            }
        };
        at = Some(t);
        Some((t * 1e9).round() as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_in(times: &[u64], from_s: f64, to_s: f64) -> usize {
        times
            .iter()
            .filter(|&&t| (t as f64) >= from_s * 1e9 && (t as f64) < to_s * 1e9)
            .count()
    }

    #[test]
    fn concurrency_steps_are_evenly_spaced() {
        let s = step_times(5, Duration::from_secs(4));
        assert_eq!(
            s,
            [1, 2, 3, 4].map(Duration::from_secs).to_vec(),
            "limit 2 at 1 s ... limit 5 at 4 s"
        );
        assert!(step_times(1, Duration::from_secs(4)).is_empty());
    }

    #[test]
    fn a_rate_ramp_starts_small_and_reaches_its_target() {
        let c = rate_changes(20.0, Some(2.0), None);
        assert_eq!(c[0], (0.0, 1.0), "target × 0.1 / 2");
        assert!(c.windows(2).all(|w| w[1].1 > w[0].1 && w[1].0 > w[0].0));
        let (t, r) = c[c.len() - 1];
        assert_eq!(r, 20.0);
        assert!((t - 2.0).abs() < 1e-9, "{t}");
        assert_eq!(rate_changes(20.0, None, None), vec![(0.0, 20.0)]);
    }

    #[test]
    fn a_rate_series_is_interpolated_after_the_ramp() {
        let points = [
            RatePoint {
                time_s: 0.0,
                qps: 10.0,
            },
            RatePoint {
                time_s: 1.0,
                qps: 20.0,
            },
        ];
        let c = rate_changes(10.0, Some(1.0), Some(&points));
        let at = |t: f64| {
            c.iter()
                .rev()
                .find(|(u, _)| *u <= t + 1e-9)
                .map(|(_, r)| *r)
                .unwrap()
        };
        assert_eq!(at(1.0), 10.0);
        assert!((at(1.5) - 15.0).abs() < 1e-9);
        assert_eq!(at(5.0), 20.0);
    }

    #[test]
    fn ramped_arrivals_are_sparser_early() {
        for arrival in [Arrival::Constant, Arrival::Poisson] {
            let changes = rate_changes(100.0, Some(4.0), None);
            let times: Vec<u64> = shaped_arrivals(changes, arrival, 7)
                .take_while(|&t| t < 8_000_000_000)
                .collect();
            assert_eq!(times[0], 0);
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
            let (q1, q4) = (count_in(&times, 0.0, 1.0), count_in(&times, 3.0, 4.0));
            assert!(q1 * 3 < q4, "{arrival:?}: {q1} then {q4}");
            // Past the ramp: the target rate.
            let after = count_in(&times, 5.0, 8.0) as f64 / 3.0;
            assert!((after - 100.0).abs() < 15.0, "{arrival:?}: {after}");
            // About the area under the ramp: (5 + 100) / 2 per second over 4 s.
            let during = count_in(&times, 0.0, 4.0) as f64;
            assert!((during - 210.0).abs() < 40.0, "{arrival:?}: {during}");
        }
    }

    #[test]
    fn shaped_schedules_are_seeded() {
        let take = |seed| -> Vec<u64> {
            shaped_arrivals(rate_changes(30.0, Some(1.0), None), Arrival::Poisson, seed)
                .take(50)
                .collect()
        };
        assert_eq!(take(1), take(1));
        assert_ne!(take(1), take(2));
    }
}
