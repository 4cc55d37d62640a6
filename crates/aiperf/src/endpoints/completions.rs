//! `completions`: OpenAI text completions (`/v1/completions`). The prompt is the turn's text
//! (after the system prompt); each turn stands alone.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Decoded, Endpoint, openai};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct Completions;

impl Endpoint for Completions {
    fn name(&self) -> &'static str {
        "completions"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/completions"
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let prompt = match (&turn.system, turn.texts.as_slice()) {
            (Some(system), texts) => Value::String(format!("{system}{}", texts.concat())),
            (None, [one]) => Value::String(one.clone()),
            (None, many) => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        let mut body = Map::new();
        body.insert("prompt".into(), prompt);
        openai::finish_body(&mut body, settings, model, turn.max_tokens, "max_tokens");
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        openai::decode(frames, streaming)
    }
}
