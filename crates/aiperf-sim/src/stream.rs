//! Response bodies: the server-sent-event stream of a streaming completion, the single JSON
//! document of a non-streaming one, and the bookkeeping every response shares (metrics and
//! the request record).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use aiperf_openai::{FinishReason, Usage, sse};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use rand_pcg::Pcg64Mcg;
use tokio::sync::mpsc;

use crate::metrics::Finished;
use crate::plan::{Fault, OutputPlan};
use crate::record::{Ending, RequestRecord};
use crate::server::State;
use crate::wire::{Events, Wire};
use aiperf_shared::timer::{PreciseTimer, Sleep};

/// Which API a request came in on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    Chat,
    Completions,
    /// TGI's `/generate`.
    Generate,
    /// TGI's `/generate_stream`.
    GenerateStream,
    /// An API whose requests, events and bodies its own module handles ([`Wire`]).
    Other(&'static dyn Wire),
}

impl PartialEq for Api {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Other(a), Self::Other(b)) => a.path() == b.path(),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for Api {}

impl Api {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Chat => "/v1/chat/completions",
            Self::Completions => "/v1/completions",
            Self::Generate => crate::tgi::GENERATE,
            Self::GenerateStream => crate::tgi::GENERATE_STREAM,
            Self::Other(wire) => wire.path(),
        }
    }

    /// Answers in TGI's shapes rather than OpenAI's.
    pub(crate) fn is_tgi(self) -> bool {
        matches!(self, Self::Generate | Self::GenerateStream)
    }
}

/// Tells a response when its next output token is ready.
#[derive(Debug)]
pub(crate) enum TokenSource {
    /// The shared engine sends one message per token and hangs up when done.
    Engine(mpsc::UnboundedReceiver<()>),
    /// Token `k` is ready at `first + k·itl`, whatever else is going on.
    Fixed {
        first: Instant,
        itl: Duration,
        ready: u32,
        timer: Arc<PreciseTimer>,
        sleep: Option<Sleep>,
    },
    /// Every token is ready at once.
    Immediate,
}

impl TokenSource {
    /// `Ready(true)` when the next token is ready, `Ready(false)` when no more will come.
    pub(crate) fn poll_token(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        match self {
            Self::Engine(rx) => rx.poll_recv(cx).map(|t| t.is_some()),
            Self::Fixed {
                first,
                itl,
                ready,
                timer,
                sleep,
            } => {
                let deadline = *first + *itl * *ready;
                if Instant::now() < deadline {
                    let sleep = sleep.get_or_insert_with(|| timer.sleep_until(deadline));
                    ready!(Pin::new(sleep).poll(cx));
                }
                *sleep = None;
                *ready += 1;
                Poll::Ready(true)
            }
            Self::Immediate => Poll::Ready(true),
        }
    }
}

/// Everything fixed about one accepted request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) api: Api,
    pub(crate) request_id: String,
    /// The client's `X-Request-ID` header, to join client and server records.
    pub(crate) client_request_id: Option<String>,
    pub(crate) model: String,
    pub(crate) created: u64,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    pub(crate) prompt_tokens: u32,
    pub(crate) output: OutputPlan,
    pub(crate) fault: Fault,
    pub(crate) arrival: Instant,
    /// Chooses the words of the output.
    pub(crate) rng: Pcg64Mcg,
}

impl Job {
    fn usage(&self) -> Usage {
        Usage::new(
            u64::from(self.prompt_tokens),
            u64::from(self.output.tokens),
            u64::from(self.output.reasoning_tokens),
        )
    }
}

/// One accepted request: its job plus the metrics and request record written exactly once,
/// when the response ends or when it is dropped unfinished (the client went away).
#[derive(Debug)]
pub(crate) struct Lifecycle {
    state: Arc<State>,
    job: Job,
    first_token: Option<Instant>,
    last_token: Option<Instant>,
    tokens_sent: u32,
    done: bool,
    /// The request's speculative-decoding steps, when the server speculates.
    spec: Option<crate::spec_decode::Acceptance>,
}

