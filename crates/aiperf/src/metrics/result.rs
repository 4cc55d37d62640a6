//! What a summary reports: each metric's tag, header and unit with its distribution or
//! single value, as the exports, the console and the cross-run aggregation read them.

use super::distribution::Dist;

/// One reported metric: a distribution or a single value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Dist(Dist),
    Scalar(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub tag: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    pub value: Value,
}

impl MetricResult {
    /// The mean (distributions) or the value (scalars).
    pub fn avg(&self) -> f64 {
        match &self.value {
            Value::Dist(d) => d.summary.mean,
            Value::Scalar(v) => *v,
        }
    }
}

/// The statistics of a run's metrics that are aggregated across runs.
pub const STATS: [&str; 14] = [
    "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "sum",
];
