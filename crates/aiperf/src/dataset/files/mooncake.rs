//! `mooncake_trace`: one request per line, `{"timestamp": ms, "input_length": n,
//! "output_length": m, "hash_ids": [...]}` (or `text_input` instead of a length). Each hash
//! id stands for a block of `--isl-block-size` tokens (512 by default); lines with the same
//! `session_id` form one multi-turn session.

use serde::Deserialize;

use super::trace::TraceRow;
use super::{Loader, lines};
use crate::UsageError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    timestamp: Option<f64>,
    input_length: Option<u32>,
    text_input: Option<String>,
    output_length: Option<u32>,
    hash_ids: Option<Vec<u64>>,
    delay: Option<f64>,
    session_id: Option<String>,
    /// Written by `aiperf synthesize` (the session's group, and whether it restarted an
    /// earlier one); replay does not need them.
    #[serde(rename = "group_id")]
    _group_id: Option<serde_json::Value>,
    #[serde(rename = "is_restart")]
    _is_restart: Option<bool>,
}

/// The rows of a mooncake trace, in file order.
pub(super) fn rows(loader: &Loader<'_, '_>, text: &str) -> Result<Vec<TraceRow>, UsageError> {
    lines(text)
        .map(|(line, l)| {
            let row: Row = loader.parse(line, l)?;
            if row.text_input.is_none() && row.input_length.is_none() {
                return Err(loader.error(line, "missing field `input_length` (or `text_input`)"));
            }
            Ok(TraceRow {
                line,
                session: row.session_id,
                timestamp: row.timestamp,
                delay: row.delay,
                input_length: row.input_length,
                output_length: row.output_length,
                hash_ids: row.hash_ids.unwrap_or_default(),
                text: row.text_input,
            })
        })
        .collect()
}
