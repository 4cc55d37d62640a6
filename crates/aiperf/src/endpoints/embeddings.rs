//! `embeddings`: OpenAI embeddings (`/v1/embeddings`). A request carries a batch of texts
//! (`-b`/`--prompt-batch-size`) and gets one vector per text; nothing is generated, so only
//! latency and the input are measured.

use aiperf_openai::view::EmbeddingsView;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Decoded, Endpoint, add_extra_inputs, invalid_answer, server_error, whole};
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
        Ok(request(settings, model, turn.texts.iter().cloned()))
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        decode(frames)
    }
}

/// An OpenAI embeddings body: `model`, the `input` texts, `--extra-inputs`; shared by the types
/// that post this shape to `/v1/embeddings`.
pub(super) fn request(
    settings: &EndpointConfig,
    model: &str,
    input: impl IntoIterator<Item = String>,
) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert(
        "input".into(),
        input.into_iter().map(Value::String).collect(),
    );
    add_extra_inputs(&mut body, settings);
    body
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
        Ok(p) => Ok(Decoded::answered(frames, p.usage)),
        Err(e) => Err(
            match serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").cloned())
            {
                Some(error) => server_error(&error),
                None => invalid_answer(
                    format!("the response is not an embeddings JSON object ({e})"),
                    &body,
                ),
            },
        ),
    }
}