impl Lifecycle {
    pub(crate) fn start(state: Arc<State>, job: Job) -> Self {
        let m = state.metrics();
        m.in_flight.fetch_add(1, Relaxed);
        m.prompt_tokens
            .fetch_add(u64::from(job.prompt_tokens), Relaxed);
        m.prompt_len.observe(f64::from(job.prompt_tokens));
        let spec = state.config().spec_decode.map(|c| {
            // Drawn from a copy of the request's generator: the output words stay the same.
            let seed = rand::RngExt::random::<u64>(&mut job.rng.clone());
            crate::spec_decode::Acceptance::draw(c, job.output.tokens, seed)
        });
        Self {
            state,
            job,
            first_token: None,
            last_token: None,
            tokens_sent: 0,
            done: false,
            spec,
        }
    }

    /// `"metrics":{"speculative_decoding":…}` after a chat or completions response's usage.
    fn spec_field(&self) -> String {
        match (&self.spec, self.job.api) {
            (Some(a), Api::Chat | Api::Completions) => a.response_field(),
            _ => String::new(),
        }
    }

    /// The text of the next output token.
    fn next_word(&mut self) -> &str {
        self.state.vocab().sample(&mut self.job.rng)
    }

    /// Notes that output tokens were sent at `at`.
    fn sent(&mut self, tokens: u32, at: Instant) {
        if tokens == 0 {
            return;
        }
        let m = self.state.metrics();
        match self.last_token {
            None => m.ttft.observe((at - self.job.arrival).as_secs_f64()),
            Some(last) => m.itl.observe((at - last).as_secs_f64()),
        }
        self.first_token.get_or_insert(at);
        self.last_token = Some(at);
        self.tokens_sent += tokens;
        m.generation_tokens.fetch_add(u64::from(tokens), Relaxed);
    }

    fn finish(&mut self, ending: Ending) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let now = Instant::now();
        let job = &self.job;
        let m = self.state.metrics();
        m.in_flight.fetch_sub(1, Relaxed);
        m.e2e.observe((now - job.arrival).as_secs_f64());
        m.generation_len.observe(f64::from(self.tokens_sent));
        if let (Some(first), Some(last)) = (self.first_token, self.last_token)
            && self.tokens_sent > 1
        {
            let tpot = (last - first).as_secs_f64() / f64::from(self.tokens_sent - 1);
            m.tpot.observe(tpot);
        }
        if let (Some(counters), Some(a), Ending::Completed) = (&m.spec, &self.spec, ending) {
            counters.add(a);
        }
        m.finished(match (ending, job.output.finish_reason) {
            (Ending::Completed, FinishReason::Length) => Finished::Length,
            (Ending::Completed, _) => Finished::Stop,
            _ => Finished::Abort,
        });
        let clock = self.state.clock();
        self.state.record(|| RequestRecord {
            request_id: job.request_id.clone(),
            client_request_id: job.client_request_id.clone(),
            endpoint: job.api.path(),
            model: job.model.clone(),
            stream: job.stream,
            status: 200,
            ending,
            fault: job.fault.name(),
            arrival_ns: clock.ns(job.arrival),
            first_token_ns: self.first_token.map(|t| clock.ns(t)),
            last_token_ns: self.last_token.map(|t| clock.ns(t)),
            end_ns: clock.ns(now),
            prompt_tokens: job.prompt_tokens,
            completion_tokens: job.output.tokens,
            reasoning_tokens: job.output.reasoning_tokens,
            tokens_sent: self.tokens_sent,
        });
    }

    /// A stall of the configured length, starting now.
    fn stall(&self) -> Sleep {
        let config = self.state.config();
        let until = Instant::now() + config.scaled(config.faults.stall);
        self.state.timer().sleep_until(until)
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        self.finish(Ending::ClientGone);
    }
}

/// The error that makes hyper drop the connection mid-response (injected disconnects).
#[derive(Debug, thiserror::Error)]
#[error("simulated connection drop")]
pub(crate) struct InjectedDisconnect;

