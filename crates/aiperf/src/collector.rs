//! The collector: one thread that turns raw records into measurements.
//!
//! It decodes each response (SSE events or a JSON body), extracts the generated text, the
//! reasoning text and the server's `usage`, tokenizes, computes the per-request metrics,
//! appends one line to `profile_export.jsonl` (and the raw export), and keeps the columns the
//! summary is computed from. None of this runs on the request path.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use aiperf_openai::sse::SseDecoder;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::dataset::Dataset;
use crate::metrics::{Columns, N_REC, RECORD_METRICS, Rec, Values};
use crate::record::{Clock, Outcome, Phase, RawRecord};
use crate::tokenizer::Tokenizer;

/// Live counters for the progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub warmup_done: AtomicU64,
    pub done: AtomicU64,
    pub errors: AtomicU64,
    pub output_tokens: AtomicU64,
    /// The latest requests (for live displays): capped at [`WINDOW`].
    pub recent: std::sync::Mutex<std::collections::VecDeque<Sample>>,
    /// Failures so far, by type.
    pub error_kinds: std::sync::Mutex<Vec<(String, u64)>>,
    /// What the server and its GPUs reported at the latest scrapes.
    pub server: std::sync::Mutex<LiveServer>,
}

/// The server's and GPUs' latest readings, for live displays.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveServer {
    pub running: Option<f64>,
    pub waiting: Option<f64>,
    /// Percent.
    pub kv_cache: Option<f64>,
    /// Watts, all GPUs.
    pub gpu_power: Option<f64>,
}

/// How many recent requests a live display summarizes.
pub const WINDOW: usize = 2000;

/// One finished request, as a live display sees it (milliseconds; NaN when not applicable).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub ttft: f64,
    pub itl: f64,
    pub latency: f64,
    pub schedule_lag: f64,
    pub ok: bool,
}

/// What the collector needs to know about the run.
#[derive(Debug)]
pub struct CollectorConfig {
    pub tokenizer: Arc<Tokenizer>,
    pub dataset: Arc<Dataset>,
    pub streaming: bool,
    /// Responses are embeddings (`data[].embedding`), not generated text.
    pub embeddings: bool,
    /// `--request-timeout-seconds`, for the timeout message.
    pub timeout_secs: f64,
    pub use_server_token_count: bool,
    /// Report schedule lag and schedule-relative latencies (open-loop modes).
    pub open_loop: bool,
    pub clock: Clock,
    pub records_path: Option<PathBuf>,
    pub raw_path: Option<PathBuf>,
    pub progress: Arc<Progress>,
}

/// Why a request failed, as written to the JSONL `error` field and `error_summary`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorDetails {
    pub code: Option<u16>,
    pub kind: String,
    pub message: String,
}

impl ErrorDetails {
    fn new(code: Option<u16>, kind: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "type": self.kind, "message": self.message})
    }

    /// What `error_summary` groups by: the same code and type, and the message with quoted
    /// text and numbers blanked out, so a message that quotes each response (or names its id,
    /// offset or length) counts as one kind of failure.
    pub fn grouping_key(&self) -> Self {
        Self {
            code: self.code,
            kind: self.kind.clone(),
            message: normalized_message(&self.message),
        }
    }
}

