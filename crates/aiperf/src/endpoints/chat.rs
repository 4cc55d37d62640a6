//! `chat`: OpenAI chat completions (`/v1/chat/completions`). A turn is a user message (after
//! the system prompt and the conversation so far); later turns resend the whole conversation
//! with the server's answers.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{Decoded, Endpoint, openai};
use crate::dataset::Turn;
use crate::dataset::media::audio_parts;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct Chat;

impl Endpoint for Chat {
    fn name(&self) -> &'static str {
        "chat"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/chat/completions"
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut messages = Vec::with_capacity(history.len() + 3);
        if let Some(system) = &turn.system {
            messages.push(message("system", std::slice::from_ref(system)));
        }
        if let Some(context) = &turn.user_context {
            messages.push(message("user", std::slice::from_ref(context)));
        }
        messages.extend_from_slice(history);
        messages.push(turn_message(turn));
        let mut body = Map::new();
        body.insert("messages".into(), Value::Array(messages));
        let cap = if settings.use_legacy_max_tokens {
            "max_tokens"
        } else {
            "max_completion_tokens"
        };
        openai::finish_body(&mut body, settings, model, turn.max_tokens, cap);
        Ok(body)
    }

    fn history(&self, turn: &Turn, answer: &[(u64, Bytes)], streaming: bool) -> Vec<Value> {
        let reply = openai::decode(answer, streaming)
            .map(|d| d.output)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(4);
        if let Some(system) = &turn.system {
            out.push(message("system", std::slice::from_ref(system)));
        }
        if let Some(context) = &turn.user_context {
            out.push(message("user", std::slice::from_ref(context)));
        }
        out.push(turn_message(turn));
        out.push(message("assistant", &[reply]));
        out
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        openai::decode(frames, streaming)
    }
}

/// The message of a turn: its texts, then its images, audio clips and videos as content
/// parts (a lone text stays a plain string, which every server takes).
pub(super) fn turn_message(turn: &Turn) -> Value {
    if turn.images.is_empty() && turn.audios.is_empty() && turn.videos.is_empty() {
        return message(&turn.role, &turn.texts);
    }
    let mut parts: Vec<Value> = (turn.texts.iter())
        .filter(|t| !t.is_empty())
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    for url in turn.images.iter().filter(|c| !c.is_empty()) {
        parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
    }
    for clip in turn.audios.iter().filter(|c| !c.is_empty()) {
        let (format, data) = audio_parts(clip);
        parts.push(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}));
    }
    for url in turn.videos.iter().filter(|c| !c.is_empty()) {
        parts.push(json!({"type": "video_url", "video_url": {"url": url}}));
    }
    json!({"role": turn.role, "content": parts})
}

/// A chat message: plain string content for one text, content parts for several.
pub fn message(role: &str, texts: &[String]) -> Value {
    let content = match texts {
        [one] => Value::String(one.clone()),
        many => Value::Array(
            many.iter()
                .map(|t| json!({"type": "text", "text": t}))
                .collect(),
        ),
    };
    json!({"role": role, "content": content})
}
