//! What the hot path captures about one request: timestamps, the response bytes as they
//! arrived, and how it ended. Everything else (decoding, tokenizing, metrics) happens later,
//! in the collector.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// The run's clock: monotonic nanoseconds since one anchor, plus the wall-clock time of that
/// anchor so records can carry epoch timestamps without reading the wall clock per request.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor: Instant,
    wall_anchor_ns: u64,
}

impl Clock {
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            anchor: Instant::now(),
            wall_anchor_ns: u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// Monotonic nanoseconds since the anchor.
    pub fn now(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    pub fn ns_at(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.anchor).as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn instant(&self, ns: u64) -> Instant {
        self.anchor + Duration::from_nanos(ns)
    }

    /// Converts a monotonic timestamp to nanoseconds since the Unix epoch.
    pub fn wall_ns(&self, ns: u64) -> u64 {
        self.wall_anchor_ns.saturating_add(ns)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Warmup records are measured but never reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Profiling,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Self::Warmup => "warmup",
            Self::Profiling => "profiling",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx response read to the end (its content is judged later, by the collector).
    Ok,
    /// A non-2xx status; `body` holds what the server said.
    Http { status: u16 },
    /// `--request-timeout-seconds` passed.
    Timeout,
    /// Connecting, sending or reading failed.
    Transport { message: String },
    /// The body is compressed with an encoding that cannot be decoded, or does not decode.
    Undecodable { message: String },
    /// Stopped by the end of the grace period or by Ctrl-C.
    Cancelled,
    /// Cancelled on purpose by the client (`--request-cancellation-rate`).
    Abandoned,
    /// Never sent: the endpoint type could not make a request body of the turn (see
    /// `Endpoint::body`), for the reason given.
    Unsendable(ErrorDetails),
}

/// One request as the hot path saw it. Times are [`Clock`] nanoseconds.
#[derive(Debug)]
pub struct RawRecord {
    pub phase: Phase,
    /// Order of sending within its phase.
    pub request_num: u64,
    /// The session (conversation run) it belongs to, in order of starting.
    pub session_num: u64,
    /// Index of the conversation in the dataset.
    pub conversation: usize,
    pub turn_index: usize,
    pub x_request_id: uuid::Uuid,
    pub x_correlation_id: uuid::Uuid,
    /// When the request was meant to be sent (the schedule), and when its credit was issued.
    pub scheduled_ns: u64,
    pub start_ns: u64,
    pub ack_ns: Option<u64>,
    pub end_ns: u64,
    pub status: Option<u16>,
    /// Response body frames with their arrival times.
    pub frames: Vec<(u64, Bytes)>,
    pub outcome: Outcome,
    /// The request body (kept for `--export-level raw` and for failed-request ISL).
    pub body: Bytes,
    /// Input tokens of the prompt, known from the dataset.
    pub input_tokens: u32,
    /// The output length the request asked for (`--osl`, or the input file's).
    pub requested_osl: Option<u32>,
    /// Images the request carried.
    pub images: u32,
    /// Length of the audio clip it carried, in seconds (speech metrics).
    pub audio_secs: Option<f64>,
    /// Times it was sent again on a new connection (a reused one had been closed).
    pub retries: u32,
    /// The request's HTTP timeline (of its last send).
    pub http: HttpTiming,
}

/// The HTTP timeline of one request as the client measured it: when each phase began and
/// ended ([`Clock`] nanoseconds) and what went over the wire. A phase that did not happen
/// (no name to resolve, a reused connection) is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTiming {
    /// From asking the pool for a connection to holding one (a reused one) or to starting
    /// to open one.
    pub pool_wait: Option<(u64, u64)>,
    /// Resolving the host name, for a new connection.
    pub dns: Option<(u64, u64)>,
    /// Opening a new connection: TCP, TLS and the HTTP handshake.
    pub connect: Option<(u64, u64)>,
    /// The connection had been opened before (by an earlier request or ahead of the load).
    pub reused: bool,
    /// From handing the request to the connection to its last byte written.
    pub send: Option<(u64, u64)>,
    /// The first and the last response body chunk.
    pub first_chunk_ns: Option<u64>,
    pub last_chunk_ns: Option<u64>,
    /// Writes of the request and its bytes (request line, headers and body).
    pub chunks_sent: u32,
    pub bytes_sent: u64,
    /// Body chunks of the response, and the bytes read for it (status line, headers, body).
    pub chunks_received: u32,
    pub bytes_received: u64,
    /// What `--export-http-trace` adds; `None` without it.
    pub detail: Option<Box<HttpDetail>>,
}

/// The parts of an HTTP timeline only the trace export needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpDetail {
    pub request_headers: http::HeaderMap,
    pub response_headers: http::HeaderMap,
    /// Socket writes of the request: (time, bytes).
    pub request_chunks: Vec<(u64, u32)>,
    /// Response body chunks as they arrived: (time, bytes).
    pub response_chunks: Vec<(u64, u32)>,
    pub local: Option<std::net::SocketAddr>,
    pub remote: Option<std::net::SocketAddr>,
}

/// Why a request failed, as written to the JSONL `error` field and `error_summary`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ErrorDetails {
    pub code: Option<u16>,
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

impl ErrorDetails {
    pub fn new(code: Option<u16>, kind: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            kind: kind.to_owned(),
            message: message.into(),
        }
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
