//! Goodput: the successful requests that meet every `--goodput` target, each target compared
//! in its metric's better direction.

use super::catalogue::{RECORD_METRICS, Values, record_index};
use super::columns::Columns;
use crate::settings::GoodputTarget;

/// Whether a successful request meets every goodput target.
pub fn is_good(values: &Values, targets: &[GoodputTarget]) -> bool {
    targets.iter().all(|t| {
        let Some(i) = record_index(&t.tag) else {
            return false;
        };
        let v = values[i];
        if v.is_nan() {
            return false;
        }
        if RECORD_METRICS[i].larger_is_better {
            v >= t.threshold
        } else {
            v <= t.threshold
        }
    })
}

/// How many successful requests meet every target; `None` without targets.
pub(super) fn good_requests(cols: &Columns, targets: &[GoodputTarget]) -> Option<f64> {
    if targets.is_empty() {
        None
    } else {
        Some(cols.ok.iter().filter(|v| is_good(v, targets)).count() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::{N_REC, Rec};
    use super::*;

    #[test]
    fn goodput_direction_depends_on_the_metric() {
        let mut v = [f64::NAN; N_REC];
        v[Rec::TimeToFirstToken as usize] = 10.0;
        v[Rec::OutputTokenThroughputPerUser as usize] = 50.0;
        let target = |tag: &str, threshold| {
            vec![GoodputTarget {
                tag: tag.into(),
                threshold,
            }]
        };
        assert!(is_good(&v, &target("time_to_first_token", 10.0)));
        assert!(!is_good(&v, &target("time_to_first_token", 9.9)));
        assert!(is_good(
            &v,
            &target("output_token_throughput_per_user", 40.0)
        ));
        assert!(!is_good(
            &v,
            &target("output_token_throughput_per_user", 60.0)
        ));
        assert!(
            !is_good(&v, &target("inter_token_latency", 60.0)),
            "missing metric is not good"
        );
    }
}
