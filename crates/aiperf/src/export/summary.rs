//! `profile_export_aiperf.json` (schema 1.4) as typed data: every metric's stat block, the
//! run's configuration (in the reference tool's shape, and this tool's own settings in
//! `aiperf_config`) and identity, how it ended, its failures, the client's self-audit and what
//! was scraped beside it, in the reference tool's key order.

use std::time::SystemTime;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use super::reference_config::{ReferenceConfig, RunIdentity, RunInfoDoc, run_info};
use super::{SCHEMA_VERSION, VERSION, iso_time};
use crate::audit::Audit;
use crate::metrics::{MetricResult, Value as MValue};
use crate::record::ErrorDetails;
use crate::settings::ProfileConfig;

/// Everything the summary files say about a run besides the metrics.
#[derive(Debug)]
pub struct RunInfo<'a> {
    pub benchmark_id: &'a str,
    pub config: &'a ProfileConfig,
    /// The configuration in the reference tool's shape (`input_config`).
    pub reference: &'a ReferenceConfig,
    /// The run's place in its plan, when it is part of one.
    pub identity: Option<&'a RunIdentity>,
    pub was_cancelled: bool,
    pub is_complete: bool,
    pub errors: &'a [(ErrorDetails, u64)],
    pub start: SystemTime,
    pub end: SystemTime,
    /// The client's self-audit (`client_audit`).
    pub audit: Option<&'a Audit>,
    /// Why the run was stopped early (`--failed-request-threshold`).
    pub abort_reason: Option<String>,
    /// `telemetry_data`, when GPU telemetry was collected.
    pub telemetry: Option<Value>,
    /// `shard`: this run is one shard of a benchmark (`--shards`).
    pub shard: Option<Value>,
}

/// Tags written before the run information, in this order, as the reference tool does.
const DECLARED: &[&str] = &[
    "request_throughput",
    "request_latency",
    "request_count",
    "time_to_first_token",
    "time_to_second_token",
    "inter_token_latency",
    "output_token_throughput",
    "output_token_throughput_per_user",
    "output_sequence_length",
    "input_sequence_length",
    "goodput",
    "good_request_count",
    "output_token_count",
    "reasoning_token_count",
    "min_request_timestamp",
    "max_response_timestamp",
    "inter_chunk_latency",
    "total_output_tokens",
    "total_reasoning_tokens",
    "benchmark_duration",
    "total_isl",
    "total_osl",
    "error_request_count",
    "error_isl",
    "total_error_isl",
];

/// The document.
#[derive(Serialize)]
struct Summary<'a> {
    schema_version: &'static str,
    aiperf_version: &'static str,
    benchmark_id: &'a str,
    #[serde(flatten)]
    declared: Blocks<'a>,
    input_config: &'a ReferenceConfig,
    run_info: RunInfoDoc<'a>,
    /// This tool's own resolved settings (secrets redacted).
    aiperf_config: &'a ProfileConfig,
    was_cancelled: bool,
    is_complete: bool,
    error_summary: Vec<ErrorEntry<'a>>,
    start_time: String,
    end_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_audit: Option<&'a Audit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abort_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telemetry_data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<&'a Value>,
    #[serde(flatten)]
    others: Blocks<'a>,
}

/// One entry of `error_summary`: a kind of failure and how often it happened.
#[derive(Serialize)]
struct ErrorEntry<'a> {
    error_details: &'a ErrorDetails,
    count: u64,
}

/// Metrics as `tag → stat block`, in the given order.
struct Blocks<'a>(Vec<&'a MetricResult>);

impl Serialize for Blocks<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for m in &self.0 {
            map.serialize_entry(m.tag, &Block(m))?;
        }
        map.end()
    }
}

/// The stat block of one metric, keys in the reference order; non-finite values are left out.
pub(super) struct Block<'a>(pub(super) &'a MetricResult);

impl Serialize for Block<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("unit", m.unit)?;
        match &m.value {
            MValue::Scalar(v) => {
                if v.is_finite() {
                    map.serialize_entry("avg", v)?;
                }
            }
            MValue::Dist(d) => {
                let st = &d.summary;
                let percentiles = aiperf_stats::REPORTED_PERCENTILES
                    .iter()
                    .zip(st.percentiles)
                    .map(|(p, v)| (format!("p{p}"), v));
                let before_count = [("avg".to_owned(), st.mean)]
                    .into_iter()
                    .chain(percentiles)
                    .chain([
                        ("min".to_owned(), st.min),
                        ("max".to_owned(), st.max),
                        ("std".to_owned(), st.std),
                    ]);
                for (k, v) in before_count.filter(|(_, v)| v.is_finite()) {
                    map.serialize_entry(&k, &v)?;
                }
                // Time-weighted figures have no count (nor sum).
                if st.count > 0 {
                    map.serialize_entry("count", &st.count)?;
                }
                let after_count = std::iter::once(("sum", Some(st.sum)))
                    .chain(d.adjusted.iter().map(|(k, v)| (*k, *v)));
                for (k, v) in after_count {
                    if let Some(v) = v.filter(|v| v.is_finite()) {
                        map.serialize_entry(k, &v)?;
                    }
                }
            }
        }
        map.end()
    }
}

/// The `profile_export_aiperf.json` document.
pub fn summary_json(metrics: &[MetricResult], info: &RunInfo<'_>) -> Value {
    let (declared, others): (Vec<&MetricResult>, Vec<&MetricResult>) =
        metrics.iter().partition(|m| DECLARED.contains(&m.tag));
    let mut declared = declared;
    declared.sort_by_key(|m| DECLARED.iter().position(|t| *t == m.tag));
    let doc = Summary {
        schema_version: SCHEMA_VERSION,
        aiperf_version: VERSION,
        benchmark_id: info.benchmark_id,
        declared: Blocks(declared),
        input_config: info.reference,
        run_info: run_info(info.benchmark_id, info.config, info.identity),
        aiperf_config: info.config,
        was_cancelled: info.was_cancelled,
        is_complete: info.is_complete,
        error_summary: error_entries(info.errors),
        start_time: iso_time(info.start),
        end_time: iso_time(info.end),
        client_audit: info.audit,
        abort_reason: info.abort_reason.as_deref(),
        telemetry_data: info.telemetry.as_ref(),
        shard: info.shard.as_ref(),
        others: Blocks(others),
    };
    serde_json::to_value(&doc).expect("the summary serializes")
}

fn error_entries(errors: &[(ErrorDetails, u64)]) -> Vec<ErrorEntry<'_>> {
    errors
        .iter()
        .map(|(e, n)| ErrorEntry {
            error_details: e,
            count: *n,
        })
        .collect()
}

/// `error_summary`: distinct errors with their counts, most frequent first.
pub fn error_summary(errors: &[(ErrorDetails, u64)]) -> Value {
    serde_json::to_value(error_entries(errors)).expect("errors serialize")
}
