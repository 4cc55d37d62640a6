//! `bailian_trace`: Alibaba's Bailian traces, one request per line: `{"chat_id": 159,
//! "parent_chat_id": -1, "timestamp": 61.114, "input_length": 521, "output_length": 132,
//! "type": "text", "turn": 1, "hash_ids": [1089, 1090]}`. Timestamps are seconds; requests
//! whose `parent_chat_id` chains lead to the same root (`-1` marks a root) form one session,
//! in `turn` order; hash blocks hold 16 tokens unless `--isl-block-size` says otherwise.

use std::collections::HashMap;

use serde::Deserialize;

use super::trace::TraceRow;
use super::{Loader, lines};
use crate::UsageError;

#[derive(Debug, Deserialize)]
struct Row {
    chat_id: i64,
    #[serde(default = "root")]
    parent_chat_id: i64,
    timestamp: f64,
    input_length: u32,
    output_length: u32,
    #[serde(rename = "type", default)]
    _request_type: Option<String>,
    #[serde(default = "first_turn")]
    turn: i64,
    #[serde(default)]
    hash_ids: Vec<u64>,
}

fn root() -> i64 {
    -1
}

fn first_turn() -> i64 {
    1
}

/// The rows of a Bailian trace, grouped by session (sessions in the order of their first
/// row, each in `turn` order).
pub(super) fn rows(loader: &Loader<'_, '_>, text: &str) -> Result<Vec<TraceRow>, UsageError> {
    let mut parsed: Vec<(usize, Row)> = Vec::new();
    for (line, l) in lines(text) {
        parsed.push((line, loader.parse(line, l)?));
    }
    let parents: HashMap<i64, i64> = parsed
        .iter()
        .map(|(_, r)| (r.chat_id, r.parent_chat_id))
        .collect();
    let root_of = |chat: i64| {
        let mut current = chat;
        let mut steps = 0;
        while let Some(&parent) = parents.get(&current) {
            if parent == -1 || parent == current || !parents.contains_key(&parent) {
                break;
            }
            current = parent;
            steps += 1;
            if steps > parents.len() {
                break; // a cycle
            }
        }
        current
    };
    let mut order: Vec<i64> = Vec::new();
    let mut groups: HashMap<i64, Vec<(usize, Row)>> = HashMap::new();
    for (line, row) in parsed {
        let root = root_of(row.chat_id);
        groups
            .entry(root)
            .or_insert_with(|| {
                order.push(root);
                Vec::new()
            })
            .push((line, row));
    }
    let mut out = Vec::new();
    for root in order {
        let mut group = groups.remove(&root).unwrap_or_default();
        group.sort_by_key(|(_, r)| r.turn);
        for (line, row) in group {
            if !(row.timestamp.is_finite() && row.timestamp >= 0.0) {
                return Err(loader.error(
                    line,
                    format!(
                        "`timestamp` must be non-negative seconds, got {}",
                        row.timestamp
                    ),
                ));
            }
            out.push(TraceRow {
                line,
                session: Some(root.to_string()),
                timestamp: Some(row.timestamp * 1000.0),
                delay: None,
                input_length: Some(row.input_length),
                output_length: Some(row.output_length),
                hash_ids: row.hash_ids,
                text: None,
            });
        }
    }
    Ok(out)
}