/// The body of every response the server sends.
#[derive(Debug)]
pub(crate) enum SimBody {
    Full(Option<Bytes>),
    Stream(Box<TokenStream>),
    /// Fails at once: the client gets the headers, then a dropped connection.
    Disconnect,
}

impl SimBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        Self::Full(Some(bytes.into()))
    }

    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = InjectedDisconnect;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InjectedDisconnect>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(stream) => stream.poll_next(cx),
            Self::Disconnect => Poll::Ready(Some(Err(InjectedDisconnect))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Stream(stream) => stream.phase == Phase::Ended,
            Self::Disconnect => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// An [`Api::Other`] stream's events before the first token.
    Opening,
    Tokens,
    Finish,
    Usage,
    Done,
    /// Drop the connection on the next poll.
    Disconnect,
    Ended,
}

/// A streaming completion: one SSE event per output token, like vLLM sends.
#[derive(Debug)]
pub(crate) struct TokenStream {
    life: Lifecycle,
    source: TokenSource,
    phase: Phase,
    /// `{"id":...,"model":...,"choices":[` shared by every chunk.
    prefix: String,
    stall: Option<Sleep>,
    stalled: bool,
    /// The text so far, for TGI's last event.
    generated: String,
    /// The reasoning so far and the events waiting to be written ([`Api::Other`]).
    reasoning: String,
    events: Events,
}