/// `message` with the text between double quotes replaced by `…` and every run of digits
/// (and hex digits mixed with them, as in ids) by `#`.
fn normalized_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push_str("\"…\"");
            let mut escaped = false;
            for d in chars.by_ref() {
                if !escaped && d == '"' {
                    break;
                }
                escaped = !escaped && d == '\\';
            }
        } else if c.is_ascii_hexdigit()
            && (c.is_ascii_digit() || chars.peek().is_some_and(char::is_ascii_hexdigit))
        {
            // A token of hex digits counts as a number only if it holds a decimal digit.
            let mut token = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_hexdigit() || d == '-' {
                    token.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if token.chars().any(|d| d.is_ascii_digit()) {
                out.push('#');
            } else {
                out.push_str(&token);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything the collector measured.
#[derive(Debug, Default)]
pub struct Collected {
    pub columns: Columns,
    /// Distinct errors with their counts.
    pub errors: Vec<(ErrorDetails, u64)>,
    /// A problem writing the JSONL files (measurements are still complete in memory).
    pub write_error: Option<String>,
    /// Requests sent again on a new connection (see [`RawRecord::retries`]).
    pub resent: u64,
    /// Streamed answers whose every token arrived in one read (see [`Measured::buffered`]).
    pub buffered: u64,
    /// Answers without `usage` while `--use-server-token-count` asked for the server's counts.
    pub without_usage: u64,
}

/// Content events of one answer that, all arriving within [`BUFFERED_SPAN_NS`], mark the
/// stream as buffered: two may share a read by chance on a fast server, but three or more
/// within a millisecond (over 2,000 tokens a second for one stream) is not streaming. (The
/// events of one read are separate HTTP chunks, microseconds apart, not one timestamp.)
const BUFFERED_MIN_EVENTS: usize = 3;
const BUFFERED_SPAN_NS: u64 = 1_000_000;

/// How often an idle collector looks for records while a run is busy.
const POLL: Duration = Duration::from_micros(500);
/// After this long without records, the collector blocks until the next one.
const QUIET: Duration = Duration::from_millis(50);

/// A later turn of a chat session sends the whole conversation so far, and the server reads
/// all of it: its input is every message's text (`None` when the body has no messages).
fn context_tokens(tokenizer: &Tokenizer, body: &[u8]) -> Option<u32> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let mut tokens = 0usize;
    for message in doc.get("messages")?.as_array()? {
        match message.get("content") {
            Some(Value::String(text)) => tokens += tokenizer.count(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(Value::as_str) {
                        tokens += tokenizer.count(text);
                    }
                }
            }
            _ => {}
        }
    }
    u32::try_from(tokens).ok()
}

/// Runs the collector until every sender is dropped.
pub fn collect(config: &CollectorConfig, rx: &Receiver<RawRecord>) -> Collected {
    let mut out = Collected::default();
    // Grouped by code, type and the message with its per-response details blanked out; each
    // group keeps the first message seen as its example.
    let mut errors: std::collections::HashMap<ErrorDetails, (ErrorDetails, u64)> =
        Default::default();
    let mut records = open(&config.records_path, &mut out.write_error);
    let mut raw = open(&config.raw_path, &mut out.write_error);
    let mut pending = 0usize;
    let mut idle_since: Option<Instant> = None;
    loop {
        let mut record = match rx.try_recv() {
            Ok(r) => {
                idle_since = None;
                r
            }
            Err(TryRecvError::Empty) => {
                // Idle: make what was written so far visible.
                if pending > 0 {
                    flush(&mut records, &mut out.write_error);
                    flush(&mut raw, &mut out.write_error);
                    pending = 0;
                }
                // While records keep coming, poll every POLL rather than block: a blocked
                // receiver costs every sender a futex wake-up (a system call and a thread
                // switch per request). After a quiet spell, block.
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() < QUIET {
                    std::thread::sleep(POLL);
                    continue;
                }
                match rx.recv() {
                    Ok(r) => {
                        idle_since = None;
                        r
                    }
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if record.phase == Phase::Warmup {
            config.progress.warmup_done.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if record.turn_index > 0
            && let Some(tokens) = context_tokens(&config.tokenizer, &record.body)
        {
            record.input_tokens = tokens;
        }
        let m = measure(config, &record);
        out.resent += u64::from(record.retries);
        out.buffered += u64::from(m.buffered);
        out.without_usage += u64::from(m.without_usage);
        let cols = &mut out.columns;
        cols.observe(record.start_ns, record.scheduled_ns, record.end_ns);
        match &m.error {
            None => cols.add_ok(record.start_ns, m.last_content_ns, m.values, &m.inter_chunk),
            Some(e) => {
                cols.add_error(
                    f64::from(record.input_tokens),
                    matches!(record.outcome, Outcome::Cancelled | Outcome::Abandoned),
                );
                errors
                    .entry(e.grouping_key())
                    .or_insert_with(|| (e.clone(), 0))
                    .1 += 1;
                config.progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        config.progress.done.fetch_add(1, Ordering::Relaxed);
        {
            let v = &m.values;
            let osl = v[Rec::OutputSequenceLength as usize];
            if !osl.is_nan() {
                config
                    .progress
                    .output_tokens
                    .fetch_add(osl as u64, Ordering::Relaxed);
            }
            let sample = Sample {
                ttft: v[Rec::TimeToFirstToken as usize],
                itl: v[Rec::InterTokenLatency as usize],
                latency: v[Rec::RequestLatency as usize],
                schedule_lag: v[Rec::ScheduleLag as usize],
                ok: m.error.is_none(),
            };
            if let Ok(mut recent) = config.progress.recent.lock() {
                if recent.len() >= WINDOW {
                    recent.pop_front();
                }
                recent.push_back(sample);
            }
            if let Some(e) = &m.error
                && let Ok(mut kinds) = config.progress.error_kinds.lock()
            {
                match kinds.iter_mut().find(|k| k.0 == e.kind) {
                    Some(k) => k.1 += 1,
                    None => kinds.push((e.kind.clone(), 1)),
                }
            }
        }
        if let Some(w) = records.as_mut() {
            write_record_line(w, config, &record, &m, &mut out.write_error);
        }
        if let Some(w) = raw.as_mut() {
            let line = raw_line(config, &record, &m);
            write_line(w, &line, &mut out.write_error);
        }
        pending += 1;
        if pending >= 256 {
            flush(&mut records, &mut out.write_error);
            flush(&mut raw, &mut out.write_error);
            pending = 0;
        }
    }
    flush(&mut records, &mut out.write_error);
    flush(&mut raw, &mut out.write_error);
    let mut errors: Vec<_> = errors.into_values().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.errors = errors;
    out
}

fn open(path: &Option<PathBuf>, error: &mut Option<String>) -> Option<BufWriter<File>> {
    let path = path.as_ref()?;
    match File::create(path) {
        Ok(f) => Some(BufWriter::with_capacity(1 << 16, f)),
        Err(e) => {
            error.get_or_insert_with(|| format!("cannot write {}: {e}", path.display()));
            None
        }
    }
}

/// Writes one whole line with one call, so the file only ever holds complete lines plus at
/// most one line cut short by a crash.
fn write_line<T: Serialize>(w: &mut BufWriter<File>, line: &T, error: &mut Option<String>) {
    let mut bytes = serde_json::to_vec(line).expect("records serialize");
    bytes.push(b'\n');
    if let Err(e) = w.write_all(&bytes) {
        error.get_or_insert_with(|| format!("writing records: {e}"));
    }
}

fn flush(w: &mut Option<BufWriter<File>>, error: &mut Option<String>) {
    if let Some(w) = w
        && let Err(e) = w.flush()
    {
        error.get_or_insert_with(|| format!("writing records: {e}"));
    }
}

/// The measurements of one request.
#[derive(Debug)]
pub struct Measured {
    pub values: Values,
    pub inter_chunk: Vec<f64>,
    pub last_content_ns: u64,
    pub error: Option<ErrorDetails>,
    /// A streamed answer of several tokens arrived at once: something between the server
    /// and the client (a buffering proxy) held the stream back, so its inter-token latency
    /// reads 0 and its time to first token is its whole latency.
    pub buffered: bool,
    /// `--use-server-token-count`, but the answer had no `usage`: counted by the tokenizer.
    pub without_usage: bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Computes every per-request metric of `record`, or why it failed.
pub fn measure(config: &CollectorConfig, record: &RawRecord) -> Measured {
    let mut m = Measured {
        values: [f64::NAN; N_REC],
        inter_chunk: Vec::new(),
        last_content_ns: record.end_ns,
        error: None,
        buffered: false,
        without_usage: false,
    };
    if config.embeddings && matches!(record.outcome, Outcome::Ok) {
        return measure_embeddings(config, record, m);
    }
    let parsed = match &record.outcome {
        Outcome::Ok => parse_response(&record.frames, config.streaming),
        Outcome::Http { status } => Err(http_error(*status, &record.frames)),
        Outcome::Timeout => Err(ErrorDetails::new(
            None,
            "RequestTimeout",
            // The same text for every timeout, so error_summary groups them.
            format!(
                "no complete response within --request-timeout-seconds ({} s)",
                config.timeout_secs
            ),
        )),
        Outcome::Transport { message } => {
            Err(ErrorDetails::new(None, "TransportError", message.clone()))
        }
        Outcome::Undecodable { message } => {
            Err(ErrorDetails::new(None, "InvalidResponse", message.clone()))
        }
        Outcome::Cancelled => Err(ErrorDetails::new(
            Some(499),
            "RequestCancellationError",
            "cancelled before the response was complete (grace period over, or interrupted)",
        )),
        Outcome::Abandoned => Err(ErrorDetails::new(
            Some(499),
            "RequestCancellationError",
            "cancelled by the client on purpose (--request-cancellation-rate)",
        )),
    };
    let parsed = match parsed {
        Ok(p) if p.times.is_empty() => Err(ErrorDetails::new(
            None,
            "EmptyResponse",
            "the server answered without any generated text",
        )),
        other => other,
    };
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            m.values[Rec::ErrorIsl as usize] = f64::from(record.input_tokens);
            m.error = Some(e);
            return m;
        }
    };

    let set = |v: &mut Values, r: Rec, x: f64| v[r as usize] = x;
    let v = &mut m.values;
    let start = record.start_ns;
    let first = p.times[0].0;
    let last = p.times[p.times.len() - 1].0;
    m.last_content_ns = last;

    let (output, reasoning) = (&p.output, &p.reasoning);
    let usage = p.usage.as_ref();
    m.without_usage = config.use_server_token_count && usage.is_none();
    m.buffered = config.streaming
        && p.times.len() >= BUFFERED_MIN_EVENTS
        && last - first <= BUFFERED_SPAN_NS;
    let (isl, out_tokens, reasoning_tokens) = match usage {
        Some(u) if config.use_server_token_count => {
            let r = u.reasoning();
            (
                u.prompt_tokens
                    .map_or(f64::from(record.input_tokens), |p| p as f64),
                u.completion_tokens.unwrap_or(0).saturating_sub(r) as f64,
                (r > 0).then_some(r as f64),
            )
        }
        _ => (
            f64::from(record.input_tokens),
            config.tokenizer.count(output) as f64,
            (!reasoning.is_empty()).then(|| config.tokenizer.count(reasoning) as f64),
        ),
    };
    let osl = out_tokens + reasoning_tokens.unwrap_or(0.0);
    let latency = ms(last - start);
    set(v, Rec::InputSequenceLength, isl);
    set(v, Rec::OutputTokenCount, out_tokens);
    if let Some(r) = reasoning_tokens {
        set(v, Rec::ReasoningTokenCount, r);
    }
    set(v, Rec::OutputSequenceLength, osl);
    set(v, Rec::RequestLatency, latency);
    if latency > 0.0 {
        set(v, Rec::E2eOutputTokenThroughput, osl / (latency / 1e3));
    }
    if config.streaming {
        let ttft = ms(first - start);
        set(v, Rec::TimeToFirstToken, ttft);
        if let Some(second) = p.times.get(1) {
            set(v, Rec::TimeToSecondToken, ms(second.0 - first));
        }
        if let Some(c) = p.times.iter().find(|c| c.1) {
            set(v, Rec::TimeToFirstOutputToken, ms(c.0 - start));
        }
        set(v, Rec::DecodeDuration, latency - ttft);
        if ttft > 0.0 {
            set(v, Rec::PrefillThroughputPerUser, isl / (ttft / 1e3));
        }
        if osl >= 2.0 {
            let itl = (latency - ttft) / (osl - 1.0);
            set(v, Rec::InterTokenLatency, itl);
            if itl > 0.0 {
                set(v, Rec::OutputTokenThroughputPerUser, 1e3 / itl);
            }
        }
        m.inter_chunk = p.times.windows(2).map(|w| ms(w[1].0 - w[0].0)).collect();
    }
    if config.open_loop {
        let scheduled = record.scheduled_ns;
        set(v, Rec::ScheduleLag, ms(start.saturating_sub(scheduled)));
        set(
            v,
            Rec::ScheduledTimeToFirstToken,
            ms(first.saturating_sub(scheduled)),
        );
        set(
            v,
            Rec::ScheduledRequestLatency,
            ms(last.saturating_sub(scheduled)),
        );
    }
    if let Some(u) = usage {
        if let Some(x) = u.prompt_tokens {
            set(v, Rec::UsagePromptTokens, x as f64);
        }
        if let Some(x) = u.completion_tokens {
            set(v, Rec::UsageCompletionTokens, x as f64);
        }
        if let Some(x) = u.total_tokens {
            set(v, Rec::UsageTotalTokens, x as f64);
        }
        if u.reasoning() > 0 {
            set(v, Rec::UsageReasoningTokens, u.reasoning() as f64);
        }
        // How far the server's counts are from ours (none when ours are the server's).
        if !config.use_server_token_count {
            let diff = |server: Option<u64>, client: f64| {
                server
                    .filter(|_| client > 0.0)
                    .map(|s| ((s as f64 - client) / client).abs() * 100.0)
            };
            if let Some(d) = diff(u.prompt_tokens, isl) {
                set(v, Rec::UsagePromptTokensDiffPct, d);
            }
            if let Some(d) = diff(u.completion_tokens, osl) {
                set(v, Rec::UsageCompletionTokensDiffPct, d);
            }
            let r = u.reasoning();
            if let Some(d) = diff((r > 0).then_some(r), reasoning_tokens.unwrap_or(0.0)) {
                set(v, Rec::UsageReasoningTokensDiffPct, d);
            }
        }
    }
    if let Some(requested) = record.requested_osl.filter(|r| *r > 0) {
        let requested = f64::from(requested);
        set(v, Rec::RequestedOsl, requested);
        set(
            v,
            Rec::OslMismatchDiffPct,
            (osl - requested) / requested * 100.0,
        );
    }
    m
}

/// An embeddings response: one vector per input; only the count and the usage matter here.
#[derive(Debug, Deserialize)]
struct EmbeddingsLite {
    data: Vec<EmbeddingLite>,
    usage: Option<UsageLite>,
}

#[derive(Debug, Deserialize)]
struct EmbeddingLite {
    /// Required, never read.
    #[serde(rename = "embedding")]
    _vector: serde::de::IgnoredAny,
}

/// Request latency and input size of an embeddings request (nothing is generated).
fn measure_embeddings(config: &CollectorConfig, record: &RawRecord, mut m: Measured) -> Measured {
    let body: Vec<u8> = record
        .frames
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    let parsed = match serde_json::from_slice::<EmbeddingsLite>(&body) {
        Ok(p) if p.data.is_empty() => Err(ErrorDetails::new(
            None,
            "EmptyResponse",
            "the server answered with no embeddings (empty data)",
        )),
        Ok(p) => Ok(p),
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
    };
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            m.values[Rec::ErrorIsl as usize] = f64::from(record.input_tokens);
            m.error = Some(e);
            return m;
        }
    };
    let end = record.frames.last().map_or(record.end_ns, |f| f.0);
    m.last_content_ns = end;
    let v = &mut m.values;
    let usage = p.usage.as_ref();
    let isl = match usage.and_then(|u| u.prompt_tokens) {
        Some(n) if config.use_server_token_count => n as f64,
        _ => f64::from(record.input_tokens),
    };
    v[Rec::InputSequenceLength as usize] = isl;
    v[Rec::RequestLatency as usize] = ms(end - record.start_ns);
    if config.open_loop {
        let scheduled = record.scheduled_ns;
        v[Rec::ScheduleLag as usize] = ms(record.start_ns.saturating_sub(scheduled));
        v[Rec::ScheduledRequestLatency as usize] = ms(end.saturating_sub(scheduled));
    }
    if let Some(u) = usage {
        if let Some(x) = u.prompt_tokens {
            v[Rec::UsagePromptTokens as usize] = x as f64;
        }
        if let Some(x) = u.total_tokens {
            v[Rec::UsageTotalTokens as usize] = x as f64;
        }
    }
    m
}

#[derive(Debug, Default, Deserialize)]
struct UsageLite {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    completion_tokens_details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    reasoning_tokens: Option<u64>,
}

impl UsageLite {
    fn reasoning(&self) -> u64 {
        self.completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0)
    }
}

/// One response body or SSE chunk. Strings borrow from the input unless they hold escapes,
/// and only the first choice is kept: parsing a chunk allocates almost nothing.
#[derive(Debug, Deserialize)]
struct Body<'a> {
    #[serde(default, borrow, deserialize_with = "first_choice")]
    choices: Option<Choice<'a>>,
    usage: Option<UsageLite>,
    error: Option<Value>,
    /// vLLM answers errors as a top-level object: `{"object": "error", "message", "code"}`.
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    message: Option<Value>,
    code: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    delta: Option<Text<'a>>,
    #[serde(borrow)]
    message: Option<Text<'a>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct Text<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning: Option<Cow<'a, str>>,
}

/// Deserializes the first element of `choices` and skips the rest.
fn first_choice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Choice<'de>>, D::Error> {
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Option<Choice<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of choices")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<Choice<'de>>()?;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(Visit)
}

/// A decoded response: when each content-bearing event arrived (and whether it carried
/// output, not only reasoning), the concatenated output and reasoning, and the usage.
#[derive(Debug, Default)]
struct Parsed {
    /// (arrival, carries non-reasoning output).
    times: Vec<(u64, bool)>,
    output: String,
    reasoning: String,
    usage: Option<UsageLite>,
    /// A choice said why it finished (`finish_reason`).
    finished: bool,
}

/// The code and message of an error object: OpenAI's `{"message", "type", "code"}`, a bare
/// string (TGI), or anything else (kept as JSON text).
fn error_parts(error: &Value) -> (Option<u16>, String) {
    let code = error.get("code").and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let code = code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..600).contains(c));
    let message = match error {
        Value::String(s) => s.clone(),
        _ => match error.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => error.to_string(),
        },
    };
    (code, message)
}

