//! The lines of `profile_export.jsonl` (metadata, metrics, error) and of the raw export
//! (`--export-level raw`: payload and every response frame), serialized straight from the
//! record without building a JSON tree.

use std::fs::File;
use std::io::BufWriter;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::http_trace::{Exchange as TraceExchange, TraceData, trace_data};
use super::{CollectorConfig, Measured, write_line};
use crate::metrics::{RECORD_METRICS, Rec};
use crate::record::{ErrorDetails, Outcome, Phase, RawRecord};

/// The `metadata` object of a JSONL line, serialized without building a JSON tree.
#[derive(Serialize)]
struct Metadata<'a> {
    request_num: u64,
    session_num: u64,
    x_request_id: &'a str,
    x_correlation_id: &'a str,
    conversation_id: &'a str,
    turn_index: usize,
    credit_issued_ns: u64,
    request_start_ns: u64,
    request_ack_ns: Option<u64>,
    request_end_ns: u64,
    /// The process that sent the request and the one that measured it: one of each per
    /// `aiperf` process (`worker_<shard>` in a sharded run), written because the reference
    /// tool's readers require them.
    worker_id: &'a str,
    record_processor_id: &'a str,
    benchmark_phase: &'static str,
    /// The phase's place among all phases (warmup first, when there is one) and among the
    /// profiling phases.
    phase_index: usize,
    profiling_index: Option<usize>,
    phase_name: &'static str,
    phase_kind: &'static str,
    was_cancelled: bool,
    cancellation_time_ns: Option<u64>,
    context_overflow_skip: bool,
    agent_depth: u32,
    root_correlation_id: &'a str,
    /// Times the request was sent again on a new connection (the server had closed the
    /// kept-alive one before it could answer); its times are those of the last send.
    retries: u32,
}

fn metadata<'a>(
    config: &'a CollectorConfig,
    r: &RawRecord,
    ids: &'a (String, String),
) -> Metadata<'a> {
    let clock = &config.clock;
    let cancelled = matches!(r.outcome, Outcome::Cancelled | Outcome::Abandoned);
    Metadata {
        request_num: r.request_num,
        session_num: r.session_num,
        x_request_id: &ids.0,
        x_correlation_id: &ids.1,
        conversation_id: config
            .dataset
            .conversations
            .get(r.conversation)
            .map_or("", |c| c.id.as_str()),
        turn_index: r.turn_index,
        credit_issued_ns: clock.wall_ns(r.scheduled_ns),
        request_start_ns: clock.wall_ns(r.start_ns),
        request_ack_ns: r.ack_ns.map(|t| clock.wall_ns(t)),
        request_end_ns: clock.wall_ns(r.end_ns),
        worker_id: &config.process.worker_id,
        record_processor_id: &config.process.record_processor_id,
        benchmark_phase: r.phase.name(),
        phase_index: config.process.phase_index(r.phase),
        profiling_index: (r.phase == Phase::Profiling).then_some(0),
        phase_name: r.phase.name(),
        phase_kind: r.phase.name(),
        was_cancelled: cancelled,
        cancellation_time_ns: cancelled.then(|| clock.wall_ns(r.end_ns)),
        context_overflow_skip: false,
        agent_depth: 0,
        root_correlation_id: &ids.1,
        retries: r.retries,
    }
}

fn ids(r: &RawRecord) -> (String, String) {
    (r.x_request_id.to_string(), r.x_correlation_id.to_string())
}

/// The per-request metrics of a JSONL line, in catalogue order.
struct Metrics<'a>(&'a Measured);

impl Serialize for Metrics<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Entry<T> {
            value: T,
            unit: &'static str,
        }
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        for (i, def) in RECORD_METRICS.iter().enumerate() {
            let x = m.values[i];
            if x.is_nan() {
                continue;
            }
            if def.integer {
                map.serialize_entry(
                    def.tag,
                    &Entry {
                        value: x as u64,
                        unit: def.unit,
                    },
                )?;
            } else {
                map.serialize_entry(
                    def.tag,
                    &Entry {
                        value: x,
                        unit: def.unit,
                    },
                )?;
            }
            if i == Rec::InterTokenLatency as usize && !m.inter_chunk.is_empty() {
                map.serialize_entry(
                    "inter_chunk_latency",
                    &Entry {
                        value: &m.inter_chunk,
                        unit: "ms",
                    },
                )?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct RecordLine<'a> {
    metadata: Metadata<'a>,
    metrics: Metrics<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_data: Option<TraceData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorDetails>,
}

/// The record's `trace_data` (`--export-http-trace`).
fn trace<'a>(config: &CollectorConfig, r: &'a RawRecord) -> Option<TraceData<'a>> {
    let failed = !matches!(r.outcome, Outcome::Ok | Outcome::Http { .. });
    // A request that was never sent has no HTTP exchange to trace.
    let sent = !matches!(r.outcome, Outcome::Unsendable(_));
    (config.http_trace && sent).then(|| {
        let ex = TraceExchange {
            status: r.status,
            ack_ns: r.ack_ns,
            failed_ns: failed.then_some(r.end_ns),
        };
        trace_data(&config.clock, &r.http, &ex)
    })
}

