//! `/v1/embeddings`: every input of the batch is a prefill-only sequence for the timing model
//! (it competes for the engine's token budget like any prompt), and the answer is a seeded,
//! unit-length vector per input, the same for the same text.
//!
//! Besides OpenAI's `input`, it takes the chat `messages` vLLM accepts for multimodal
//! embedding models (one input: the texts of all messages, each image, audio or video part
//! counting [`MEDIA_TOKENS`]), and NIM's inputs, where an image is a `data:image/` URI alone
//! or after its caption (counted the same way); NIM's own fields (`input_type`, `truncate`)
//! change nothing here.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use aiperf_openai::embeddings::{EmbeddingInput, EmbeddingRequest};
use base64::Engine as _;
use hyper::body::Incoming;
use hyper::{Request, Response};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::api::{ApiError, client_request_id, count_prompt, parse_json, read_body};
use crate::config::Timing;
use crate::driver::Admission;
use crate::metrics::Finished;
use crate::oneshot::OneShot;
use crate::plan::Fnv;
use crate::record::Ending;
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const PATH: &str = "/v1/embeddings";

/// Vector length when the request does not ask for one (BERT-base-sized models).
const DEFAULT_DIMENSIONS: u32 = 768;
const MAX_DIMENSIONS: u32 = 8192;

/// Tokens an image, audio clip or video part costs (a ViT-L/14 at 336 px: 24 × 24 patches).
pub(crate) const MEDIA_TOKENS: u32 = 576;

pub(crate) async fn embeddings(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    match answer(state, req, arrival).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let client_request_id = client_request_id(&req);
    let body = read_body(req).await?;
    let (request, media) = parse_request(&body)?;
    if !state.config().served_models.contains(&request.model) {
        return Err(ApiError::unknown_model(&request.model));
    }
    let dimensions = request.dimensions.unwrap_or(DEFAULT_DIMENSIONS);
    if !(1..=MAX_DIMENSIONS).contains(&dimensions) {
        return Err(ApiError::bad_request(
            format!("dimensions must be between 1 and {MAX_DIMENSIONS}, got {dimensions}"),
            Some("dimensions"),
        ));
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("encoding_format must be \"float\" or \"base64\", got {other:?}"),
                Some("encoding_format"),
            ));
        }
    };
    if request.input.is_empty() {
        return Err(ApiError::bad_request(
            "input must not be empty",
            Some("input"),
        ));
    }

    // Tokens and a vector seed per input.
    let max_len = state.config().max_model_len;
    let mut inputs: Vec<(u32, u64)> = Vec::with_capacity(request.input.len());
    match request.input {
        EmbeddingInput::Text(text) => inputs.push(count_input(&state, text).await),
        EmbeddingInput::Texts(texts) => {
            for text in texts {
                inputs.push(count_input(&state, text).await);
            }
        }
        EmbeddingInput::Tokens(ids) => inputs.push(token_input(&state, &ids)),
        EmbeddingInput::TokenBatches(batches) => {
            inputs.extend(batches.iter().map(|ids| token_input(&state, ids)));
        }
    }
    if let Some(first) = inputs.first_mut() {
        first.0 = first.0.saturating_add(media.saturating_mul(MEDIA_TOKENS));
    }
    if let Some((i, (tokens, _))) = inputs
        .iter()
        .enumerate()
        .find(|(_, (t, _))| *t == 0 || *t > max_len)
    {
        return Err(ApiError::bad_request(
            if *tokens == 0 {
                format!("input {i} is empty")
            } else {
                format!(
                    "This model's maximum context length is {max_len} tokens. However, input \
                     {i} has {tokens} tokens. Please reduce the length of the input."
                )
            },
            Some("input"),
        ));
    }
    let prompt_tokens: u32 = inputs.iter().map(|(t, _)| *t).sum();

    let shot = OneShot::new(&state, ("embd", PATH), arrival, client_request_id)
        .model(&request.model)
        .prompt_tokens(prompt_tokens);
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    prefill_only(&shot, &inputs).await?;

    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, (_, seed))| {
            let v = vector(*seed, dimensions);
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"index": i, "object": "embedding", "embedding": embedding})
        })
        .collect();
    let body = json!({
        "id": shot.request_id,
        "object": "list",
        "created": state.started_unix() + arrival.elapsed().as_secs(),
        "model": request.model,
        "data": data,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens, "completion_tokens": 0},
    })
    .to_string();
    Ok(shot.answer("application/json", body))
}