fn body_content(body: Body<'_>, at: u64, out: &mut Parsed) -> Result<(), ErrorDetails> {
    if let Some(error) = body.error {
        let (code, message) = error_parts(&error);
        return Err(ErrorDetails::new(code, "ServerError", message));
    }
    if body.object.as_deref() == Some("error") {
        let error = json!({"message": body.message, "code": body.code});
        let (code, message) = error_parts(&error);
        return Err(ErrorDetails::new(code, "ServerError", message));
    }
    if let Some(choice) = body.choices {
        out.finished |= choice.finish_reason.is_some();
        let text = choice.delta.or(choice.message).unwrap_or_default();
        let content = text.content.or(choice.text).unwrap_or_default();
        let reasoning = text
            .reasoning_content
            .or(text.reasoning)
            .unwrap_or_default();
        if !content.is_empty() || !reasoning.is_empty() {
            out.times.push((at, !content.is_empty()));
            out.output.push_str(&content);
            out.reasoning.push_str(&reasoning);
        }
    }
    if body.usage.is_some() {
        out.usage = body.usage;
    }
    Ok(())
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_response(frames: &[(u64, Bytes)], streaming: bool) -> Result<Parsed, ErrorDetails> {
    let mut out = Parsed::default();
    if !streaming {
        let body: Vec<u8> = frames.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        let at = frames.last().map_or(0, |f| f.0);
        let parsed: Body<'_> = serde_json::from_slice(&body).map_err(|e| {
            ErrorDetails::new(
                None,
                "InvalidResponse",
                format!(
                    "the response is not a completion JSON object ({e}): {:?}",
                    snippet(&body)
                ),
            )
        })?;
        body_content(parsed, at, &mut out)?;
        return Ok(out);
    }
    let stream_error = |message: String| ErrorDetails::new(None, "StreamError", message);
    let mut decoder = SseDecoder::new();
    let mut done = false;
    let mut handle = |data: &str, at: u64, out: &mut Parsed| -> Result<(), ErrorDetails> {
        if data == "[DONE]" {
            done = true;
            return Ok(());
        }
        if data.trim().is_empty() {
            return Ok(());
        }
        let body: Body<'_> = serde_json::from_str(data).map_err(|e| {
            stream_error(format!(
                "malformed JSON in an event ({e}): {:?}",
                snippet(data.as_bytes())
            ))
        })?;
        body_content(body, at, out)
    };
    for (at, bytes) in frames {
        decoder.feed(bytes);
        while let Some(event) = decoder
            .next_event()
            .map_err(|e| stream_error(e.to_string()))?
        {
            handle(&event.data, *at, &mut out)?;
        }
    }
    let last = frames.last().map_or(0, |f| f.0);
    if let Some(event) = decoder.finish().map_err(|e| stream_error(e.to_string()))? {
        handle(&event.data, last, &mut out)?;
    }
    if frames.is_empty() {
        return Err(stream_error(
            "the server closed the stream without sending anything".into(),
        ));
    }
    // OpenAI-compatible streams end with `data: [DONE]`; a stream that stops without it and
    // without any finish_reason was cut short, even if the connection closed cleanly.
    if !done && !out.finished && !out.times.is_empty() {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} content events without a finish_reason or data: [DONE]",
                out.times.len()
            ),
        ));
    }
    Ok(out)
}

