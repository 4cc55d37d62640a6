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

/// The message of a turn, as the Python AIPerf renders it: a lone text and nothing else stays a
/// plain string (which every server takes); otherwise its texts, images, audio clips and
/// videos are content parts, empty ones left out, and no parts at all is an empty string
/// (servers refuse an empty list).
pub(super) fn turn_message(turn: &Turn) -> Value {
    let media = turn.images.len() + turn.audios.len() + turn.videos.len();
    if let ([text], 0) = (turn.texts.as_slice(), media) {
        return json!({"role": turn.role, "content": text});
    }
    fn filled(items: &[String]) -> impl Iterator<Item = &String> {
        items.iter().filter(|s| !s.is_empty())
    }
    let mut parts = Vec::with_capacity(turn.texts.len() + media);
    for text in filled(&turn.texts) {
        parts.push(json!({"type": "text", "text": text}));
    }
    for url in filled(&turn.images) {
        parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
    }
    for clip in filled(&turn.audios) {
        let (format, data) = audio_parts(clip);
        parts.push(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}));
    }
    for url in filled(&turn.videos) {
        parts.push(json!({"type": "video_url", "video_url": {"url": url}}));
    }
    let content = if parts.is_empty() {
        Value::String(String::new())
    } else {
        Value::Array(parts)
    };
    json!({"role": turn.role, "content": content})
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
