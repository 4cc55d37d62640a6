//! Network-adjusted latency (`--network-latency-*`): the run's network round trip taken out
//! of each request's latency metrics that start at its send (request latency, time to first
//! token, time to first output token), as separate `network_adjusted_*` metrics beside the
//! raw ones, and the round trip itself as `network_rtt`. A request faster than the round
//! trip counts as zero. Inter-token figures need no adjustment: the round trip cancels out
//! of them.

use aiperf_stats::Summary;

use super::catalogue::{
    MetricDef, NETWORK_ADJUSTED_REQUEST_LATENCY, NETWORK_ADJUSTED_TIME_TO_FIRST_OUTPUT_TOKEN,
    NETWORK_ADJUSTED_TIME_TO_FIRST_TOKEN, NETWORK_RTT, Rec,
};
use super::columns::Columns;
use super::distribution::Dist;
use super::result::{MetricResult, Value};

/// Each adjusted metric and the metric it adjusts, in the Python AIPerf's order.
const ADJUSTED: [(&MetricDef, Rec); 3] = [
    (&NETWORK_ADJUSTED_REQUEST_LATENCY, Rec::RequestLatency),
    (&NETWORK_ADJUSTED_TIME_TO_FIRST_TOKEN, Rec::TimeToFirstToken),
    (
        &NETWORK_ADJUSTED_TIME_TO_FIRST_OUTPUT_TOKEN,
        Rec::TimeToFirstOutputToken,
    ),
];

/// `network_rtt` and the adjusted metrics of the requests in `cols`, when a round trip
/// (`rtt_ms`, milliseconds) is to be taken out; nothing otherwise. Like the Python AIPerf's
/// derived metrics, their JSON blocks have no `count`.
pub fn network_adjusted(cols: &Columns, rtt_ms: Option<f64>) -> Vec<MetricResult> {
    let Some(rtt) = rtt_ms.filter(|r| r.is_finite() && *r > 0.0) else {
        return Vec::new();
    };
    let rtt_summary = Summary {
        count: 0,
        sum: rtt,
        mean: rtt,
        min: rtt,
        max: rtt,
        std: 0.0,
        percentiles: [rtt; 9],
    };
    let mut out = vec![result(&NETWORK_RTT, rtt_summary)];
    for (def, rec) in ADJUSTED {
        let adjusted: Vec<f64> = (cols.values_of(rec).iter())
            .map(|v| (v - rtt).max(0.0))
            .collect();
        if let Some(summary) = Summary::of(&adjusted) {
            out.push(result(
                def,
                Summary {
                    count: 0,
                    ..summary
                },
            ));
        }
    }
    out
}

fn result(def: &MetricDef, summary: Summary) -> MetricResult {
    MetricResult {
        tag: def.tag,
        header: def.header,
        unit: def.unit,
        value: Value::Dist(Dist {
            summary,
            adjusted: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{N_REC, Values};

    fn row(ttft: f64, latency: f64) -> Values {
        let mut v = [f64::NAN; N_REC];
        v[Rec::TimeToFirstToken as usize] = ttft;
        v[Rec::RequestLatency as usize] = latency;
        v
    }

    #[test]
    fn the_round_trip_shifts_every_statistic_and_floors_at_zero() {
        let cols = Columns {
            ok: vec![row(10.0, 100.0), row(20.0, 200.0), row(1.0, 300.0)],
            ..Columns::default()
        };
        let r = network_adjusted(&cols, Some(1.5));
        let tags: Vec<&str> = r.iter().map(|m| m.tag).collect();
        assert_eq!(
            tags,
            [
                "network_rtt",
                "network_adjusted_request_latency",
                "network_adjusted_time_to_first_token"
            ]
        );
        let Value::Dist(rtt) = &r[0].value else {
            panic!()
        };
        assert_eq!(rtt.summary.percentiles, [1.5; 9]);
        assert_eq!(
            (rtt.summary.std, rtt.summary.sum, rtt.summary.count),
            (0.0, 1.5, 0)
        );
        let Value::Dist(latency) = &r[1].value else {
            panic!()
        };
        assert_eq!(latency.summary.mean, 198.5);
        assert_eq!((latency.summary.min, latency.summary.max), (98.5, 298.5));
        assert_eq!(latency.summary.sum, 595.5);
        let Value::Dist(ttft) = &r[2].value else {
            panic!()
        };
        // 1 ms - 1.5 ms counts as zero.
        assert_eq!(ttft.summary.min, 0.0);
        assert_eq!(r[1].header, "Network-Adjusted Request Latency");
        assert!(network_adjusted(&cols, None).is_empty());
        assert!(network_adjusted(&cols, Some(0.0)).is_empty());
    }
}
