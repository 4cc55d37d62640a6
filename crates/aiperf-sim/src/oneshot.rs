//! What the routes that answer in one piece share (embeddings, rerankers, images, object
//! detection, transcription, video jobs): the request's number, id and injected fault, its line
//! of `--record-requests`, the time it is in flight, and its answer as the fault leaves it.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use http::header;
use hyper::Response;

use crate::api::injected_error_response;
use crate::embed::InFlight;
use crate::metrics::Finished;
use crate::plan::{self, Fault};
use crate::record::{Ending, RequestRecord};
use crate::server::State;
use crate::stream::SimBody;

/// One request answered in one piece.
pub(crate) struct OneShot<'a> {
    pub(crate) state: &'a State,
    /// The server's id of the request (`<prefix>-<16 hex digits>`).
    pub(crate) request_id: String,
    pub(crate) fault: Fault,
    pub(crate) arrival: Instant,
    client_request_id: Option<String>,
    endpoint: &'static str,
    model: String,
    stream: bool,
    prompt_tokens: u32,
}

impl<'a> OneShot<'a> {
    /// A request to `endpoint` that arrived at `arrival`: its number, its id (`prefix` and
    /// the number) and the fault planned for it.
    pub(crate) fn new(
        state: &'a State,
        (prefix, endpoint): (&str, &'static str),
        arrival: Instant,
        client_request_id: Option<String>,
    ) -> Self {
        let config = state.config();
        let index = state.next_request();
        Self {
            state,
            request_id: format!("{prefix}-{:016x}", plan::mix(state.started_unix(), index)),
            fault: plan::plan_fault(&config.faults, config.seed, index, 1),
            arrival,
            client_request_id,
            endpoint,
            model: String::new(),
            stream: false,
            prompt_tokens: 0,
        }
    }

    /// The model the request named, for its record.
    pub(crate) fn model(self, model: &str) -> Self {
        Self {
            model: model.to_owned(),
            ..self
        }
    }

    /// Its prompt tokens, counted in the server's metrics as its work starts.
    pub(crate) fn prompt_tokens(self, prompt_tokens: u32) -> Self {
        Self {
            prompt_tokens,
            ..self
        }
    }

    /// Whether it asked for a streamed answer, for its record.
    pub(crate) fn streamed(self, stream: bool) -> Self {
        Self { stream, ..self }
    }

    /// Records how the request ended, at `end` (when `--record-requests` is on).
    pub(crate) fn record(&self, status: u16, ending: Ending, end: Instant) {
        let clock = self.state.clock();
        self.state.record(|| RequestRecord {
            request_id: self.request_id.clone(),
            client_request_id: self.client_request_id.clone(),
            endpoint: self.endpoint,
            model: self.model.clone(),
            stream: self.stream,
            status,
            ending,
            fault: self.fault.name(),
            arrival_ns: clock.ns(self.arrival),
            first_token_ns: None,
            last_token_ns: None,
            end_ns: clock.ns(end),
            prompt_tokens: self.prompt_tokens,
            completion_tokens: 0,
            reasoning_tokens: 0,
            tokens_sent: 0,
        });
    }

    /// The answer of an injected HTTP error, when that is the request's fault (recorded).
    pub(crate) fn injected_error(&self) -> Option<Response<SimBody>> {
        let Fault::HttpError { status } = self.fault else {
            return None;
        };
        self.record(status, Ending::Error, Instant::now());
        Some(injected_error_response(self.state, status))
    }

    /// How much longer an injected stall holds the answer.
    pub(crate) fn stall(&self) -> Duration {
        let config = self.state.config();
        match self.fault {
            Fault::Stall { .. } => config.scaled(config.faults.stall),
            _ => Duration::ZERO,
        }
    }

    /// Starts the request's work: its prompt counted, and in flight until the guard is dropped
    /// (answered, or the client went away and the request's future was dropped).
    pub(crate) fn start_work(&self) -> InFlight<'a> {
        let m = self.state.metrics();
        m.prompt_tokens
            .fetch_add(u64::from(self.prompt_tokens), Relaxed);
        InFlight::enter(self.state)
    }

    /// Works until `done` (and any stall), then counts the request finished with its
    /// end-to-end latency.
    pub(crate) async fn work_until(&self, done: Instant) {
        let in_flight = self.start_work();
        self.state.timer().sleep_until(done + self.stall()).await;
        drop(in_flight);
        let m = self.state.metrics();
        m.e2e.observe(self.arrival.elapsed().as_secs_f64());
        m.finished(Finished::Stop);
    }

    /// A 200 answer of `body` as the fault leaves it (cut short mid-JSON, as a crashed proxy
    /// would, or dropped), recorded.
    pub(crate) fn answer(&self, content_type: &str, body: String) -> Response<SimBody> {
        let (ending, body) = match self.fault {
            Fault::Disconnect { .. } => (Ending::Disconnected, SimBody::Disconnect),
            Fault::Malformed { .. } => (
                Ending::Completed,
                SimBody::full(body[..body.len() / 2].to_owned()),
            ),
            _ => (Ending::Completed, SimBody::full(body)),
        };
        self.record(200, ending, Instant::now());
        Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .expect("static headers are valid")
    }
}