/// The assistant's reply text (multi-turn sessions feed it back as history).
pub fn response_content(frames: &[(u64, Bytes)], streaming: bool) -> String {
    parse_response(frames, streaming)
        .map(|p| p.output)
        .unwrap_or_default()
}

fn http_error(status: u16, frames: &[(u64, Bytes)]) -> ErrorDetails {
    let body: Vec<u8> = frames.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP Error");
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            let e = v.get("error").unwrap_or(&v);
            e.get("message")
                .or_else(|| e.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| e.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| snippet(&body));
    ErrorDetails::new(Some(status), reason, message)
}

/// The `metadata` object of a JSONL line, serialized without building a JSON tree.
#[derive(Serialize)]
struct Metadata<'a> {
    request_num: u64,
    session_num: u64,
    x_request_id: &'a str,
    x_correlation_id: &'a str,
    conversation_id: &'a str,
    turn_index: usize,
    credit_issued_ns: u64,
    request_start_ns: u64,
    request_ack_ns: Option<u64>,
    request_end_ns: u64,
    benchmark_phase: &'static str,
    was_cancelled: bool,
    cancellation_time_ns: Option<u64>,
    /// Times the request was sent again on a new connection (the server had closed the
    /// kept-alive one before it could answer); its times are those of the last send.
    retries: u32,
}

