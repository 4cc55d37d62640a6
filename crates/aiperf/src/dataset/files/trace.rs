//! What the trace formats share: rows of token counts grouped into sessions, filtered and
//! reshaped by `--synthesis-*`, then turned into prompts built from `hash_ids` blocks (the
//! same id, the same text, so rows sharing blocks share a prompt prefix).

use std::collections::HashMap;

use super::Loader;
use crate::UsageError;
use crate::dataset::prompts::MAX_PROMPT_TOKENS;
use crate::dataset::synthesis::{SynthRow, synthesize};
use crate::dataset::{Conversation, Turn};
use crate::settings::Synthesis;

/// One row of a trace, whatever its format.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct TraceRow {
    /// The line (or CSV record) it came from, for errors.
    pub(super) line: usize,
    /// Rows with the same session form one conversation, in order.
    pub(super) session: Option<String>,
    /// Milliseconds since the trace's start.
    pub(super) timestamp: Option<f64>,
    /// Pause before this turn, milliseconds.
    pub(super) delay: Option<f64>,
    pub(super) input_length: Option<u32>,
    pub(super) output_length: Option<u32>,
    pub(super) hash_ids: Vec<u64>,
    /// The prompt itself, when the row has one (no prompt is built).
    pub(super) text: Option<String>,
}

/// Filters (`max_isl`), reshapes (the multipliers) and caps (`max_osl`) `rows`, then builds
/// their prompts and groups them into conversations.
pub(super) fn build(
    loader: &mut Loader<'_, '_>,
    mut rows: Vec<TraceRow>,
    synthesis: Option<&Synthesis>,
) -> Result<Vec<Conversation>, UsageError> {
    if let Some(s) = synthesis {
        if let Some(max) = s.max_isl {
            rows.retain(|r| r.input_length.is_none_or(|l| l <= max));
        }
        if s.reshapes() {
            let mut synth: Vec<SynthRow> = rows
                .iter()
                .map(|r| SynthRow {
                    hash_ids: r.hash_ids.clone(),
                    input_length: r.input_length.filter(|_| r.text.is_none()),
                    output_length: r.output_length,
                    timestamp: r.timestamp,
                })
                .collect();
            synthesize(&mut synth, s, loader.block_tokens, loader.seed)
                .map_err(|e| UsageError::new(format!("--synthesis-*: {e}")))?;
            for (row, new) in rows.iter_mut().zip(synth) {
                row.hash_ids = new.hash_ids;
                if row.text.is_none() {
                    row.input_length = new.input_length;
                }
                row.output_length = new.output_length;
                row.timestamp = new.timestamp;
            }
        } else if let Some(max) = s.max_osl {
            for l in rows.iter_mut().filter_map(|r| r.output_length.as_mut()) {
                *l = (*l).min(max);
            }
        }
    }
    rows_to_conversations(loader, rows)
}

/// Builds the prompt of each row and groups rows into conversations by session (the order of
/// a session's first row).
pub(super) fn rows_to_conversations(
    loader: &mut Loader<'_, '_>,
    rows: Vec<TraceRow>,
) -> Result<Vec<Conversation>, UsageError> {
    let mut conversations: Vec<Conversation> = Vec::new();
    let mut sessions: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let session = row.session.clone();
        let turn = turn(loader, row)?;
        match session.as_ref().and_then(|s| sessions.get(s)) {
            Some(&idx) => conversations[idx].turns.push(turn),
            None => {
                if let Some(s) = session.clone() {
                    sessions.insert(s, conversations.len());
                }
                conversations.push(loader.conversation(conversations.len(), session, vec![turn]));
            }
        }
    }
    Ok(conversations)
}

/// A row's turn: its prompt (its own text, its blocks, or a fresh prompt of its length).
fn turn(loader: &mut Loader<'_, '_>, row: TraceRow) -> Result<Turn, UsageError> {
    let line = row.line;
    let block = loader.block_tokens;
    if let Some(length) = row.input_length
        && length > MAX_PROMPT_TOKENS
    {
        return Err(loader.error(
            line,
            format!(
                "input_length {length} is larger than the supported {MAX_PROMPT_TOKENS} tokens"
            ),
        ));
    }
    if row.hash_ids.len() as u64 * u64::from(block)
        > u64::from(MAX_PROMPT_TOKENS) + u64::from(block)
    {
        return Err(loader.error(
            line,
            "too many hash_ids: the prompt would exceed the supported length",
        ));
    }
    let text = match (row.text, row.input_length) {
        (Some(text), _) => text,
        (None, Some(length)) if !row.hash_ids.is_empty() => {
            let ids = &row.hash_ids;
            // All blocks are full except the last, which holds the remainder.
            let full = (ids.len() as u32 - 1) * block;
            if length <= full {
                return Err(loader.error(
                    line,
                    format!(
                        "input_length {length} is too short for {} hash_ids of {block} tokens \
                         (--isl-block-size)",
                        ids.len()
                    ),
                ));
            }
            let last = length - full;
            ids.iter()
                .enumerate()
                .map(|(i, &id)| {
                    let tokens = if i + 1 == ids.len() { last } else { block };
                    loader.prompts.block(id, tokens)
                })
                .collect()
        }
        (None, Some(length)) => loader.prompts.prompt(length.max(1)),
        (None, None) => {
            return Err(loader.error(line, "missing field `input_length` (or `text_input`)"));
        }
    };
    let input_tokens = loader.tokenizer.count(&text);
    let max_tokens = match row.output_length {
        Some(n) => Some(n),
        None => loader.osl(),
    };
    Ok(Turn {
        texts: vec![text],
        role: "user".into(),
        input_tokens: u32::try_from(input_tokens).unwrap_or(u32::MAX),
        max_tokens,
        timestamp_ms: loader.nonnegative(line, "timestamp", row.timestamp)?,
        delay_ms: loader.nonnegative(line, "delay", row.delay)?,
        ..Turn::default()
    })
}
