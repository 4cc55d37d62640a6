//! `--export-outputs-json`: one line per profiled request with its generated text (reasoning,
//! then content, as the server sent them), its ids and times and a few of its metrics in
//! display units. The lines are gathered into `outputs.json` when the run ends.

use std::fs::File;
use std::io::BufWriter;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{CollectorConfig, Measured, write_line};
use crate::metrics::{RECORD_METRICS, record_index};
use crate::record::RawRecord;

/// The per-request metrics paired with each answer (those a request does not have are left
/// out: time to first token without streaming, every one of a failed request).
const PAIRED_METRICS: [&str; 6] = [
    "input_sequence_length",
    "output_token_count",
    "output_sequence_length",
    "request_latency",
    "time_to_first_token",
    "inter_token_latency",
];

/// One request's line, in the order `outputs.json` lists the fields.
#[derive(Serialize)]
struct OutputLine<'a> {
    session_num: u64,
    conversation_id: &'a str,
    turn_index: usize,
    x_request_id: String,
    request_start_ns: u64,
    request_end_ns: u64,
    metrics: PairedMetrics<'a>,
    response_text: Option<String>,
}

struct PairedMetrics<'a>(&'a Measured);

impl Serialize for PairedMetrics<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for tag in PAIRED_METRICS {
            let Some(i) = record_index(tag) else { continue };
            let v = self.0.values[i];
            if v.is_nan() {
                continue;
            }
            if RECORD_METRICS[i].integer {
                map.serialize_entry(tag, &(v as u64))?;
            } else {
                map.serialize_entry(tag, &v)?;
            }
        }
        map.end()
    }
}

/// The generated text of a successful answer: its reasoning then its content (`None` when
/// there is neither, or the request failed).
fn response_text(config: &CollectorConfig, r: &RawRecord, m: &Measured) -> Option<String> {
    if m.error.is_some() {
        return None;
    }
    let decoded = config.api.decode(&r.frames, config.streaming).ok()?;
    let text = decoded.reasoning + &decoded.output;
    (!text.is_empty()).then_some(text)
}

pub(super) fn write_output_line(
    w: &mut BufWriter<File>,
    config: &CollectorConfig,
    r: &RawRecord,
    m: &Measured,
    error: &mut Option<String>,
) {
    let line = OutputLine {
        session_num: r.session_num,
        conversation_id: config
            .dataset
            .conversations
            .get(r.conversation)
            .map_or("", |c| c.id.as_str()),
        turn_index: r.turn_index,
        x_request_id: r.x_request_id.to_string(),
        request_start_ns: config.clock.wall_ns(r.start_ns),
        request_end_ns: config.clock.wall_ns(r.end_ns),
        metrics: PairedMetrics(m),
        response_text: response_text(config, r, m),
    };
    write_line(w, &line, error);
}
