//! Request handling: routing, parsing and validating OpenAI requests, and turning an accepted
//! request into a response.

use std::sync::Arc;
use std::time::Instant;

use aiperf_openai::chat::ChatCompletionRequest;
use aiperf_openai::completions::{CompletionRequest, Prompt};
use aiperf_openai::{ErrorBody, Model, ModelList};
use bytes::Bytes;
use http::{Method, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::config::Timing;
use crate::driver::Admission;
use crate::plan::{self, Fault, Fnv, LengthRequest, Rejection};
use crate::record::{Ending, RequestRecord};
use crate::server::{State, json_response};
use crate::stream::{Api, Job, Lifecycle, SimBody, TokenSource, TokenStream, complete};

/// Largest request body accepted (a 128k-token prompt is well under this).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Prompts longer than this are tokenized on the blocking pool, not on a network thread.
const INLINE_TOKENIZE_BYTES: usize = 32 * 1024;

pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<SimBody> {
    let arrival = Instant::now();
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET | &Method::HEAD, "/health" | "/ping") => Response::new(SimBody::empty()),
        (&Method::GET, "/v1/models") => models(&state),
        (&Method::GET, "/metrics") => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .body(SimBody::full(state.metrics().render()))
            .expect("static headers are valid"),
        (&Method::GET, "/dcgm/metrics") => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .body(SimBody::full(state.metrics().render_dcgm()))
            .expect("static headers are valid"),
        (&Method::GET, "/version") => json_response(
            200,
            format!(
                "{{\"version\":\"aiperf-sim {}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        (&Method::POST, "/v1/chat/completions") => generate(state, req, Api::Chat, arrival).await,
        (&Method::POST, "/v1/completions") => generate(state, req, Api::Completions, arrival).await,
        (&Method::POST, crate::tgi::GENERATE) => generate(state, req, Api::Generate, arrival).await,
        (&Method::POST, crate::tgi::GENERATE_STREAM) => {
            generate(state, req, Api::GenerateStream, arrival).await
        }
        (&Method::POST, crate::embed::PATH) => crate::embed::embeddings(state, req, arrival).await,
        (&Method::POST, crate::rerank::NIM) => {
            crate::rerank::rerank(state, req, crate::rerank::Rerank::Nim, arrival).await
        }
        (&Method::POST, crate::rerank::TEI) => {
            crate::rerank::rerank(state, req, crate::rerank::Rerank::Tei, arrival).await
        }
        (&Method::POST, crate::rerank::COHERE) => {
            crate::rerank::rerank(state, req, crate::rerank::Rerank::Cohere, arrival).await
        }
        (&Method::POST, crate::responses::PATH) => {
            generate(
                state,
                req,
                Api::Other(&crate::responses::Responses),
                arrival,
            )
            .await
        }
        (&Method::POST, crate::messages::PATH) => {
            generate(state, req, Api::Other(&crate::messages::Messages), arrival).await
        }
        (&Method::POST, crate::solido::PATH) => {
            let wire = crate::solido::for_request(&req);
            generate(state, req, Api::Other(wire), arrival).await
        }
        (&Method::POST, crate::images::GENERATIONS) => {
            crate::images::generations(state, req, arrival).await
        }
        (&Method::POST, crate::images::EDITS) => crate::images::edits(state, req, arrival).await,
        (&Method::POST, crate::images::INFER) => crate::images::infer(state, req, arrival).await,
        (&Method::POST, crate::audio::TRANSCRIPTIONS) => {
            crate::audio::transcriptions(state, req, arrival).await
        }
        (&Method::POST, crate::videos::PATH) => crate::videos::submit(state, req, arrival).await,
        (&Method::GET, p) if p.starts_with(crate::videos::JOB_PREFIX) => {
            crate::videos::get(&state, p)
        }
        (&Method::POST, crate::tokenize::TOKENIZE) => crate::tokenize::tokenize(state, req).await,
        (&Method::POST, p) if crate::control::route(p).is_some() => {
            crate::control::control(&state, p, arrival)
        }
        (&Method::POST, crate::tokenize::DETOKENIZE) => {
            crate::tokenize::detokenize(state, req).await
        }
        (
            _,
            "/health"
            | "/ping"
            | "/v1/models"
            | "/metrics"
            | "/dcgm/metrics"
            | "/version"
            | "/v1/chat/completions"
            | "/v1/completions"
            | crate::tgi::GENERATE
            | crate::tgi::GENERATE_STREAM
            | crate::embed::PATH
            | crate::rerank::NIM
            | crate::rerank::TEI
            | crate::rerank::COHERE
            | crate::responses::PATH
            | crate::messages::PATH
            | crate::solido::PATH
            | crate::images::GENERATIONS
            | crate::images::EDITS
            | crate::images::INFER
            | crate::audio::TRANSCRIPTIONS
            | crate::videos::PATH
            | crate::tokenize::TOKENIZE
            | crate::tokenize::DETOKENIZE
            | crate::control::RESET_PREFIX_CACHE
            | crate::control::START_PROFILE
            | crate::control::STOP_PROFILE,
        ) => ApiError::new(
            405,
            "MethodNotAllowed",
            format!("method {} is not allowed on {path}", req.method()),
        )
        .into_response(),
        _ => ApiError::new(404, "NotFoundError", format!("no route for {path}")).into_response(),
    }
}

fn models(state: &State) -> Response<SimBody> {
    let list = ModelList {
        object: "list".into(),
        data: state
            .config()
            .served_models
            .iter()
            .map(|id| Model {
                id: id.clone(),
                object: "model".into(),
                created: state.started_unix(),
                owned_by: "aiperf-sim".into(),
                max_model_len: Some(u64::from(state.config().max_model_len)),
            })
            .collect(),
    };
    json_response(200, serde_json::to_string(&list).expect("plain struct"))
}

/// A request the server refuses, as an OpenAI-style error.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
        }
    }

    /// 404, as vLLM answers a model it does not serve.
    pub(crate) fn unknown_model(model: &str) -> Self {
        Self {
            param: Some("model".into()),
            ..Self::new(
                404,
                "NotFoundError",
                format!("The model `{model}` does not exist."),
            )
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            param: param.map(str::to_owned),
            ..Self::new(400, "BadRequestError", message)
        }
    }

    pub(crate) fn into_response(self) -> Response<SimBody> {
        let body = ErrorBody::new(self.status, self.kind, self.message, self.param.as_deref());
        json_response(
            self.status,
            serde_json::to_string(&body).expect("plain struct"),
        )
    }
}

