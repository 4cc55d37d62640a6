//! Rerankers: NVIDIA NIM's `/v1/ranking`, Hugging Face TEI's `/rerank` and Cohere's
//! `/v2/rerank`. A reranker (a cross-encoder) reads the query together with each passage, so
//! every (query, passage) pair is a prefill-only sequence for the timing model, competing for
//! the engine's token budget like any prompt. Each passage gets a seeded relevance, the same
//! for the same query and passage, and the answer lists the passages best first in the API's
//! own shape:
//!
//! * NIM: `{"rankings": [{"index", "logit"}, ...]}`;
//! * TEI: `[{"index", "score"}, ...]` (`score` is the logit with `raw_scores: true`, `text` is
//!   added with `return_text: true`); TEI serves one model and requests name none;
//! * Cohere: `{"id", "results": [{"index", "relevance_score"}, ...], "meta"}`, the first
//!   `top_n` when it is given.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::{ApiError, client_request_id, count_prompt, parse_json, read_body};
use crate::embed::prefill_only;
use crate::oneshot::OneShot;
use crate::plan::{self, Fnv};
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const NIM: &str = "/v1/ranking";
pub(crate) const TEI: &str = "/rerank";
pub(crate) const COHERE: &str = "/v2/rerank";

/// Which reranking API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rerank {
    Nim,
    Tei,
    Cohere,
}

impl Rerank {
    fn path(self) -> &'static str {
        match self {
            Self::Nim => NIM,
            Self::Tei => TEI,
            Self::Cohere => COHERE,
        }
    }
}

