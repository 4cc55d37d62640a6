//! APIs whose wire format lives in a module of its own (OpenAI Responses, Anthropic Messages):
//! the module reads its request bodies and writes its events and whole answers, while the
//! engine's timing, injected faults, metrics and request records are the same as every other
//! API's ([`crate::stream`]). Such an API is served as [`crate::stream::Api::Other`].

use std::sync::Arc;

use bytes::Bytes;
use hyper::Response;

use crate::api::{ApiError, Parsed, count_prompt};
use crate::plan::LengthRequest;
use crate::server::State;
use crate::stream::{Job, SimBody};

/// One API with its own wire format.
pub(crate) trait Wire: Send + Sync + std::fmt::Debug {
    /// The path it is served on (written in request records).
    fn path(&self) -> &'static str;

    /// The start of its response ids (`resp`, `msg`).
    fn id_prefix(&self) -> &'static str;

    /// The generation controls of a request body.
    fn parse(&self, body: &[u8]) -> Result<WireRequest, ApiError>;

    /// Events sent as soon as a streamed request is accepted, before any token.
    fn opening(&self, job: &Job, out: &mut Events);

    /// The events of output token `index`, `text` (a reasoning token when
    /// `index < job.output.reasoning_tokens`); `reasoning` is the reasoning sent before it
    /// (all of it once the answer has begun).
    fn token(&self, job: &Job, index: u32, text: &str, reasoning: &str, out: &mut Events);

    /// The events after the last token, given the whole reasoning and answer.
    fn closing(&self, job: &Job, reasoning: &str, content: &str, out: &mut Events);

    /// The body of an answer that is not streamed.
    fn whole(&self, job: &Job, reasoning: &str, content: &str) -> String;

    /// The answer to a refused request (by default the OpenAI error shape).
    fn refuse(&self, error: ApiError) -> Response<SimBody> {
        error.into_response()
    }
}

/// What a request asks of the generation.
#[derive(Debug, Default)]
pub(crate) struct WireRequest {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// The texts of the prompt, counted with the server's tokenizer.
    pub(crate) texts: Vec<String>,
    pub(crate) seed: Option<u64>,
    /// The output cap and the name of its field.
    pub(crate) cap: Option<(u64, &'static str)>,
    pub(crate) min_tokens: Option<u64>,
    pub(crate) ignore_eos: bool,
}

/// Parses a request of `wire` and counts its prompt.
pub(crate) async fn parse(
    state: &Arc<State>,
    wire: &dyn Wire,
    body: Bytes,
) -> Result<Parsed, ApiError> {
    let req = wire.parse(&body)?;
    let (prompt_tokens, content_seed) = count_prompt(state, req.texts, req.seed).await;
    Ok(Parsed {
        model: req.model,
        stream: req.stream,
        // These APIs always report usage.
        include_usage: true,
        length: LengthRequest {
            prompt_tokens,
            cap: req.cap,
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos,
        },
        content_seed,
    })
}

/// Named server-sent events waiting to be written, and how many a stream has had so far (for
/// APIs that number their events).
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub(crate) list: Vec<(&'static str, String)>,
    count: u32,
}

impl Events {
    /// The number the next event gets (0 for a stream's first).
    pub(crate) fn next_number(&self) -> u32 {
        self.count
    }

    pub(crate) fn push(&mut self, name: &'static str, data: String) {
        self.list.push((name, data));
        self.count += 1;
    }

    /// The waiting events as SSE bytes (`event:` and `data:` lines), the last one's data cut
    /// in half when `malformed` (valid SSE, invalid JSON).
    pub(crate) fn take(&mut self, malformed: bool) -> Bytes {
        if malformed && let Some((_, data)) = self.list.last_mut() {
            data.truncate(data.floor_char_boundary(data.len() / 2));
        }
        let mut out = Vec::new();
        for (name, data) in self.list.drain(..) {
            aiperf_openai::sse::write_event(
                &mut out,
                Some(name),
                &data,
                aiperf_openai::sse::LineEnding::Lf,
            );
        }
        Bytes::from(out)
    }
}

/// `s` as a JSON string.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}

#[cfg(test)]
pub(crate) mod testing {
    //! A wire's answers to one request, without a server.

    use std::time::Instant;

    use aiperf_openai::FinishReason;
    use rand::SeedableRng;

    use super::*;
    use crate::plan::{Fault, OutputPlan};
    use crate::stream::Api;

    /// A request `wire` answers with `tokens` tokens, the first `reasoning` of them reasoning.
    pub(crate) fn job(wire: &'static dyn Wire, tokens: u32, reasoning: u32, cut: bool) -> Job {
        Job {
            api: Api::Other(wire),
            request_id: format!("{}-00000000000000ab", wire.id_prefix()),
            client_request_id: None,
            model: "m".into(),
            created: 1_700_000_000,
            stream: true,
            include_usage: true,
            prompt_tokens: 9,
            output: OutputPlan {
                tokens,
                reasoning_tokens: reasoning,
                finish_reason: if cut {
                    FinishReason::Length
                } else {
                    FinishReason::Stop
                },
            },
            fault: Fault::None,
            arrival: Instant::now(),
            rng: rand_pcg::Pcg64Mcg::seed_from_u64(1),
        }
    }

    /// The events of a whole stream, as (name, JSON data), with the words `w0`, `w1`, ...
    pub(crate) fn stream(job: &Job) -> Vec<(String, serde_json::Value)> {
        let Api::Other(wire) = job.api else {
            unreachable!("a wire's job")
        };
        let mut events = Events::default();
        let mut bytes = Vec::new();
        wire.opening(job, &mut events);
        bytes.extend_from_slice(&events.take(false));
        let (mut reasoning, mut content) = (String::new(), String::new());
        for i in 0..job.output.tokens {
            let word = format!(" w{i}");
            wire.token(job, i, &word, &reasoning, &mut events);
            bytes.extend_from_slice(&events.take(false));
            if i < job.output.reasoning_tokens {
                reasoning.push_str(&word);
            } else {
                content.push_str(&word);
            }
        }
        wire.closing(job, &reasoning, &content, &mut events);
        bytes.extend_from_slice(&events.take(false));
        aiperf_openai::sse::decode_all(&bytes)
            .unwrap()
            .into_iter()
            .map(|e| {
                let data = serde_json::from_str(&e.data).unwrap();
                (e.event.unwrap(), data)
            })
            .collect()
    }
}