/// What the API-specific parsing extracts from a generation request.
pub(crate) struct Parsed {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// OpenAI: a usage chunk at the end of a stream; TGI: `details` in the answer.
    pub(crate) include_usage: bool,
    pub(crate) length: LengthRequest,
    /// Seed of the output, from the prompt text and the request's own `seed`.
    pub(crate) content_seed: u64,
}

async fn generate(
    state: Arc<State>,
    req: Request<Incoming>,
    api: Api,
    arrival: Instant,
) -> Response<SimBody> {
    match (accept(state, req, api, arrival).await, api) {
        (Ok(response), _) => response,
        (Err(e), Api::Other(wire)) => wire.refuse(e),
        (Err(e), _) => e.into_response(),
    }
}

/// Parses and validates a generation request, then starts answering it.
async fn accept(
    state: Arc<State>,
    req: Request<Incoming>,
    api: Api,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let client_request_id = client_request_id(&req);
    let body = read_body(req).await?;
    let parsed = match api {
        Api::Chat => parse_chat(&state, body).await?,
        Api::Completions => parse_completion(&state, body).await?,
        Api::Generate => crate::tgi::parse(&state, body, false).await?,
        Api::GenerateStream => crate::tgi::parse(&state, body, true).await?,
        Api::Other(wire) => crate::wire::parse(&state, wire, body).await?,
    };
    if !state.config().served_models.contains(&parsed.model) {
        return Err(ApiError::unknown_model(&parsed.model));
    }

    let config = state.config();
    let mut rng = Pcg64Mcg::seed_from_u64(parsed.content_seed);
    let output = match plan::plan_output(
        parsed.length,
        config.max_model_len,
        &config.output,
        matches!(api, Api::Chat | Api::Other(_)),
        &mut rng,
    ) {
        Ok(output) => output,
        Err(Rejection { message, param }) => return Err(ApiError::bad_request(message, param)),
    };
    let index = state.next_request();
    let fault = plan::plan_fault(&config.faults, config.seed, index, output.tokens);
    let prefix = match api {
        Api::Chat => "chatcmpl",
        Api::Completions => "cmpl",
        Api::Generate | Api::GenerateStream => "tgi",
        Api::Other(wire) => wire.id_prefix(),
    };
    let job = Job {
        api,
        request_id: format!("{prefix}-{:016x}", plan::mix(state.started_unix(), index)),
        client_request_id,
        model: parsed.model,
        created: state.started_unix() + arrival.elapsed().as_secs(),
        stream: parsed.stream,
        include_usage: parsed.include_usage,
        prompt_tokens: parsed.length.prompt_tokens,
        output,
        fault,
        arrival,
        rng,
    };
    if let Fault::HttpError { status } = fault {
        return Ok(injected_error(&state, &job, status));
    }

    let source = token_source(&state, &job, index).ok_or_else(|| {
        ApiError::new(
            503,
            "ServiceUnavailableError",
            "the server is shutting down",
        )
    })?;
    let life = Lifecycle::start(Arc::clone(&state), job);
    let response = if parsed.stream {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(SimBody::Stream(Box::new(TokenStream::new(life, source))))
    } else {
        let body = complete(life, source).await;
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
    };
    Ok(response.expect("static headers are valid"))
}