#[derive(Debug, Deserialize)]
struct NimRequest {
    model: String,
    query: NimText,
    passages: Vec<NimText>,
    /// `truncate` and the like change nothing here.
    #[serde(flatten)]
    _other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct NimText {
    text: String,
}

#[derive(Debug, Deserialize)]
struct TeiRequest {
    query: String,
    texts: Vec<String>,
    #[serde(default)]
    raw_scores: bool,
    #[serde(default)]
    return_text: bool,
    #[serde(flatten)]
    _other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct CohereRequest {
    model: String,
    query: String,
    documents: Vec<CohereDocument>,
    #[serde(default)]
    top_n: Option<usize>,
    #[serde(flatten)]
    _other: Map<String, Value>,
}

/// A document: a string (v2), or `{"text": ...}` (the older form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CohereDocument {
    Text(String),
    Object { text: String },
}

/// A request in any of the three shapes.
struct Parsed {
    model: String,
    query: String,
    passages: Vec<String>,
    raw_scores: bool,
    return_text: bool,
    top_n: Option<usize>,
}

fn parse(state: &State, api: Rerank, body: &[u8]) -> Result<Parsed, ApiError> {
    let parsed = match api {
        Rerank::Nim => {
            let r: NimRequest = parse_json(body)?;
            Parsed {
                model: r.model,
                query: r.query.text,
                passages: r.passages.into_iter().map(|p| p.text).collect(),
                raw_scores: true,
                return_text: false,
                top_n: None,
            }
        }
        Rerank::Tei => {
            let r: TeiRequest = parse_json(body)?;
            Parsed {
                model: state.config().served_models[0].clone(),
                query: r.query,
                passages: r.texts,
                raw_scores: r.raw_scores,
                return_text: r.return_text,
                top_n: None,
            }
        }
        Rerank::Cohere => {
            let r: CohereRequest = parse_json(body)?;
            if r.top_n == Some(0) {
                return Err(ApiError::bad_request(
                    "top_n must be at least 1",
                    Some("top_n"),
                ));
            }
            Parsed {
                model: r.model,
                query: r.query,
                passages: (r.documents.into_iter())
                    .map(|d| match d {
                        CohereDocument::Text(text) | CohereDocument::Object { text } => text,
                    })
                    .collect(),
                raw_scores: false,
                return_text: false,
                top_n: r.top_n,
            }
        }
    };
    let field = match api {
        Rerank::Nim => "passages",
        Rerank::Tei => "texts",
        Rerank::Cohere => "documents",
    };
    if parsed.passages.is_empty() {
        return Err(ApiError::bad_request(
            format!("{field} must not be empty"),
            Some(field),
        ));
    }
    if parsed.query.is_empty() {
        return Err(ApiError::bad_request(
            "query must not be empty",
            Some("query"),
        ));
    }
    Ok(parsed)
}

pub(crate) async fn rerank(
    state: Arc<State>,
    req: Request<Incoming>,
    api: Rerank,
    arrival: Instant,
) -> Response<SimBody> {
    match answer(state, req, api, arrival).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
    api: Rerank,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let client_request_id = client_request_id(&req);
    let body = read_body(req).await?;
    let request = parse(&state, api, &body)?;
    if !state.config().served_models.contains(&request.model) {
        return Err(ApiError::unknown_model(&request.model));
    }

    // One sequence per (query, passage) pair; each passage's relevance seeded from the pair.
    let (query_tokens, query_seed) = count_prompt(&state, vec![request.query.clone()], None).await;
    let mut pairs: Vec<(u32, u64)> = Vec::with_capacity(request.passages.len());
    for passage in &request.passages {
        let (tokens, seed) = count_prompt(&state, vec![passage.clone()], None).await;
        let mut h = Fnv::new(query_seed);
        h.write(&seed.to_le_bytes());
        pairs.push((query_tokens.saturating_add(tokens), h.finish()));
    }
    let max_len = state.config().max_model_len;
    if let Some((i, (tokens, _))) = pairs.iter().enumerate().find(|(_, p)| p.0 > max_len) {
        return Err(ApiError::bad_request(
            format!(
                "This model's maximum context length is {max_len} tokens. However, the query \
                 with passage {i} has {tokens} tokens. Please reduce the length of the input."
            ),
            Some("query"),
        ));
    }
    let prompt_tokens = pairs
        .iter()
        .map(|p| p.0 - query_tokens)
        .fold(query_tokens, u32::saturating_add);

    let shot = OneShot::new(&state, ("rerank", api.path()), arrival, client_request_id)
        .model(&request.model)
        .prompt_tokens(prompt_tokens);
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    prefill_only(&shot, &pairs).await?;
    let body = ranked(api, &request, &pairs, &shot.request_id).to_string();
    Ok(shot.answer("application/json", body))
}

/// The relevance of a pair: a logit drawn from its seed, roughly standard logistic.
fn logit(seed: u64) -> f64 {
    // 53 random bits as a probability strictly inside (0, 1).
    let p = ((plan::mix(seed, 0x0073_636f_7265) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (p / (1.0 - p)).ln()
}

/// The answer in `api`'s shape, passages best first.
fn ranked(api: Rerank, request: &Parsed, pairs: &[(u32, u64)], id: &str) -> Value {
    let mut order: Vec<(usize, f64)> = pairs
        .iter()
        .enumerate()
        .map(|(i, (_, seed))| (i, logit(*seed)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let probability = |logit: f64| 1.0 / (1.0 + (-logit).exp());
    match api {
        Rerank::Nim => json!({
            "rankings": order
                .iter()
                .map(|(i, l)| json!({"index": i, "logit": l}))
                .collect::<Vec<_>>(),
        }),
        Rerank::Tei => order
            .iter()
            .map(|(i, l)| {
                let score = if request.raw_scores {
                    *l
                } else {
                    probability(*l)
                };
                let mut entry = json!({"index": i, "score": score});
                if request.return_text {
                    entry["text"] = json!(request.passages[*i]);
                }
                entry
            })
            .collect(),
        Rerank::Cohere => json!({
            "id": id,
            "results": order
                .iter()
                .take(request.top_n.unwrap_or(usize::MAX))
                .map(|(i, l)| json!({"index": i, "relevance_score": probability(*l)}))
                .collect::<Vec<_>>(),
            "meta": {
                "api_version": {"version": "2"},
                "billed_units": {"search_units": 1},
            },
        }),
    }
}