fn metadata<'a>(
    config: &'a CollectorConfig,
    r: &RawRecord,
    ids: &'a (String, String),
) -> Metadata<'a> {
    let clock = &config.clock;
    let cancelled = matches!(r.outcome, Outcome::Cancelled | Outcome::Abandoned);
    Metadata {
        request_num: r.request_num,
        session_num: r.session_num,
        x_request_id: &ids.0,
        x_correlation_id: &ids.1,
        conversation_id: config
            .dataset
            .conversations
            .get(r.conversation)
            .map_or("", |c| c.id.as_str()),
        turn_index: r.turn_index,
        credit_issued_ns: clock.wall_ns(r.scheduled_ns),
        request_start_ns: clock.wall_ns(r.start_ns),
        request_ack_ns: r.ack_ns.map(|t| clock.wall_ns(t)),
        request_end_ns: clock.wall_ns(r.end_ns),
        benchmark_phase: r.phase.name(),
        was_cancelled: cancelled,
        cancellation_time_ns: cancelled.then(|| clock.wall_ns(r.end_ns)),
        retries: r.retries,
    }
}

fn ids(r: &RawRecord) -> (String, String) {
    (r.x_request_id.to_string(), r.x_correlation_id.to_string())
}

/// The per-request metrics of a JSONL line, in catalogue order.
struct Metrics<'a>(&'a Measured);