/// The client's `X-Request-ID` (recorded with the request), at most 128 characters.
pub(crate) fn client_request_id(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(128).collect())
}

/// The whole request body, refused when over [`MAX_BODY_BYTES`].
pub(crate) async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            413,
            "RequestTooLarge",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )),
        // The client went away while sending the body.
        Err(_) => Err(ApiError::bad_request(
            "the request body could not be read",
            None,
        )),
    }
}

/// Starts generating: registers with the engine or sets up the fixed clock.
fn token_source(state: &State, job: &Job, index: u64) -> Option<TokenSource> {
    let config = state.config();
    Some(match &config.timing {
        Timing::Engine(_) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let admitted = state.engine()?.submit(Admission {
                id: index,
                prompt_tokens: job.prompt_tokens,
                output_tokens: job.output.tokens,
                arrival: job.arrival,
                tokens: tx,
            });
            if !admitted {
                return None;
            }
            TokenSource::Engine(rx)
        }
        Timing::Fixed { ttft, itl } => TokenSource::Fixed {
            first: job.arrival + config.scaled(*ttft),
            itl: config.scaled(*itl),
            ready: 0,
            timer: Arc::clone(state.timer()),
            sleep: None,
        },
        Timing::Zero => TokenSource::Immediate,
    })
}

fn injected_error(state: &State, job: &Job, status: u16) -> Response<SimBody> {
    let clock = state.clock();
    state.record(|| RequestRecord {
        request_id: job.request_id.clone(),
        client_request_id: job.client_request_id.clone(),
        endpoint: job.api.path(),
        model: job.model.clone(),
        stream: job.stream,
        status,
        ending: Ending::Error,
        fault: job.fault.name(),
        arrival_ns: clock.ns(job.arrival),
        first_token_ns: None,
        last_token_ns: None,
        end_ns: clock.ns(Instant::now()),
        prompt_tokens: job.prompt_tokens,
        completion_tokens: 0,
        reasoning_tokens: 0,
        tokens_sent: 0,
    });
    injected_error_response(state, status)
}

