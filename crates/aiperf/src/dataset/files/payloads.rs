//! Whole request bodies, sent as they are (with `--endpoint-type raw`):
//!
//! * `raw_payload`: a JSON-lines file of bodies, each with a `messages` array (one
//!   conversation each), or a directory of such files (one multi-turn conversation per
//!   `.jsonl` file, its lines the turns);
//! * `inputs_json`: an `inputs.json` as this tool and the Python AIPerf write it,
//!   `{"data": [{"session_id": "...", "payloads": [{...}, ...]}]}`, each session's payloads
//!   its turns.
//!
//! A turn's text is its body; its input length counts the text of the body's messages (or
//! `prompt`/`input`), its output length is the body's `max_completion_tokens` or
//! `max_tokens`.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{Loader, lines};
use crate::UsageError;
use crate::dataset::{Conversation, Turn};

/// The conversations of a `raw_payload` file or directory.
pub(super) fn raw(loader: &mut Loader<'_, '_>) -> Result<Vec<Conversation>, UsageError> {
    let path = loader.path.to_owned();
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| {
                UsageError::new(format!(
                    "--input-file: cannot read the directory {}: {e}",
                    path.display()
                ))
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.clone()]
    };
    let mut conversations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            UsageError::new(format!("--input-file: cannot read {}: {e}", file.display()))
        })?;
        let mut turns = Vec::new();
        for (line, l) in lines(&text) {
            let body: Map<String, Value> = loader.parse(line, l)?;
            if !body.get("messages").is_some_and(Value::is_array) {
                return Err(loader.error(
                    line,
                    format!(
                        "the body has no `messages` array ({}); each line is a whole chat \
                         request like {{\"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}",
                        file.display()
                    ),
                ));
            }
            let turn = body_turn(loader, body);
            if path.is_dir() {
                turns.push(turn);
            } else {
                conversations.push(loader.conversation(conversations.len(), None, vec![turn]));
            }
        }
        if !turns.is_empty() {
            let session = file.file_stem().map(|s| s.to_string_lossy().into_owned());
            conversations.push(loader.conversation(conversations.len(), session, turns));
        }
    }
    Ok(conversations)
}

/// The conversations of an `inputs.json`.
pub(super) fn inputs_json(
    loader: &mut Loader<'_, '_>,
    text: &str,
) -> Result<Vec<Conversation>, UsageError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        data: Vec<Session>,
    }
    #[derive(serde::Deserialize)]
    struct Session {
        session_id: String,
        payloads: Vec<Map<String, Value>>,
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        UsageError::new(format!(
            "--input-file: {} is not an inputs.json ({e}); expected \
             {{\"data\": [{{\"session_id\": \"...\", \"payloads\": [{{...}}]}}]}}",
            loader.path.display()
        ))
    })?;
    let mut conversations = Vec::new();
    for session in doc.data {
        let turns: Vec<Turn> = session
            .payloads
            .into_iter()
            .map(|body| body_turn(loader, body))
            .collect();
        if !turns.is_empty() {
            conversations.push(loader.conversation(
                conversations.len(),
                Some(session.session_id),
                turns,
            ));
        }
    }
    Ok(conversations)
}

/// A body as a turn: the body as its text, the body's prompt text counted, its output cap.
fn body_turn(loader: &Loader<'_, '_>, body: Map<String, Value>) -> Turn {
    let mut prompt = String::new();
    collect_text(body.get("messages"), &mut prompt);
    for key in ["prompt", "input"] {
        collect_text(body.get(key), &mut prompt);
    }
    let max_tokens = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    Turn {
        input_tokens: u32::try_from(loader.tokenizer.count(&prompt)).unwrap_or(u32::MAX),
        texts: vec![Value::Object(body).to_string()],
        role: "user".into(),
        max_tokens,
        ..Turn::default()
    }
}

/// The text in `value`: strings, the `content` and `text` of messages and parts.
fn collect_text(value: Option<&Value>, out: &mut String) {
    match value {
        Some(Value::String(s)) => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        Some(Value::Array(items)) => items.iter().for_each(|v| collect_text(Some(v), out)),
        Some(Value::Object(o)) => {
            collect_text(o.get("content"), out);
            collect_text(o.get("text"), out);
        }
        _ => {}
    }
}
