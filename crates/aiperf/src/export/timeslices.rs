//! `profile_export_aiperf_timeslices.{json,csv}` (`--slice-duration`): each time slice's
//! window (wall-clock ns) and figures, as the reference tool writes them: the JSON as one
//! object per slice with the summary's stat blocks, the CSV in long form (one row per slice,
//! metric and statistic).

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use super::csv_field;
use super::summary::Block;
use crate::metrics::{Slice, Value as MValue};
use crate::record::Clock;

/// One slice of the JSON: `start_ns`, `end_ns`, `is_complete` (only when cut short), then
/// one stat block per metric.
struct SliceEntry<'a> {
    slice: &'a Slice,
    clock: Clock,
}

impl Serialize for SliceEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sl = self.slice;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("start_ns", &self.clock.wall_ns(sl.start_ns))?;
        map.serialize_entry("end_ns", &self.clock.wall_ns(sl.end_ns))?;
        if !sl.complete {
            map.serialize_entry("is_complete", &false)?;
        }
        for m in &sl.metrics {
            map.serialize_entry(m.tag, &Block(m))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct TimeslicesDoc<'a> {
    timeslices: Vec<SliceEntry<'a>>,
    /// The run's configuration, as in `profile_export_aiperf.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    input_config: Option<&'a Value>,
}

/// The JSON document of the slices.
pub fn timeslices_json(slices: &[Slice], clock: Clock, input_config: Option<&Value>) -> Value {
    let doc = TimeslicesDoc {
        timeslices: slices
            .iter()
            .map(|slice| SliceEntry { slice, clock })
            .collect(),
        input_config,
    };
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// The statistics a CSV row may carry, in the reference's order.
const STAT_KEYS: [&str; 14] = [
    "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

/// The long-form CSV: `Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value`, metrics sorted by
/// tag within a slice, statistics that have a value.
pub fn timeslices_csv(slices: &[Slice], clock: Clock) -> String {
    let mut out = String::from("Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value\n");
    for (i, sl) in slices.iter().enumerate() {
        let (start, end) = (clock.wall_ns(sl.start_ns), clock.wall_ns(sl.end_ns));
        let mut metrics: Vec<_> = sl.metrics.iter().collect();
        metrics.sort_by_key(|m| m.tag);
        for m in metrics {
            for stat in STAT_KEYS {
                let Some(v) = stat_value(&m.value, stat).filter(|v| v.is_finite()) else {
                    continue;
                };
                out.push_str(&format!(
                    "{i},{start},{end},{},{},{stat},{v:.2}\n",
                    csv_field(m.header),
                    csv_field(m.unit)
                ));
            }
        }
    }
    out
}

fn stat_value(v: &MValue, stat: &str) -> Option<f64> {
    match v {
        MValue::Scalar(x) => (stat == "avg").then_some(*x),
        MValue::Dist(d) => {
            let s = &d.summary;
            match stat {
                "avg" => Some(s.mean),
                "min" => Some(s.min),
                "max" => Some(s.max),
                "sum" => Some(s.sum),
                "std" => Some(s.std),
                p => s.percentile(p.strip_prefix('p')?.parse().ok()?),
            }
        }
    }
}