/// The answer to a request picked for an injected HTTP error (counted in the metrics).
pub(crate) fn injected_error_response(state: &State, status: u16) -> Response<SimBody> {
    state
        .metrics()
        .http_errors_injected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (kind, message) = match status {
        429 => (
            "RateLimitError",
            "Rate limit reached (simulated); retry later.",
        ),
        503 => (
            "ServiceUnavailableError",
            "The server is overloaded (simulated).",
        ),
        500..=599 => ("InternalServerError", "Internal server error (simulated)."),
        _ => ("BadRequestError", "Request rejected (simulated)."),
    };
    let mut response = ApiError::new(status, kind, message).into_response();
    if matches!(status, 429 | 503) {
        let retry = state.config().faults.retry_after_secs.to_string();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            retry.parse().expect("digits are a valid header value"),
        );
    }
    response
}

async fn parse_chat(state: &Arc<State>, body: Bytes) -> Result<Parsed, ApiError> {
    let req: ChatCompletionRequest = parse_json(&body)?;
    if req.messages.is_empty() {
        return Err(ApiError::bad_request(
            "messages must not be empty",
            Some("messages"),
        ));
    }
    check_n(req.n)?;
    reject_unsupported(&req.extra, &["logprobs", "top_logprobs"])?;
    let mut texts = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        if let Some(content) = &message.content {
            content.for_each_text(|t| texts.push(t.to_owned()));
        }
    }
    let (prompt_tokens, content_seed) = count_prompt(state, texts, req.seed).await;
    let media: u32 = (req.messages.iter())
        .filter_map(|m| m.content.as_ref())
        .map(crate::media::tokens)
        .fold(0, u32::saturating_add);
    let prompt_tokens = prompt_tokens.saturating_add(media);
    let cap = match (req.max_completion_tokens, req.max_tokens) {
        (Some(cap), _) => Some((cap, "max_completion_tokens")),
        (None, Some(cap)) => Some((cap, "max_tokens")),
        (None, None) => None,
    };
    Ok(Parsed {
        include_usage: req.include_usage(),
        stream: req.is_streaming(),
        model: req.model,
        length: LengthRequest {
            prompt_tokens,
            cap,
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos.unwrap_or(false),
        },
        content_seed,
    })
}