impl Serialize for Metrics<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Entry<T> {
            value: T,
            unit: &'static str,
        }
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        for (i, def) in RECORD_METRICS.iter().enumerate() {
            let x = m.values[i];
            if x.is_nan() {
                continue;
            }
            if def.integer {
                map.serialize_entry(
                    def.tag,
                    &Entry {
                        value: x as u64,
                        unit: def.unit,
                    },
                )?;
            } else {
                map.serialize_entry(
                    def.tag,
                    &Entry {
                        value: x,
                        unit: def.unit,
                    },
                )?;
            }
            if i == Rec::InterTokenLatency as usize && !m.inter_chunk.is_empty() {
                map.serialize_entry(
                    "inter_chunk_latency",
                    &Entry {
                        value: &m.inter_chunk,
                        unit: "ms",
                    },
                )?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct ErrorRef<'a> {
    code: Option<u16>,
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct RecordLine<'a> {
    metadata: Metadata<'a>,
    metrics: Metrics<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorRef<'a>>,
}

fn error_ref(m: &Measured) -> Option<ErrorRef<'_>> {
    m.error.as_ref().map(|e| ErrorRef {
        code: e.code,
        kind: &e.kind,
        message: &e.message,
    })
}

fn write_record_line(
    w: &mut BufWriter<File>,
    config: &CollectorConfig,
    r: &RawRecord,
    m: &Measured,
    error: &mut Option<String>,
) {
    let ids = ids(r);
    let line = RecordLine {
        metadata: metadata(config, r, &ids),
        metrics: Metrics(m),
        error: error_ref(m),
    };
    write_line(w, &line, error);
}

