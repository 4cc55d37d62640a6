//! `/tokenize` and `/detokenize`, shaped as vLLM's (and read by clients written for llama.cpp,
//! which send `content` where vLLM reads `prompt`): the simulator's own tokenizer, so a client
//! can count tokens the way the server does.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::{ApiError, parse_json, read_body};
use crate::server::{State, json_response};
use crate::stream::SimBody;

pub(crate) const TOKENIZE: &str = "/tokenize";
pub(crate) const DETOKENIZE: &str = "/detokenize";

#[derive(Deserialize)]
struct TokenizeRequest {
    prompt: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize)]
struct DetokenizeRequest {
    tokens: Vec<u32>,
}

pub(crate) async fn tokenize(state: Arc<State>, req: Request<Incoming>) -> Response<SimBody> {
    let result = async {
        let body = read_body(req).await?;
        let r: TokenizeRequest = parse_json(&body)?;
        let text = r.prompt.or(r.content).ok_or_else(|| {
            ApiError::bad_request("`prompt` (or `content`) is required", Some("prompt"))
        })?;
        let tokens = state.tokenizer().encode(&text).ok_or_else(no_tokenizer)?;
        Ok::<_, ApiError>(json!({
            "count": tokens.len(),
            "max_model_len": state.config().max_model_len,
            "tokens": tokens,
        }))
    };
    match result.await {
        Ok(v) => json_response(200, v.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn detokenize(state: Arc<State>, req: Request<Incoming>) -> Response<SimBody> {
    let result = async {
        let body = read_body(req).await?;
        let r: DetokenizeRequest = parse_json(&body)?;
        let text = state
            .tokenizer()
            .decode(&r.tokens)
            .ok_or_else(no_tokenizer)?;
        Ok::<_, ApiError>(json!({"prompt": text}))
    };
    match result.await {
        Ok(v) => json_response(200, v.to_string()),
        Err(e) => e.into_response(),
    }
}

fn no_tokenizer() -> ApiError {
    ApiError::new(
        501,
        "NotImplementedError",
        "this simulator counts tokens approximately (--tokenizer approx) and cannot tokenize",
    )
}
