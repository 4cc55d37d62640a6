//! Hugging Face Text Generation Inference's API: `POST /generate` answers
//! `{"generated_text": ...}`, `POST /generate_stream` one server-sent event per token, the last
//! one carrying the whole text. TGI serves one model, so requests name none; `details: true`
//! in `parameters` adds the finish reason and the number of generated tokens.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::{ApiError, Parsed, count_prompt, parse_json};
use crate::plan::LengthRequest;
use crate::server::State;

pub(crate) const GENERATE: &str = "/generate";
pub(crate) const GENERATE_STREAM: &str = "/generate_stream";

/// The token id TGI sends with the end-of-sequence event.
const EOS_ID: u32 = 2;

#[derive(Debug, Deserialize)]
struct GenerateRequest {
    inputs: String,
    #[serde(default)]
    parameters: Parameters,
}

#[derive(Debug, Default, Deserialize)]
struct Parameters {
    max_new_tokens: Option<u64>,
    seed: Option<u64>,
    #[serde(default)]
    details: bool,
    /// Sampling settings (temperature, top_p, ...) change nothing here.
    #[serde(flatten)]
    _other: Map<String, Value>,
}

pub(crate) async fn parse(
    state: &Arc<State>,
    body: Bytes,
    stream: bool,
) -> Result<Parsed, ApiError> {
    let req: GenerateRequest = parse_json(&body)?;
    if req.parameters.max_new_tokens == Some(0) {
        return Err(ApiError::new(
            422,
            "validation",
            "Input validation error: `max_new_tokens` must be strictly positive",
        ));
    }
    let (prompt_tokens, content_seed) =
        count_prompt(state, vec![req.inputs], req.parameters.seed).await;
    Ok(Parsed {
        model: state.config().served_models[0].clone(),
        stream,
        include_usage: req.parameters.details,
        length: LengthRequest {
            prompt_tokens,
            cap: req
                .parameters
                .max_new_tokens
                .map(|cap| (cap, "max_new_tokens")),
            min_tokens: None,
            ignore_eos: false,
        },
        content_seed,
    })
}

/// The event of output token `index` (0-based).
pub(crate) fn token_event(index: u32, text: &str) -> String {
    format!(
        "{{\"index\":{},\"token\":{{\"id\":{},\"text\":{},\"logprob\":-0.25,\"special\":false}},\"generated_text\":null,\"details\":null}}",
        index + 1,
        1000 + index,
        json_string(text)
    )
}

/// The last event: the end-of-sequence token with the whole text.
pub(crate) fn final_event(
    index: u32,
    generated: &str,
    reason: &str,
    tokens: u32,
    details: bool,
) -> String {
    format!(
        "{{\"index\":{},\"token\":{{\"id\":{EOS_ID},\"text\":\"</s>\",\"logprob\":-0.25,\"special\":true}},\"generated_text\":{},\"details\":{}}}",
        index + 1,
        json_string(generated),
        details_json(reason, tokens, details)
    )
}

/// The `/generate` answer.
pub(crate) fn whole(generated: &str, reason: &str, tokens: u32, details: bool) -> String {
    if details {
        format!(
            "{{\"generated_text\":{},\"details\":{}}}",
            json_string(generated),
            details_json(reason, tokens, true)
        )
    } else {
        format!("{{\"generated_text\":{}}}", json_string(generated))
    }
}

fn details_json(reason: &str, tokens: u32, details: bool) -> String {
    if details {
        format!(
            "{{\"finish_reason\":\"{}\",\"generated_tokens\":{tokens},\"seed\":null}}",
            match reason {
                "length" => "length",
                _ => "eos_token",
            }
        )
    } else {
        "null".to_owned()
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}