fn raw_line(config: &CollectorConfig, r: &RawRecord, m: &Measured) -> Value {
    let ids = ids(r);
    let payload: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let responses: Vec<Value> = frame_texts(&r.frames)
        .into_iter()
        .map(|(t, text)| json!({"perf_ns": t, "text": text}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "metadata".into(),
        serde_json::to_value(metadata(config, r, &ids)).unwrap_or_default(),
    );
    line.insert("start_perf_ns".into(), json!(r.start_ns));
    line.insert("payload".into(), payload);
    line.insert("status".into(), json!(r.status));
    line.insert("responses".into(), Value::Array(responses));
    if let Some(e) = &m.error {
        line.insert("error".into(), e.to_json());
    }
    Value::Object(line)
}

/// The text of each frame. A character whose bytes were split across two reads belongs to
/// the frame that completed it; only bytes that are not UTF-8 at all become U+FFFD.
fn frame_texts(frames: &[(u64, Bytes)]) -> Vec<(u64, String)> {
    let mut carry: Vec<u8> = Vec::new();
    let mut out = Vec::with_capacity(frames.len());
    for (i, (at, bytes)) in frames.iter().enumerate() {
        carry.extend_from_slice(bytes);
        let keep = if i + 1 == frames.len() {
            carry.len()
        } else {
            without_partial_char(&carry)
        };
        out.push((*at, String::from_utf8_lossy(&carry[..keep]).into_owned()));
        carry.drain(..keep);
    }
    out
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end.
fn without_partial_char(bytes: &[u8]) -> usize {
    // The last character starts at the last byte that is not a continuation byte (10xxxxxx).
    let Some(start) = bytes
        .iter()
        .rev()
        .take(4)
        .position(|b| b & 0xc0 != 0x80)
        .map(|back| bytes.len() - 1 - back)
    else {
        return bytes.len();
    };
    let need = match bytes[start] {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    };
    if bytes.len() - start < need {
        start
    } else {
        bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    #[test]
    fn characters_split_across_reads_stay_whole() {
        let text = "héllo 世界 🎉 ok";
        let bytes = text.as_bytes();
        for cut in 1..bytes.len() {
            let frames = vec![
                (1, Bytes::copy_from_slice(&bytes[..cut])),
                (2, Bytes::copy_from_slice(&bytes[cut..])),
            ];
            let texts = frame_texts(&frames);
            let joined: String = texts.iter().map(|t| t.1.as_str()).collect();
            assert_eq!(joined, text, "cut at {cut}");
        }
        // Bytes that are not UTF-8 are replaced, and the rest survives.
        let frames = vec![(1, Bytes::from_static(b"ok \xff\xfe "))];
        assert_eq!(frame_texts(&frames)[0].1, "ok \u{fffd}\u{fffd} ");
        // A character cut short at the very end is replaced, not lost silently.
        let frames = vec![(1, Bytes::copy_from_slice(&"a世".as_bytes()[..2]))];
        assert_eq!(frame_texts(&frames)[0].1, "a\u{fffd}");
    }

    fn frames(parts: &[(u64, &str)]) -> Vec<(u64, Bytes)> {
        parts
            .iter()
            .map(|(t, s)| (*t, Bytes::from(s.to_string())))
            .collect()
    }

    #[test]
    fn streaming_chunks_become_timed_contents() {
        let f = frames(&[
            (
                10,
                "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            ),
            (
                20,
                "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            ),
            (
                30,
                "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n",
            ),
        ]);
        let p = parse_response(&f, true).unwrap();
        let times: Vec<u64> = p.times.iter().map(|c| c.0).collect();
        assert_eq!(times, [20, 20, 30]);
        assert_eq!(p.reasoning, "hmm");
        assert_eq!(p.times[0], (20, false), "a reasoning-only event");
        assert_eq!(p.usage.unwrap().total_tokens, Some(5));
        assert_eq!(response_content(&f, true), "Hi there");
    }

    #[test]
    fn truncated_streams_are_errors_unless_finished() {
        let cut = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        )]);
        assert_eq!(
            parse_response(&cut, true).unwrap_err().kind,
            "IncompleteStream"
        );
        let finished = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
        )]);
        assert!(
            parse_response(&finished, true).is_ok(),
            "a finish_reason without [DONE] is complete"
        );
        let no_choices = frames(&[(1, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n")]);
        assert!(parse_response(&no_choices, true).unwrap().times.is_empty());
    }

    #[test]
    fn bad_responses_are_typed_errors() {
        let html = frames(&[(1, "<html><body>Bad Gateway</body></html>")]);
        assert_eq!(
            parse_response(&html, false).unwrap_err().kind,
            "InvalidResponse"
        );
        assert_eq!(parse_response(&html, true).unwrap_err().kind, "StreamError");
        let bad = frames(&[(1, "data: {not json\n\n")]);
        let e = parse_response(&bad, true).unwrap_err();
        assert!(e.message.contains("malformed JSON"), "{e:?}");
        let e = http_error(
            429,
            &frames(&[(
                1,
                r#"{"error":{"message":"slow down","type":"rate_limit"}}"#,
            )]),
        );
        assert_eq!(
            (e.code, e.kind.as_str(), e.message.as_str()),
            (Some(429), "Too Many Requests", "slow down")
        );
        let e = http_error(502, &frames(&[(1, "<html>bad gateway</html>")]));
        assert_eq!(e.message, "<html>bad gateway</html>");
    }

    #[test]
    fn metrics_follow_the_definitions() {
        let tokenizer = Arc::new(Tokenizer::builtin(Encoding::O200kBase));
        let config = CollectorConfig {
            tokenizer,
            dataset: Arc::new(Dataset::new(
                vec![],
                crate::settings::Sampling::Sequential,
                0,
            )),
            streaming: true,
            embeddings: false,
            timeout_secs: 10.0,
            use_server_token_count: false,
            open_loop: true,
            clock: Clock::new(),
            records_path: None,
            raw_path: None,
            progress: Arc::default(),
        };
        let chunk = |t: u64, text: &str| {
            (
                t,
                Bytes::from(format!(
                    "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
                )),
            )
        };
        let record = RawRecord {
            phase: Phase::Profiling,
            request_num: 0,
            session_num: 0,
            conversation: 0,
            turn_index: 0,
            x_request_id: uuid::Uuid::nil(),
            x_correlation_id: uuid::Uuid::nil(),
            scheduled_ns: 0,
            start_ns: 1_000_000,
            ack_ns: Some(2_000_000),
            end_ns: 40_000_000,
            status: Some(200),
            // " the" " of" " and" " to": one token each; 10 ms to the first, then 5 ms apart.
            frames: vec![
                chunk(11_000_000, " the"),
                chunk(16_000_000, " of"),
                chunk(21_000_000, " and"),
                chunk(26_000_000, " to"),
                (30_000_000, Bytes::from_static(b"data: [DONE]\n\n")),
            ],
            outcome: Outcome::Ok,
            body: Bytes::new(),
            input_tokens: 100,
            requested_osl: None,
            retries: 0,
        };
        let m = measure(&config, &record);
        assert!(m.error.is_none());
        let v = |r: Rec| m.values[r as usize];
        assert_eq!(v(Rec::TimeToFirstToken), 10.0);
        assert_eq!(v(Rec::TimeToSecondToken), 5.0);
        assert_eq!(v(Rec::RequestLatency), 25.0);
        assert_eq!(v(Rec::OutputSequenceLength), 4.0);
        assert_eq!(v(Rec::InterTokenLatency), 5.0);
        assert_eq!(v(Rec::OutputTokenThroughputPerUser), 200.0);
        assert_eq!(v(Rec::PrefillThroughputPerUser), 10_000.0);
        assert_eq!(v(Rec::ScheduleLag), 1.0);
        assert_eq!(v(Rec::ScheduledRequestLatency), 26.0);
        assert_eq!(m.inter_chunk, [5.0, 5.0, 5.0]);
        assert_eq!(m.last_content_ns, 26_000_000);
    }
}

#[cfg(test)]
mod fuzz {
    //! Fuzzing response decoding: whatever a server sends, the result is measurements or a
    //! typed error, never a panic.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_response_decodes_or_fails_cleanly(
            frames in proptest::collection::vec(
                prop_oneof![
                    Just(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_vec()),
                    Just(b"data: [DONE]\n\n".to_vec()),
                    Just(b"data: {\"choices\":null,\"usage\":{\"prompt_tokens\":-1}}\n\n".to_vec()),
                    Just(b"data: {\"error\":{\"message\":7}}\n\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..24),
                ],
                0..6,
            ),
            streaming in any::<bool>(),
        ) {
            let frames: Vec<(u64, Bytes)> = frames.into_iter().enumerate().map(|(i, b)| (i as u64, Bytes::from(b))).collect();
            match parse_response(&frames, streaming) {
                Ok(p) => prop_assert!(p.times.windows(2).all(|w| w[0].0 <= w[1].0)),
                Err(e) => prop_assert!(!e.kind.is_empty() && !e.message.is_empty()),
            }
        }
    }
}