/// The chat form of an embeddings request (vLLM's, for multimodal embedding models).
#[derive(Debug, Deserialize)]
struct ChatEmbeddingRequest {
    model: String,
    messages: Vec<ChatMessage>,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<u32>,
    /// `stream`, the output cap and the like change nothing here.
    #[serde(flatten)]
    _other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct ChatMessage {
    content: ChatContent,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ChatContent {
    Text(String),
    Parts(Vec<ChatPart>),
}

#[derive(Debug, Deserialize)]
struct ChatPart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// The request as OpenAI's form, and how many media parts its chat messages held.
fn parse_request(body: &[u8]) -> Result<(EmbeddingRequest, u32), ApiError> {
    #[derive(Deserialize)]
    struct Form {
        #[serde(default)]
        messages: Option<IgnoredAny>,
    }
    if !serde_json::from_slice::<Form>(body).is_ok_and(|f| f.messages.is_some()) {
        return Ok((parse_json(body)?, 0));
    }
    let chat: ChatEmbeddingRequest = parse_json(body)?;
    if chat.messages.is_empty() {
        return Err(ApiError::bad_request(
            "messages must not be empty",
            Some("messages"),
        ));
    }
    let mut texts = Vec::new();
    let mut media = 0u32;
    for message in chat.messages {
        match message.content {
            ChatContent::Text(text) => texts.push(text),
            ChatContent::Parts(parts) => {
                for part in parts {
                    match (part.kind.as_str(), part.text) {
                        ("text", Some(text)) => texts.push(text),
                        ("text", None) => {}
                        _ => media += 1,
                    }
                }
            }
        }
    }
    let request = EmbeddingRequest {
        model: chat.model,
        input: EmbeddingInput::Text(texts.join("\n")),
        encoding_format: chat.encoding_format,
        dimensions: chat.dimensions,
        user: None,
        extra: Map::new(),
    };
    Ok((request, media))
}

/// The tokens and vector seed of one input text; an image given in it as a `data:image/` URI
/// (NIM's form) counts [`MEDIA_TOKENS`] instead of its characters.
async fn count_input(state: &Arc<State>, text: String) -> (u32, u64) {
    if !text.contains("data:image/") {
        return count_prompt(state, vec![text], None).await;
    }
    let (images, words): (Vec<&str>, Vec<&str>) =
        text.split(' ').partition(|w| w.starts_with("data:image/"));
    let (tokens, _) = count_prompt(state, vec![words.join(" ")], None).await;
    let images = u32::try_from(images.len()).unwrap_or(u32::MAX);
    let mut seed = Fnv::new(state.config().seed);
    seed.write(text.as_bytes());
    (
        tokens.saturating_add(images.saturating_mul(MEDIA_TOKENS)),
        seed.finish(),
    )
}

/// Counts a request in flight for as long as it lives.
pub(crate) struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    pub(crate) fn enter(state: &'a State) -> Self {
        state.metrics().in_flight.fetch_add(1, Relaxed);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.metrics().in_flight.fetch_sub(1, Relaxed);
    }
}

/// Token ids given directly: their count, and a seed from the ids.
fn token_input(state: &State, ids: &[u32]) -> (u32, u64) {
    let mut h = Fnv::new(state.config().seed);
    for id in ids {
        h.write(&id.to_le_bytes());
    }
    (u32::try_from(ids.len()).unwrap_or(u32::MAX), h.finish())
}

/// The work of a prefill-only request (embeddings, rerankers): its `sequences` (tokens, seed)
/// through the model, then any injected stall, counted in the server's metrics. An error
/// (recorded) when the server shut down first.
pub(crate) async fn prefill_only(
    shot: &OneShot<'_>,
    sequences: &[(u32, u64)],
) -> Result<(), ApiError> {
    let state = shot.state;
    let in_flight = shot.start_work();
    let done = wait_for_prefill(state, sequences, shot.arrival).await;
    let stall = shot.stall();
    if !stall.is_zero() {
        state.timer().sleep_until(Instant::now() + stall).await;
    }
    let now = Instant::now();
    drop(in_flight);
    let m = state.metrics();
    m.e2e.observe((now - shot.arrival).as_secs_f64());
    if !done {
        shot.record(503, Ending::Error, now);
        return Err(ApiError::new(
            503,
            "ServiceUnavailableError",
            "the server is shutting down",
        ));
    }
    m.finished(Finished::Stop);
    Ok(())
}

/// Waits until every input has been through the model; `false` when the engine has shut down.
pub(crate) async fn wait_for_prefill(
    state: &State,
    inputs: &[(u32, u64)],
    arrival: Instant,
) -> bool {
    let config = state.config();
    match &config.timing {
        Timing::Engine(_) => {
            let Some(engine) = state.engine() else {
                return false;
            };
            let mut pending = Vec::with_capacity(inputs.len());
            for (tokens, _) in inputs {
                let (tx, rx) = mpsc::unbounded_channel();
                // One output step: the sequence leaves the engine once its prompt is processed.
                let admitted = engine.submit(Admission {
                    id: state.next_request(),
                    prompt_tokens: *tokens,
                    output_tokens: 1,
                    arrival,
                    tokens: tx,
                });
                if !admitted {
                    return false;
                }
                pending.push(rx);
            }
            for mut rx in pending {
                if rx.recv().await.is_none() {
                    return false;
                }
            }
            true
        }
        Timing::Fixed { ttft, .. } => {
            state
                .timer()
                .sleep_until(arrival + config.scaled(*ttft))
                .await;
            true
        }
        Timing::Zero => true,
    }
}

/// A unit-length vector drawn from a seeded normal distribution.
fn vector(seed: u64, dimensions: u32) -> Vec<f32> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let raw: Vec<f64> = (0..dimensions)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    raw.iter().map(|x| (x / norm) as f32).collect()
}