pub(super) fn write_record_line(
    w: &mut BufWriter<File>,
    config: &CollectorConfig,
    r: &RawRecord,
    m: &Measured,
    error: &mut Option<String>,
) {
    let ids = ids(r);
    let line = RecordLine {
        metadata: metadata(config, r, &ids),
        metrics: Metrics(m),
        trace_data: trace(config, r),
        error: m.error.as_ref(),
    };
    write_line(w, &line, error);
}

/// A line of `profile_export_raw.jsonl`: the request as sent and every response frame as
/// it arrived.
#[derive(Serialize)]
struct RawLine<'a> {
    metadata: Metadata<'a>,
    start_perf_ns: u64,
    payload: Value,
    status: Option<u16>,
    responses: Vec<RawResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorDetails>,
}

#[derive(Serialize)]
struct RawResponse {
    perf_ns: u64,
    text: String,
}

pub(super) fn write_raw_line(
    w: &mut BufWriter<File>,
    config: &CollectorConfig,
    r: &RawRecord,
    m: &Measured,
    error: &mut Option<String>,
) {
    let ids = ids(r);
    let line = RawLine {
        metadata: metadata(config, r, &ids),
        start_perf_ns: r.start_ns,
        payload: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        status: r.status,
        responses: frame_texts(&r.frames)
            .into_iter()
            .map(|(perf_ns, text)| RawResponse { perf_ns, text })
            .collect(),
        error: m.error.as_ref(),
    };
    write_line(w, &line, error);
}

/// The text of each frame. A character whose bytes were split across two reads belongs to
/// the frame that completed it; only bytes that are not UTF-8 at all become U+FFFD.
fn frame_texts(frames: &[(u64, Bytes)]) -> Vec<(u64, String)> {
    let mut carry: Vec<u8> = Vec::new();
    let mut out = Vec::with_capacity(frames.len());
    for (i, (at, bytes)) in frames.iter().enumerate() {
        carry.extend_from_slice(bytes);
        let keep = if i + 1 == frames.len() {
            carry.len()
        } else {
            without_partial_char(&carry)
        };
        out.push((*at, String::from_utf8_lossy(&carry[..keep]).into_owned()));
        carry.drain(..keep);
    }
    out
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end.
fn without_partial_char(bytes: &[u8]) -> usize {
    // The last character starts at the last byte that is not a continuation byte (10xxxxxx).
    let Some(start) = bytes
        .iter()
        .rev()
        .take(4)
        .position(|b| b & 0xc0 != 0x80)
        .map(|back| bytes.len() - 1 - back)
    else {
        return bytes.len();
    };
    let need = match bytes[start] {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    };
    if bytes.len() - start < need {
        start
    } else {
        bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_reads_stay_whole() {
        let text = "héllo 世界 🎉 ok";
        let bytes = text.as_bytes();
        for cut in 1..bytes.len() {
            let frames = vec![
                (1, Bytes::copy_from_slice(&bytes[..cut])),
                (2, Bytes::copy_from_slice(&bytes[cut..])),
            ];
            let texts = frame_texts(&frames);
            let joined: String = texts.iter().map(|t| t.1.as_str()).collect();
            assert_eq!(joined, text, "cut at {cut}");
        }
        // Bytes that are not UTF-8 are replaced, and the rest survives.
        let frames = vec![(1, Bytes::from_static(b"ok \xff\xfe "))];
        assert_eq!(frame_texts(&frames)[0].1, "ok \u{fffd}\u{fffd} ");
        // A character cut short at the very end is replaced, not lost silently.
        let frames = vec![(1, Bytes::copy_from_slice(&"a世".as_bytes()[..2]))];
        assert_eq!(frame_texts(&frames)[0].1, "a\u{fffd}");
    }
}
