//! `embeddings`: OpenAI embeddings (`/v1/embeddings`). A request carries a batch of texts
//! (`-b`/`--prompt-batch-size`) and gets one vector per text; nothing is generated, so only
//! latency and the input are measured.

use aiperf_openai::view::{EmbeddingsView, error_parts};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Decoded, Endpoint, snippet, whole};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct Embeddings;

impl Endpoint for Embeddings {
    fn name(&self) -> &'static str {
        "embeddings"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/embeddings"
    }

    fn generates(&self) -> bool {
        false
    }

    fn streams(&self) -> bool {
        false
    }

    fn batches(&self) -> bool {
        true
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut body = Map::new();
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert(
            "input".into(),
            Value::Array(turn.texts.iter().cloned().map(Value::String).collect()),
        );
        for (key, value) in &settings.extra_inputs {
            body.insert(key.clone(), value.clone());
        }
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        decode(frames)
    }
}

/// Decodes an OpenAI embeddings answer (`data`, one vector per input, and `usage`); shared by
/// the types that post to `/v1/embeddings` in other request shapes.
pub(super) fn decode(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    match serde_json::from_slice::<EmbeddingsView>(&body) {
        Ok(p) if p.data.is_empty() => Err(ErrorDetails::new(
            None,
            "EmptyResponse",
            "the server answered with no embeddings (empty data)",
        )),
        Ok(p) => Ok(Decoded {
            times: frames.last().map(|f| (f.0, false)).into_iter().collect(),
            usage: p.usage,
            finished: true,
            ..Decoded::default()
        }),
        Err(e) => Err(
            match serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").cloned())
            {
                Some(error) => {
                    let (code, message) = error_parts(&error);
                    ErrorDetails::new(code, "ServerError", message)
                }
                None => ErrorDetails::new(
                    None,
                    "InvalidResponse",
                    format!(
                        "the response is not an embeddings JSON object ({e}): {:?}",
                        snippet(&body)
                    ),
                ),
            },
        ),
    }
}
