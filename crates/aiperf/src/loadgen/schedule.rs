//! Arrival schedules: pure, seeded sequences of intended send times.

use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};
use rand_pcg::Pcg64Mcg;

use crate::settings::Arrival;

/// Nanosecond offsets (from the start of a phase) of successive arrivals at `rate` per
/// second. The first arrival is at 0; the same seed always gives the same schedule.
pub fn arrivals(rate: f64, arrival: Arrival, seed: u64) -> impl Iterator<Item = u64> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x6172_7269_7661_6c73);
    let mean_gap_s = 1.0 / rate;
    let exp = Exp::new(rate).ok();
    let gamma = match arrival {
        Arrival::Gamma { smoothness } => Gamma::new(smoothness, mean_gap_s / smoothness).ok(),
        _ => None,
    };
    let mut t = 0.0_f64;
    (0u64..).map(move |i| {
        if i > 0 {
            let gap = match arrival {
                Arrival::Constant => mean_gap_s,
                Arrival::Poisson => exp.map_or(mean_gap_s, |d| d.sample(&mut rng)),
                Arrival::Gamma { .. } => gamma.map_or(mean_gap_s, |d| d.sample(&mut rng)),
            };
            t += gap;
        }
        if matches!(arrival, Arrival::Constant) {
            // No accumulated rounding: the i-th arrival is exactly at i / rate.
            (i as f64 * mean_gap_s * 1e9).round() as u64
        } else {
            (t * 1e9).round() as u64
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_rate(arrival: Arrival, rate: f64) -> f64 {
        let times: Vec<u64> = arrivals(rate, arrival, 11).take(20_001).collect();
        20_000.0 / (times[20_000] as f64 / 1e9)
    }

    #[test]
    fn schedules_are_seeded_and_monotonic() {
        for arrival in [
            Arrival::Constant,
            Arrival::Poisson,
            Arrival::Gamma { smoothness: 0.5 },
        ] {
            let a: Vec<u64> = arrivals(100.0, arrival, 1).take(1000).collect();
            assert_eq!(a[0], 0);
            assert!(a.windows(2).all(|w| w[0] <= w[1]), "{arrival:?}");
            assert_eq!(
                a,
                arrivals(100.0, arrival, 1).take(1000).collect::<Vec<_>>()
            );
        }
        let a: Vec<u64> = arrivals(100.0, Arrival::Poisson, 1).take(10).collect();
        let b: Vec<u64> = arrivals(100.0, Arrival::Poisson, 2).take(10).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn rates_converge_to_the_requested_rate() {
        assert_eq!(
            arrivals(4.0, Arrival::Constant, 0).nth(3),
            Some(750_000_000)
        );
        for arrival in [
            Arrival::Poisson,
            Arrival::Gamma { smoothness: 0.3 },
            Arrival::Gamma { smoothness: 4.0 },
        ] {
            let r = mean_rate(arrival, 50.0);
            assert!((r - 50.0).abs() < 2.5, "{arrival:?}: {r}");
        }
    }

    #[test]
    fn gamma_smoothness_controls_burstiness() {
        let cv = |arrival| {
            let t: Vec<f64> = arrivals(10.0, arrival, 3)
                .take(5001)
                .map(|x| x as f64)
                .collect();
            let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
            var.sqrt() / mean
        };
        let bursty = cv(Arrival::Gamma { smoothness: 0.25 });
        let poisson = cv(Arrival::Poisson);
        let smooth = cv(Arrival::Gamma { smoothness: 4.0 });
        assert!(
            bursty > poisson && poisson > smooth,
            "{bursty} {poisson} {smooth}"
        );
        assert!((poisson - 1.0).abs() < 0.1);
    }
}