impl TokenStream {
    pub(crate) fn new(life: Lifecycle, source: TokenSource) -> Self {
        let job = &life.job;
        let object = match job.api {
            Api::Chat => "chat.completion.chunk",
            Api::Completions | Api::Generate | Api::GenerateStream | Api::Other(_) => {
                "text_completion"
            }
        };
        let phase = match job.api {
            Api::Other(_) => Phase::Opening,
            _ => Phase::Tokens,
        };
        let prefix = format!(
            "{{\"id\":{},\"object\":\"{object}\",\"created\":{},\"model\":{},\"choices\":[",
            json_string(&job.request_id),
            job.created,
            json_string(&job.model)
        );
        Self {
            life,
            source,
            phase,
            prefix,
            stall: None,
            stalled: false,
            generated: String::new(),
            reasoning: String::new(),
            events: Events::default(),
        }
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InjectedDisconnect>>> {
        loop {
            match self.phase {
                Phase::Opening => {
                    self.phase = Phase::Tokens;
                    if let Api::Other(wire) = self.life.job.api {
                        wire.opening(&self.life.job, &mut self.events);
                        return Poll::Ready(Some(Ok(Frame::data(self.events.take(false)))));
                    }
                }
                Phase::Tokens => {
                    let sent = self.life.tokens_sent;
                    if sent == self.life.job.output.tokens {
                        self.phase = Phase::Finish;
                        continue;
                    }
                    if let Fault::Stall { at } = self.life.job.fault
                        && at == sent
                        && !self.stalled
                    {
                        let sleep = self.stall.get_or_insert_with(|| self.life.stall());
                        ready!(Pin::new(sleep).poll(cx));
                        self.stall = None;
                        self.stalled = true;
                    }
                    let ready = ready!(self.source.poll_token(cx));
                    let injected =
                        matches!(self.life.job.fault, Fault::Disconnect { at } if at == sent);
                    if !ready || injected {
                        // `!ready`: the engine gave the sequence up. Either way the stream
                        // ends without [DONE].
                        self.life.finish(Ending::Disconnected);
                        self.phase = Phase::Disconnect;
                        // Yield once so hyper flushes what was already sent (at least the
                        // headers) before the connection drops.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let frame = self.token_frame(sent);
                    self.life.sent(1, Instant::now());
                    return Poll::Ready(Some(Ok(Frame::data(frame))));
                }
                Phase::Finish => {
                    let api = self.life.job.api;
                    self.phase = if self.life.job.include_usage
                        && !api.is_tgi()
                        && !matches!(api, Api::Other(_))
                    {
                        Phase::Usage
                    } else {
                        Phase::Done
                    };
                    return Poll::Ready(Some(Ok(Frame::data(self.finish_frame()))));
                }
                Phase::Usage => {
                    self.phase = Phase::Done;
                    let usage =
                        serde_json::to_string(&self.life.job.usage()).expect("plain struct");
                    let spec = self.life.spec_field();
                    let data = format!("{}],\"usage\":{usage}{spec}}}", self.prefix);
                    return Poll::Ready(Some(Ok(Frame::data(sse_bytes(&data)))));
                }
                Phase::Done => {
                    self.phase = Phase::Ended;
                    self.life.finish(Ending::Completed);
                    if self.life.job.api.is_tgi() || matches!(self.life.job.api, Api::Other(_)) {
                        // TGI's stream ends with its last token event, without [DONE]; the
                        // other APIs end with their own closing events.
                        return Poll::Ready(None);
                    }
                    let mut out = Vec::with_capacity(16);
                    sse::write_done(&mut out);
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                }
                Phase::Disconnect => {
                    self.phase = Phase::Ended;
                    return Poll::Ready(Some(Err(InjectedDisconnect)));
                }
                Phase::Ended => return Poll::Ready(None),
            }
        }
    }

    /// The event(s) carrying output token `index`.
    fn token_frame(&mut self, index: u32) -> Bytes {
        let mut out = Vec::with_capacity(2 * self.prefix.len() + 96);
        let (api, reasoning_tokens, fault) = {
            let job = &self.life.job;
            (job.api, job.output.reasoning_tokens, job.fault)
        };
        if let Api::Other(wire) = api {
            let word = self.life.next_word().to_owned();
            let job = &self.life.job;
            wire.token(job, index, &word, &self.reasoning, &mut self.events);
            let into = if index < reasoning_tokens {
                &mut self.reasoning
            } else {
                &mut self.generated
            };
            into.push_str(&word);
            let malformed = matches!(fault, Fault::Malformed { at } if at == index);
            return self.events.take(malformed);
        }
        if index == 0 && api == Api::Chat {
            // vLLM announces the role in its own chunk just before the first token.
            let role = format!(
                "{}{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}",
                self.prefix
            );
            sse::write_data(&mut out, &role);
        }
        if api.is_tgi() {
            let word = self.life.next_word().to_owned();
            self.generated.push_str(&word);
            let mut data = crate::tgi::token_event(index, &word);
            if matches!(fault, Fault::Malformed { at } if at == index) {
                data.truncate(data.floor_char_boundary(data.len() / 2));
            }
            sse::write_data(&mut out, &data);
            return Bytes::from(out);
        }
        let text = json_string(self.life.next_word());
        let choice = match api {
            Api::Chat if index < reasoning_tokens => {
                format!(
                    "{{\"index\":0,\"delta\":{{\"reasoning_content\":{text}}},\"logprobs\":null,\"finish_reason\":null}}"
                )
            }
            Api::Chat => format!(
                "{{\"index\":0,\"delta\":{{\"content\":{text}}},\"logprobs\":null,\"finish_reason\":null}}"
            ),
            Api::Completions | Api::Generate | Api::GenerateStream | Api::Other(_) => {
                format!("{{\"index\":0,\"text\":{text},\"logprobs\":null,\"finish_reason\":null}}")
            }
        };
        let mut data = format!("{}{choice}]}}", self.prefix);
        if matches!(fault, Fault::Malformed { at } if at == index) {
            // Cut the chunk off mid-object: valid SSE, invalid JSON.
            data.truncate(data.floor_char_boundary(data.len() / 2));
        }
        sse::write_data(&mut out, &data);
        Bytes::from(out)
    }

    fn finish_frame(&mut self) -> Bytes {
        let job = &self.life.job;
        if let Api::Other(wire) = job.api {
            wire.closing(job, &self.reasoning, &self.generated, &mut self.events);
            return self.events.take(false);
        }
        let reason = finish_reason_str(job.output.finish_reason);
        if job.api.is_tgi() {
            let tokens = job.output.tokens;
            let data =
                crate::tgi::final_event(tokens, &self.generated, reason, tokens, job.include_usage);
            return sse_bytes(&data);
        }
        let choice = match job.api {
            Api::Chat => format!(
                "{{\"index\":0,\"delta\":{{\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":\"{reason}\",\"stop_reason\":null}}"
            ),
            Api::Completions | Api::Generate | Api::GenerateStream | Api::Other(_) => format!(
                "{{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"{reason}\",\"stop_reason\":null}}"
            ),
        };
        sse_bytes(&format!("{}{choice}]}}", self.prefix))
    }
}

/// Waits for every token of a non-streaming request and builds the response document.
pub(crate) async fn complete(mut life: Lifecycle, mut source: TokenSource) -> SimBody {
    if let Fault::Stall { .. } = life.job.fault {
        life.stall().await;
    }
    for _ in 0..life.job.output.tokens {
        if !std::future::poll_fn(|cx| source.poll_token(cx)).await {
            life.finish(Ending::Disconnected);
            return SimBody::Disconnect;
        }
        // Engine-side timing, as vLLM's metrics see a non-streaming request.
        life.sent(1, Instant::now());
    }
    if let Fault::Disconnect { .. } = life.job.fault {
        life.finish(Ending::Disconnected);
        return SimBody::Disconnect;
    }
    let mut reasoning = String::new();
    let mut content = String::new();
    for i in 0..life.job.output.tokens {
        let into = if i < life.job.output.reasoning_tokens {
            &mut reasoning
        } else {
            &mut content
        };
        into.push_str(life.next_word());
    }
    let job = &life.job;
    let reason = finish_reason_str(job.output.finish_reason);
    if job.api.is_tgi() {
        let mut body = crate::tgi::whole(&content, reason, job.output.tokens, job.include_usage);
        if let Fault::Malformed { .. } = job.fault {
            body.truncate(body.floor_char_boundary(body.len() / 2));
        }
        life.finish(Ending::Completed);
        return SimBody::full(body);
    }
    if let Api::Other(wire) = job.api {
        let mut body = wire.whole(job, &reasoning, &content);
        if let Fault::Malformed { .. } = job.fault {
            body.truncate(body.floor_char_boundary(body.len() / 2));
        }
        life.finish(Ending::Completed);
        return SimBody::full(body);
    }
    let usage = serde_json::to_string(&job.usage()).expect("plain struct");
    let choice = match job.api {
        Api::Chat => {
            let reasoning = if job.output.reasoning_tokens > 0 {
                format!(",\"reasoning_content\":{}", json_string(&reasoning))
            } else {
                String::new()
            };
            format!(
                "{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":{}{reasoning}}},\"logprobs\":null,\"finish_reason\":\"{reason}\",\"stop_reason\":null}}",
                json_string(&content)
            )
        }
        Api::Completions | Api::Generate | Api::GenerateStream | Api::Other(_) => format!(
            "{{\"index\":0,\"text\":{},\"logprobs\":null,\"finish_reason\":\"{reason}\",\"stop_reason\":null}}",
            json_string(&content)
        ),
    };
    let object = match job.api {
        Api::Chat => "chat.completion",
        Api::Completions | Api::Generate | Api::GenerateStream | Api::Other(_) => "text_completion",
    };
    let spec = life.spec_field();
    let mut body = format!(
        "{{\"id\":{},\"object\":\"{object}\",\"created\":{},\"model\":{},\"choices\":[{choice}],\"usage\":{usage}{spec}}}",
        json_string(&job.request_id),
        job.created,
        json_string(&job.model)
    );
    if let Fault::Malformed { .. } = job.fault {
        body.truncate(body.floor_char_boundary(body.len() / 2));
    }
    life.finish(Ending::Completed);
    SimBody::full(body)
}

fn finish_reason_str(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        _ => "stop",
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}

fn sse_bytes(data: &str) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 8);
    sse::write_data(&mut out, data);
    Bytes::from(out)
}