async fn parse_completion(state: &Arc<State>, body: Bytes) -> Result<Parsed, ApiError> {
    let req: CompletionRequest = parse_json(&body)?;
    check_n(req.n)?;
    if req.echo == Some(true) {
        return Err(ApiError::bad_request(
            "echo is not supported by the simulator",
            Some("echo"),
        ));
    }
    reject_unsupported(&req.extra, &["logprobs"])?;
    let (stream, include_usage) = (req.is_streaming(), req.include_usage());
    let (prompt_tokens, content_seed) = match req.prompt {
        Prompt::Text(text) => count_prompt(state, vec![text], req.seed).await,
        Prompt::Texts(mut texts) if texts.len() == 1 => {
            count_prompt(state, vec![texts.remove(0)], req.seed).await
        }
        Prompt::Tokens(ids) => {
            let mut h = Fnv::new(state.config().seed ^ req.seed.unwrap_or(0));
            ids.iter().for_each(|id| h.write(&id.to_le_bytes()));
            (u32::try_from(ids.len()).unwrap_or(u32::MAX), h.finish())
        }
        Prompt::TokenBatches(batch) if batch.len() == 1 => {
            let mut h = Fnv::new(state.config().seed ^ req.seed.unwrap_or(0));
            batch[0].iter().for_each(|id| h.write(&id.to_le_bytes()));
            (
                u32::try_from(batch[0].len()).unwrap_or(u32::MAX),
                h.finish(),
            )
        }
        Prompt::Texts(_) | Prompt::TokenBatches(_) => {
            return Err(ApiError::bad_request(
                "batched prompts are not supported by the simulator; send one prompt per request",
                Some("prompt"),
            ));
        }
    };
    Ok(Parsed {
        include_usage,
        stream,
        model: req.model,
        length: LengthRequest {
            prompt_tokens,
            cap: req.max_tokens.map(|cap| (cap, "max_tokens")),
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos.unwrap_or(false),
        },
        content_seed,
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        // "missing field `x`" is reported at the parent; name the field itself.
        let missing = inner
            .to_string()
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let path = e.path().to_string();
        // A syntax error has no field to name; serde_path_to_error shows an unknown segment as `?`.
        let path = if inner.is_syntax() || inner.is_eof() || path.contains('?') {
            ".".to_owned()
        } else {
            path
        };
        let param = match (missing, path.as_str()) {
            (Some(field), ".") => Some(field),
            (Some(field), parent) => Some(format!("{parent}.{field}")),
            (None, ".") => None,
            (None, path) => Some(path.to_owned()),
        };
        let message = match (&param, inner.is_data()) {
            (Some(param), true) => format!("invalid request body: {param}: {inner}"),
            _ => format!("invalid request body: {inner}"),
        };
        ApiError::bad_request(message, param.as_deref())
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}"), None))?;
    Ok(value)
}

fn check_n(n: Option<u32>) -> Result<(), ApiError> {
    match n {
        None | Some(1) => Ok(()),
        Some(n) => Err(ApiError::bad_request(
            format!("n={n} is not supported by the simulator; only one choice per request (n=1)"),
            Some("n"),
        )),
    }
}

/// Refuses parameters the simulator cannot honour instead of silently ignoring them.
fn reject_unsupported(extra: &Map<String, Value>, logprob_fields: &[&str]) -> Result<(), ApiError> {
    for &field in logprob_fields {
        match extra.get(field) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    format!("{field} is not supported by the simulator"),
                    Some(field),
                ));
            }
        }
    }
    if let Some(best_of) = extra.get("best_of").and_then(Value::as_u64)
        && best_of > 1
    {
        return Err(ApiError::bad_request(
            "best_of > 1 is not supported by the simulator",
            Some("best_of"),
        ));
    }
    if extra.get("use_beam_search") == Some(&Value::Bool(true)) {
        return Err(ApiError::bad_request(
            "beam search is not supported by the simulator",
            Some("use_beam_search"),
        ));
    }
    // Tools may be offered (a real model may still answer in text), but a forced call cannot be
    // simulated: the answer is always text.
    match extra.get("tool_choice") {
        None | Some(Value::Null) => {}
        Some(Value::String(choice)) if choice == "auto" || choice == "none" => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "tool_choice other than \"auto\" or \"none\" is not supported by the simulator \
                 (it answers in text, never with a tool call)",
                Some("tool_choice"),
            ));
        }
    }
    // Structured output changes what a server generates and how fast; the simulator's text is free.
    if let Some(format) = extra.get("response_format")
        && !format.is_null()
        && format.get("type").and_then(Value::as_str) != Some("text")
    {
        return Err(ApiError::bad_request(
            "response_format other than {\"type\": \"text\"} is not supported by the simulator",
            Some("response_format"),
        ));
    }
    for field in [
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "structured_outputs",
    ] {
        if extra.get(field).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::bad_request(
                format!("{field} (structured output) is not supported by the simulator"),
                Some(field),
            ));
        }
    }
    Ok(())
}

/// Counts prompt tokens and derives the content seed from the prompt text.
pub(crate) async fn count_prompt(
    state: &Arc<State>,
    texts: Vec<String>,
    seed: Option<u64>,
) -> (u32, u64) {
    let mut h = Fnv::new(state.config().seed ^ seed.unwrap_or(0));
    for text in &texts {
        h.write(text.as_bytes());
        h.write(&[0]);
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let count = |state: &State, texts: &[String]| -> u32 {
        texts
            .iter()
            .map(|t| state.tokenizer().count(t))
            .fold(0u32, u32::saturating_add)
    };
    let tokens = if bytes <= INLINE_TOKENIZE_BYTES {
        count(state, &texts)
    } else {
        let state = Arc::clone(state);
        tokio::task::spawn_blocking(move || count(&state, &texts))
            .await
            .unwrap_or(u32::MAX)
    };
    (tokens, h.finish())
}
