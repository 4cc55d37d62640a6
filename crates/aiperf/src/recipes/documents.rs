//! The recipes' answer files, as written: field order is output order, and a non-finite
//! number is written as `null`. Keys named after the swept parameter or the statistic
//! (`knee_concurrency`, `p99`) are [`Keyed`] entries flattened into their object.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::settings::{SlaFilter, SlaOp};

/// One entry whose key is only known at run time.
#[derive(Debug, Clone)]
pub struct Keyed<K, V> {
    pub key: K,
    pub value: V,
}

impl<V> Keyed<String, V> {
    /// The entry `<prefix>_<name>`.
    pub fn prefixed(prefix: &str, name: &str, value: V) -> Self {
        Self {
            key: format!("{prefix}_{name}"),
            value,
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for Keyed<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.key, &self.value)?;
        m.end()
    }
}

/// `degradation_knee.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Knee<'a> {
    /// `baseline_<param>`: the lowest swept value.
    #[serde(flatten)]
    pub baseline_value: Keyed<String, f64>,
    /// `baseline_<stat>`: the metric there.
    #[serde(flatten)]
    pub baseline_metric: Keyed<String, f64>,
    /// `knee_<param>`: the first value past the threshold.
    #[serde(flatten)]
    pub knee_value: Keyed<String, Option<f64>>,
    /// `knee_<stat>`: the metric there.
    #[serde(flatten)]
    pub knee_metric: Keyed<String, Option<f64>>,
    pub threshold_pct: f64,
    pub swept_metric: &'a str,
    pub stat: &'a str,
    pub swept_param: &'a str,
    pub all_points: Vec<KneePoint<'a>>,
}

/// `{<param>: x, <stat>: y}`.
#[derive(Debug, Clone, Serialize)]
pub struct KneePoint<'a> {
    #[serde(flatten)]
    pub value: Keyed<&'a str, f64>,
    #[serde(flatten)]
    pub metric: Keyed<&'a str, f64>,
}

/// `prefill_curve.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Curve<'a> {
    /// `linear` or `quadratic`.
    pub fit_form: &'static str,
    /// Highest power first.
    pub coefficients: Vec<f64>,
    pub r_squared: f64,
    pub below_floor: bool,
    pub r_squared_floor: f64,
    pub raw_points: Vec<CurvePoint<'a>>,
    pub swept_metric: &'a str,
    pub stat: &'a str,
    pub swept_param: &'a str,
}

/// `{<param>: x, "ttft_ms": y}`.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint<'a> {
    #[serde(flatten)]
    pub value: Keyed<&'a str, f64>,
    pub ttft_ms: f64,
}

/// `decode_itl_surface.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Surface<'a> {
    pub swept_metric: &'a str,
    pub stat: &'a str,
    /// The concurrency and OSL parameters.
    pub swept_params: [&'a str; 2],
    pub raw_points: Vec<SurfacePoint>,
    pub surface: SurfaceGrid,
}

#[derive(Debug, Clone, Serialize)]
pub struct SurfacePoint {
    pub concurrency: f64,
    pub osl: f64,
    pub itl_ms: f64,
}

/// ITL by concurrency (rows) and OSL (columns); `null` where nothing was measured.
#[derive(Debug, Clone, Serialize)]
pub struct SurfaceGrid {
    pub concurrency_axis: Vec<f64>,
    pub osl_axis: Vec<f64>,
    pub itl_grid: Vec<Vec<Option<f64>>>,
}

/// `pareto_sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Pareto<'a> {
    pub x_metric: &'a str,
    pub x_stat: &'a str,
    pub y_metric: &'a str,
    pub y_stat: &'a str,
    pub cells: Vec<ParetoCell<'a>>,
}

/// A cell's parameters, its (x, y) when both are finite, and whether it is on the frontier.
#[derive(Debug, Clone, Serialize)]
pub struct ParetoCell<'a> {
    #[serde(flatten)]
    pub parameters: Option<&'a Map<String, Value>>,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub pareto_optimal: bool,
}

/// An SLA filter a value breached, with what was observed (`null`: not measured).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SlaBreach<'a> {
    pub metric_tag: &'a str,
    pub stat: &'a str,
    pub op: SlaOp,
    pub threshold: f64,
    pub observed: Option<f64>,
}

impl SlaFilter {
    /// What an SLA breach records: the filter and the value it saw.
    pub fn breach(&self, observed: Option<f64>) -> SlaBreach<'_> {
        SlaBreach {
            metric_tag: &self.metric_tag,
            stat: &self.stat,
            op: self.op,
            threshold: self.threshold,
            observed,
        }
    }
}

/// `sla_breach.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Breach<'a> {
    pub swept_param: &'a str,
    /// `max_passing_<param>`.
    #[serde(flatten)]
    pub max_passing: Keyed<String, Option<f64>>,
    /// `first_failing_<param>`.
    #[serde(flatten)]
    pub first_failing: Keyed<String, Option<f64>>,
    pub first_failing_breach: Option<SlaBreach<'a>>,
    pub all_points: Vec<BreachPoint<'a>>,
    pub monotonicity_check: bool,
    pub filters: &'a [SlaFilter],
}

/// `{<param>: x, "feasible": …, "breaches": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct BreachPoint<'a> {
    #[serde(flatten)]
    pub value: Keyed<&'a str, f64>,
    pub feasible: bool,
    pub breaches: Vec<SlaBreach<'a>>,
}

/// A handler's answer file.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Answer<'a> {
    Knee(Knee<'a>),
    Curve(Curve<'a>),
    Surface(Surface<'a>),
    Pareto(Pareto<'a>),
    Breach(Breach<'a>),
}

/// The entry of `post_process_errors.json` for a handler that failed.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerFailure<'a> {
    pub handler: &'a str,
    pub output_filename: &'a str,
    pub error: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}
