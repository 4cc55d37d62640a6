//! `aiperf merge`: the shards of one benchmark (`--shards`) become one run. Every statistic
//! is recomputed from all the shards' request records (exact percentiles, never averages of
//! per-shard percentiles), with each shard's timestamps moved onto shard 0's clock by the
//! offset it measured.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};

use crate::UsageError;
use crate::export::{self, ReferenceConfig, RunInfo};
use crate::metrics::{Columns, N_REC, Values, record_index, summarize};
use crate::record::ErrorDetails;
use crate::settings::ProfileConfig;

/// The merged `profile_export_aiperf.json`: the run's summary, then where its records came from.
#[derive(Serialize)]
struct Merged<'a> {
    #[serde(flatten)]
    summary: Value,
    shards: Vec<ShardEntry<'a>>,
}

/// One shard of the merged run: its directory, records and clock measurements (as the shard
/// recorded them, `null` when it did not).
#[derive(Serialize)]
struct ShardEntry<'a> {
    dir: &'a Path,
    index: u32,
    records: u64,
    clock_offset_ns: i64,
    clock_rtt_ns: &'a Value,
    start_lag_ms: &'a Value,
}

/// One shard as found on disk.
struct Shard {
    dir: PathBuf,
    summary: Value,
    config: ProfileConfig,
    /// The shard's configuration in the reference tool's shape.
    reference: ReferenceConfig,
    offset_ns: i64,
    /// Its export file names (`--profile-export-prefix`).
    names: export::ExportNames,
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("merge: cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError::new(format!("merge: {} is not JSON: {e}", path.display())).into())
}

fn load(dir: &Path) -> anyhow::Result<Shard> {
    let names = export::ExportNames::in_dir(dir);
    let summary = read_json(&dir.join(names.summary_json()))?;
    let run_config = read_json(&dir.join(export::RUN_CONFIG_JSON))?;
    let not_ours = |e: serde_json::Error| {
        UsageError::new(format!(
            "merge: {} was not written by this aiperf version ({e})",
            dir.join(export::RUN_CONFIG_JSON).display()
        ))
    };
    let config: ProfileConfig =
        serde_json::from_value(run_config["aiperf_config"].clone()).map_err(not_ours)?;
    let reference: ReferenceConfig =
        serde_json::from_value(run_config["cfg"].clone()).map_err(not_ours)?;
    if !dir.join(names.records_jsonl()).is_file() {
        return Err(UsageError::new(format!(
            "merge: {} has no {}; shards need per-request records (--export-level records)",
            dir.display(),
            names.records_jsonl()
        ))
        .into());
    }
    let offset_ns = summary["shard"]["clock_offset_ns"].as_i64().unwrap_or(0);
    Ok(Shard {
        dir: dir.to_path_buf(),
        summary,
        config,
        reference,
        offset_ns,
        names,
    })
}

/// The whole benchmark's configuration: shard 0's, writing into `out`, each phase stopping
/// after the requests and sessions of every shard together.
fn merged_reference(shards: &[Shard], out: &Path) -> ReferenceConfig {
    let mut reference = shards[0].reference.clone();
    reference.artifacts.dir = out.to_path_buf();
    for (k, phase) in reference.phases.iter_mut().enumerate() {
        let total = |get: fn(&export::reference_config::Phase) -> Option<u64>| {
            shards
                .iter()
                .map(|s| s.reference.phases.get(k).and_then(get))
                .sum::<Option<u64>>()
        };
        phase.requests = total(|p| p.requests);
        phase.sessions = total(|p| p.sessions);
    }
    reference
}

fn shift(v: &Value, offset: i64) -> Option<u64> {
    v.as_u64().map(|t| (t as i64 + offset).max(0) as u64)
}

/// Adds one JSONL record to `cols`; returns the record with its times on shard 0's clock.
fn add_record(
    line: &str,
    offset: i64,
    shard: u32,
    cols: &mut Columns,
    errors: &mut HashMap<ErrorDetails, u64>,
) -> anyhow::Result<Value> {
    let mut r: Value = serde_json::from_str(line)?;
    let meta = &mut r["metadata"];
    for key in [
        "credit_issued_ns",
        "request_start_ns",
        "request_ack_ns",
        "request_end_ns",
        "cancellation_time_ns",
    ] {
        if let Some(t) = shift(&meta[key], offset) {
            meta[key] = json!(t);
        }
    }
    meta["shard"] = json!(shard);
    let start = meta["request_start_ns"]
        .as_u64()
        .context("a record without request_start_ns")?;
    let end = meta["request_end_ns"].as_u64().unwrap_or(start);
    let scheduled = meta["credit_issued_ns"].as_u64().unwrap_or(start);
    let cancelled = meta["was_cancelled"].as_bool().unwrap_or(false);
    cols.observe(start, scheduled, end);
    let metrics = &r["metrics"];
    let value = |tag: &str| metrics[tag]["value"].as_f64();
    match r.get("error").filter(|e| !e.is_null()) {
        None => {
            let mut values: Values = [f64::NAN; N_REC];
            if let Some(m) = metrics.as_object() {
                for (tag, entry) in m {
                    if let (Some(i), Some(v)) = (record_index(tag), entry["value"].as_f64()) {
                        values[i] = v;
                    }
                }
            }
            // The last content arrived `request_latency` after the start.
            let last = value("request_latency").map_or(end, |ms| start + (ms * 1e6).round() as u64);
            let gaps: Vec<f64> = metrics["inter_chunk_latency"]["value"]
                .as_array()
                .map(|g| g.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            cols.add_ok(start, last, values, &gaps);
        }
        Some(e) => {
            let isl = value("error_isl")
                .or_else(|| value("input_sequence_length"))
                .unwrap_or(0.0);
            cols.add_error(isl, cancelled);
            let details = ErrorDetails {
                code: e["code"].as_u64().and_then(|c| u16::try_from(c).ok()),
                kind: e["type"].as_str().unwrap_or("").to_owned(),
                message: e["message"].as_str().unwrap_or("").to_owned(),
            };
            *errors.entry(details).or_default() += 1;
        }
    }
    Ok(r)
}

/// Merges the shard directories into `out`: `profile_export_aiperf.{json,csv}` computed from
/// every record, `profile_export.jsonl` with every record on shard 0's clock (and its shard),
/// and `shards` in the summary: each shard's clock offset, its uncertainty and its start lag.
pub fn merge(dirs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let shards: Vec<Shard> = dirs
        .iter()
        .map(|d| load(d))
        .collect::<anyhow::Result<_>>()?;
    let Some(first) = shards.first() else {
        return Err(UsageError::new("merge: give at least one shard directory").into());
    };
    std::fs::create_dir_all(out)
        .map_err(|e| UsageError::new(format!("--output: cannot create {}: {e}", out.display())))?;
    let mut cols = Columns::default();
    let mut errors: HashMap<ErrorDetails, u64> = HashMap::new();
    // The merged files take the names of the first shard's.
    let names = &first.names;
    names.create_folder(out)?;
    let tmp = out.join(format!("{}.tmp", names.records_jsonl()));
    let mut jsonl = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    let mut per_shard = Vec::new();
    for (k, s) in shards.iter().enumerate() {
        let index = s.summary["shard"]["index"]
            .as_u64()
            .map_or(k as u32, |i| i as u32);
        let file = std::fs::File::open(s.dir.join(s.names.records_jsonl()))?;
        let mut records = 0_u64;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let r = add_record(&line, s.offset_ns, index, &mut cols, &mut errors).map_err(|e| {
                UsageError::new(format!(
                    "merge: {} line {}: {e}",
                    s.dir.join(s.names.records_jsonl()).display(),
                    n + 1
                ))
            })?;
            serde_json::to_writer(&mut jsonl, &r)?;
            jsonl.write_all(b"\n")?;
            records += 1;
        }
        per_shard.push(ShardEntry {
            dir: &s.dir,
            index,
            records,
            clock_offset_ns: s.offset_ns,
            clock_rtt_ns: &s.summary["shard"]["clock_rtt_ns"],
            start_lag_ms: &s.summary["shard"]["start_lag_ms"],
        });
    }
    jsonl.flush()?;
    drop(jsonl);
    std::fs::rename(&tmp, out.join(names.records_jsonl()))?;

    let mut config = first.config.clone();
    config.shard = None;
    config.output.artifact_dir = Some(out.to_path_buf());
    let reference = merged_reference(&shards, out);
    let metrics = summarize(&cols, &config.goodput);
    let mut errors: Vec<(ErrorDetails, u64)> = errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.kind.cmp(&b.0.kind)));
    let at = |ns: Option<u64>| UNIX_EPOCH + Duration::from_nanos(ns.unwrap_or(0));
    let flag = |key: &str| {
        shards
            .iter()
            .any(|s| s.summary[key].as_bool() == Some(true))
    };
    let info = RunInfo {
        benchmark_id: first.summary["benchmark_id"].as_str().unwrap_or(""),
        config: &config,
        reference: &reference,
        identity: None,
        was_cancelled: flag("was_cancelled"),
        is_complete: shards
            .iter()
            .all(|s| s.summary["is_complete"].as_bool() != Some(false)),
        errors: &errors,
        start: at(cols.any_first_start_ns),
        end: at(cols.any_last_end_ns),
        audit: None,
        abort_reason: None,
        telemetry: None,
        shard: None,
    };
    let doc = Merged {
        summary: export::summary_json(&metrics, &info),
        shards: per_shard,
    };
    export::write_atomic(
        &out.join(names.summary_json()),
        &serde_json::to_vec_pretty(&doc)?,
    )?;
    export::write_csv(
        &out.join(names.summary_csv()),
        &export::summary_csv(&metrics),
    )?;
    crate::ui::console::text(&format!(
        "\n{}\nmerged {} shards ({} requests) into {}\n",
        crate::ui::table::console_table(&metrics),
        shards.len(),
        cols.ok.len() + cols.errors(),
        out.display()
    ))?;
    Ok(())
}
