//! The HTTP client: its own connection pool over hyper's connection API (rustls for
//! `https://`), instrumented with the timestamps every metric is computed from.
//!
//! The request path does no parsing: it stamps the send, the response headers and each body
//! frame, keeps the frames as they arrived (decompressed when the server compressed them), and
//! leaves decoding to the collector.
//!
//! A request that fails on a reused connection before any byte of its answer arrived (the
//! server had closed the connection, reset it, or the write failed) never reached the server:
//! it is sent once more on a new connection, timed from the second send, and counted
//! ([`Exchange::retries`], [`ClientCounts::resent`]). A request that failed after the answer
//! began is never sent again.

mod body;
mod connection;
mod decode;
mod follow;
mod pool;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT, CONNECTION, CONTENT_ENCODING, CONTENT_TYPE, HOST, HeaderName, HeaderValue, USER_AGENT,
};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;

use self::body::RequestBody;
use self::connection::{Conn, Connector, Sender, Target, closes_after, keep_alive_timeout};
use self::decode::Decoder;
use self::pool::{Lease, Pool};
use crate::record::{Clock, HttpDetail, HttpTiming, Outcome};
use crate::settings::EndpointConfig;

pub use self::pool::Affinity;

/// Told of an answer's body each time more of it arrives: the body so far, decompressed.
type BodyWatch = Box<dyn FnMut(&[u8]) + Send>;

tokio::task_local! {
    /// The watch of the requests sent within [`Client::watching`].
    static BODY_WATCH: std::cell::RefCell<BodyWatch>;
}

/// A request's `x-request-id` and `x-correlation-id` headers.
type Ids = (Option<HeaderValue>, Option<HeaderValue>);

/// What one exchange produced.
#[derive(Debug)]
pub struct Exchange {
    pub start_ns: u64,
    pub ack_ns: Option<u64>,
    pub end_ns: u64,
    pub status: Option<u16>,
    pub frames: Vec<(u64, Bytes)>,
    pub outcome: Outcome,
    /// Times the request was sent again on a new connection (0 or 1).
    pub retries: u32,
    /// The HTTP timeline of the last send.
    pub http: HttpTiming,
}

/// What one send asks for: the request (a POST of its body to the endpoint's path), or a
/// follow-up GET of a path on the same server (a job's status or content).
#[derive(Debug, Clone, Copy)]
enum Call<'a> {
    Post(&'a Bytes),
    Get(&'a http::uri::PathAndQuery),
}

/// Connection figures of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCounts {
    /// Connections opened (ahead of the load included).
    pub opened: u64,
    /// Requests sent again on a new connection after a reused one turned out closed.
    pub resent: u64,
}

/// The client of one run's endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    pool: Arc<Pool>,
    headers: http::HeaderMap,
    timeout: Duration,
    clock: Clock,
    /// Keep what `--export-http-trace` writes (headers, chunks, addresses).
    detail: bool,
    /// The header of a conversation's correlation id (`--session-header`).
    correlation_header: HeaderName,
}

/// A connection's counters when a request went out on it.
#[derive(Debug, Clone, Copy)]
struct WireMark {
    read: u64,
    written: u64,
    writes: u64,
}

impl Client {
    /// `detail`: keep, for each request, what `--export-http-trace` writes besides the
    /// timings (headers, every chunk, the connection's addresses).
    pub fn new(endpoint: &EndpointConfig, clock: Clock, detail: bool) -> anyhow::Result<Self> {
        let targets = endpoint
            .urls
            .iter()
            .map(|base| Target::parse(&format!("{base}{}", endpoint.path)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let pool = Pool::new(
            targets,
            endpoint.connection_reuse,
            Connector {
                tls: connection::tls_config()?,
                timeout: endpoint.timeout().min(Duration::from_secs(60)),
                clock,
                log_writes: detail,
            },
        );
        let mut headers = http::HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if endpoint.connection_reuse == crate::settings::ConnectionReuse::Never {
            // Tell the server too, so it closes its side at once.
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let accept = if endpoint.streaming {
            "text/event-stream"
        } else {
            "application/json"
        };
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("aiperf/", env!("CARGO_PKG_VERSION"))),
        );
        // The API key as the endpoint type sends it (`Authorization: Bearer`, `x-api-key`),
        // with any header the API requires.
        let key = endpoint.api_key.as_ref().map(|k| k.expose());
        let api = crate::endpoints::by_name(endpoint.kind.name())
            .ok_or_else(|| anyhow::anyhow!("unknown endpoint type {:?}", endpoint.kind.name()))?;
        if api.form_data() {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_str(&crate::endpoints::multipart::content_type())?,
            );
        }
        for (name, value) in api.auth_headers(key) {
            let secret = key.is_some_and(|k| !k.is_empty() && value.contains(k));
            let mut value = HeaderValue::from_str(&value)?;
            value.set_sensitive(secret);
            headers.insert(name, value);
        }
        for h in &endpoint.headers {
            let mut value = HeaderValue::from_str(h.value.expose())?;
            if matches!(h.value, crate::settings::HeaderValue::Secret(_)) {
                value.set_sensitive(true);
            }
            headers.insert(HeaderName::from_bytes(h.name.as_bytes())?, value);
        }
        Ok(Self {
            pool: Arc::new(pool),
            headers,
            timeout: endpoint.timeout(),
            clock,
            detail,
            correlation_header: HeaderName::from_static("x-correlation-id"),
        })
    }

    /// Sends each conversation's correlation id in the header `name` instead of
    /// `X-Correlation-ID` (`--session-header`).
    pub fn with_session_header(mut self, name: Option<&str>) -> anyhow::Result<Self> {
        if let Some(name) = name {
            self.correlation_header = HeaderName::from_bytes(name.as_bytes())?;
        }
        Ok(self)
    }

    /// Opens `n` connections to each target ahead of the benchmark, so that the first
    /// requests' latencies measure the server, not TCP (and TLS) connection setup. Failures
    /// are ignored: the benchmark itself reports an unreachable server. Under
    /// `--connection-reuse-strategy never` nothing is opened ahead.
    pub async fn preconnect(&self, n: usize) {
        if self.pool.strategy() == crate::settings::ConnectionReuse::Never {
            return;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..self.pool.len() {
            for _ in 0..n {
                let pool = self.pool.clone();
                tasks.spawn(async move {
                    if let Ok(Ok(conn)) =
                        tokio::time::timeout(Duration::from_secs(5), pool.open(t)).await
                    {
                        pool.add_idle(t, conn);
                    }
                });
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Connection figures so far.
    pub fn counts(&self) -> ClientCounts {
        ClientCounts {
            opened: self.pool.counters.opened.load(Ordering::Relaxed),
            resent: self.pool.counters.resent.load(Ordering::Relaxed),
        }
    }

    /// Runs `sends` (requests of this task), telling `watch` of each answer's body each time
    /// more of it arrives.
    pub async fn watching<F: Future>(
        watch: impl FnMut(&[u8]) + Send + 'static,
        sends: F,
    ) -> F::Output {
        let watch: BodyWatch = Box::new(watch);
        BODY_WATCH
            .scope(std::cell::RefCell::new(watch), sends)
            .await
    }

    /// Sends `body` to the conversation's target (see [`Affinity`]) and reads the whole
    /// response, unless `cancel` fires first. `affinity` also holds the conversation's own
    /// connection (`--connection-reuse-strategy sticky-user-sessions`).
    pub async fn send(
        &self,
        affinity: &mut Affinity,
        body: Bytes,
        request_id: &str,
        correlation_id: &str,
        cancel: &CancellationToken,
        abandon_after: Option<Duration>,
    ) -> Exchange {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let ids = (request_id, correlation_id);
        let call = Call::Post(&body);
        self.call(affinity, call, ids, cancel, abandon_after, deadline)
            .await
    }

    /// Sends `call` to the conversation's target and reads the whole response, unless
    /// `cancel` fires, `abandon_after` passes or `deadline` comes first.
    async fn call(
        &self,
        affinity: &mut Affinity,
        call: Call<'_>,
        (request_id, correlation_id): (&str, &str),
        cancel: &CancellationToken,
        abandon_after: Option<Duration>,
        deadline: tokio::time::Instant,
    ) -> Exchange {
        let t = self.pool.target_of(affinity);
        let ids = (
            HeaderValue::from_str(request_id).ok(),
            HeaderValue::from_str(correlation_id).ok(),
        );
        let mut ex = Exchange {
            start_ns: self.clock.now(),
            ack_ns: None,
            end_ns: 0,
            status: None,
            frames: Vec::new(),
            outcome: Outcome::Ok,
            retries: 0,
            http: HttpTiming::default(),
        };
        // Sized for a typical streamed answer, so it rarely grows.
        let mut buf = bytes::BytesMut::with_capacity(4096);
        let mut marks: Vec<(u64, usize)> = Vec::with_capacity(32);
        let abandon = async {
            match abandon_after {
                Some(after) => tokio::time::sleep(after).await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => Outcome::Cancelled,
            () = abandon => Outcome::Abandoned,
            () = tokio::time::sleep_until(deadline) => Outcome::Timeout,
            outcome = self.exchange(t, affinity, call, &ids, &mut ex, &mut buf, &mut marks) => outcome,
        };
        ex.end_ns = self.clock.now();
        ex.outcome = outcome;
        let body = buf.freeze();
        let mut start = 0;
        ex.frames = marks
            .into_iter()
            .map(|(at, end)| {
                let frame = body.slice(start..end);
                start = end;
                (at, frame)
            })
            .collect();
        ex
    }

    /// The request as the connection's protocol wants it, with its request and correlation
    /// ids.
    fn request(
        &self,
        target: &Target,
        conn: &Conn,
        body: RequestBody,
        call: Call<'_>,
        ids: &Ids,
    ) -> http::Request<RequestBody> {
        let mut request = http::Request::new(body);
        request.headers_mut().clone_from(&self.headers);
        let path = match call {
            Call::Post(_) => {
                *request.method_mut() = http::Method::POST;
                None
            }
            Call::Get(path) => {
                *request.method_mut() = http::Method::GET;
                // A GET has no body to describe.
                request.headers_mut().remove(CONTENT_TYPE);
                Some(path)
            }
        };
        let headers = request.headers_mut();
        if let Some(v) = &ids.0 {
            headers.insert("x-request-id", v.clone());
        }
        if let Some(v) = &ids.1 {
            headers.insert(self.correlation_header.clone(), v.clone());
        }
        if conn.is_http2() {
            *request.uri_mut() = match path {
                None => target.uri.clone(),
                Some(path) => follow::uri(target, path, true),
            };
            *request.version_mut() = http::Version::HTTP_2;
            // Connection-specific headers do not exist in HTTP/2.
            request.headers_mut().remove(CONNECTION);
        } else {
            *request.uri_mut() = match path {
                None => target.origin_form.clone(),
                Some(path) => follow::uri(target, path, false),
            };
            request
                .headers_mut()
                .insert(HOST, target.host_header.clone());
        }
        request
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        t: usize,
        affinity: &mut Affinity,
        call: Call<'_>,
        ids: &Ids,
        ex: &mut Exchange,
        buf: &mut bytes::BytesMut,
        marks: &mut Vec<(u64, usize)>,
    ) -> Outcome {
        let target = self.pool.target(t);
        let body = match call {
            Call::Post(body) => body.clone(),
            Call::Get(_) => Bytes::new(),
        };
        let request_len = body.len();
        let mut fresh = false;
        let (response, mut lease, mark, taken) = loop {
            let mut lease = match self.pool.checkout(t, affinity, fresh).await {
                Ok(lease) => lease,
                Err(e) => {
                    return Outcome::Transport {
                        message: error_chain(&e),
                    };
                }
            };
            let mark = self.begin_send(ex, &lease);
            // An HTTP/2 stream shares its socket: the body notes when the connection took it.
            let taken = lease.conn.is_http2().then(|| Arc::new(AtomicU64::new(0)));
            let request_body =
                RequestBody::new(body.clone(), taken.clone().map(|at| (at, self.clock)));
            let request = self.request(target, &lease.conn, request_body, call, ids);
            if let Some(d) = &mut ex.http.detail {
                d.request_headers.clone_from(request.headers());
                if !lease.conn.is_http2() {
                    d.request_headers
                        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(request_len));
                }
            }
            let send_start = self.clock.now();
            ex.http.send = Some((send_start, send_start));
            let sent = match &mut lease.conn.sender {
                Sender::Http1(s) => s.send_request(request).await,
                Sender::Http2(s) => s.send_request(request).await,
            };
            match sent {
                Ok(response) => break (response, lease, mark, taken),
                Err(e) => {
                    if !fresh && lease.reused && never_reached_the_server(&lease, mark.read, &e) {
                        // The server had closed the connection: it never saw this request.
                        self.pool.stale(t, &lease.conn);
                        self.pool.resent();
                        ex.retries += 1;
                        ex.start_ns = self.clock.now();
                        fresh = true;
                        continue;
                    }
                    return Outcome::Transport {
                        message: error_chain(&e),
                    };
                }
            }
        };
        ex.ack_ns = Some(self.clock.now());
        let (parts, mut body) = response.into_parts();
        let status = parts.status.as_u16();
        ex.status = Some(status);
        if let Some(d) = &mut ex.http.detail {
            d.response_headers.clone_from(&parts.headers);
        }
        let reusable = !closes_after(&parts);
        lease.conn.idle_timeout = keep_alive_timeout(&parts.headers);
        let mut decoder = match Decoder::for_encoding(parts.headers.get(CONTENT_ENCODING)) {
            Ok(d) => d,
            Err(message) => return Outcome::Undecodable { message },
        };
        let mut body_bytes = 0u64;
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        let at = self.clock.now();
                        received(&mut ex.http, at, data.len());
                        body_bytes += data.len() as u64;
                        // Copy into one buffer per response: keeping hyper's frames would pin
                        // its read buffers (kilobytes each) for as long as the record lives.
                        match &mut decoder {
                            None => buf.extend_from_slice(&data),
                            Some(d) => {
                                if let Err(e) = d.feed(&data, buf) {
                                    return undecodable(&parts, &e);
                                }
                            }
                        }
                        if marks.last().is_none_or(|m| m.1 < buf.len()) {
                            marks.push((at, buf.len()));
                            let _ = BODY_WATCH.try_with(|w| (w.borrow_mut())(buf));
                        }
                    }
                }
                Some(Err(e)) => {
                    return Outcome::Transport {
                        message: error_chain(&e),
                    };
                }
                None => break,
            }
        }
        self.end_send(ex, &lease, mark, taken.as_deref(), request_len, body_bytes);
        if let Some(d) = decoder.take() {
            let at = self.clock.now();
            if let Err(e) = d.finish(buf) {
                return undecodable(&parts, &e);
            }
            if marks.last().is_none_or(|m| m.1 < buf.len()) {
                marks.push((at, buf.len()));
            }
        }
        self.pool.checkin(t, lease, affinity, reusable);
        if (200..300).contains(&status) {
            Outcome::Ok
        } else {
            Outcome::Http { status }
        }
    }

    /// Starts the HTTP timeline of a send (again, on a retry) on the connection `lease`:
    /// the wait for it, its opening, and the counters it had.
    fn begin_send(&self, ex: &mut Exchange, lease: &Lease) -> WireMark {
        let opened = &lease.conn.opened;
        ex.http = HttpTiming {
            pool_wait: Some((ex.start_ns.min(lease.ready_ns), lease.ready_ns)),
            dns: opened.dns.filter(|_| !lease.reused),
            connect: (!lease.reused).then_some(opened.connect),
            reused: lease.reused,
            detail: self.detail.then(|| {
                Box::new(HttpDetail {
                    local: opened.local,
                    remote: opened.remote,
                    ..HttpDetail::default()
                })
            }),
            ..HttpTiming::default()
        };
        let c = &lease.conn.counters;
        if let Some(log) = &c.write_log {
            lock(log).clear();
        }
        WireMark {
            read: c.read.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
        }
    }

    /// Ends the HTTP timeline once the response was read: the request's last byte written,
    /// and the bytes and writes on the wire. An HTTP/1.1 connection carries one request at a
    /// time, so its socket counters are this request's; an HTTP/2 socket is shared, so a
    /// stream counts its body (one write, taken by the connection at `taken`) and the body
    /// bytes of its answer.
    fn end_send(
        &self,
        ex: &mut Exchange,
        lease: &Lease,
        mark: WireMark,
        taken: Option<&AtomicU64>,
        body_len: usize,
        body_bytes: u64,
    ) {
        let http = &mut ex.http;
        let start = http.send.map_or(0, |s| s.0);
        if let Some(taken) = taken {
            let at = taken.load(Ordering::Relaxed).max(start);
            http.send = Some((start, at));
            http.chunks_sent = 1;
            http.bytes_sent = body_len as u64;
            http.bytes_received = body_bytes;
            if let Some(d) = &mut http.detail {
                d.request_chunks = vec![(at, u32::try_from(body_len).unwrap_or(u32::MAX))];
            }
            return;
        }
        let c = &lease.conn.counters;
        let writes = c.writes.load(Ordering::Relaxed) - mark.writes;
        if writes > 0 {
            http.send = Some((start, c.last_write_ns.load(Ordering::Relaxed).max(start)));
        }
        http.chunks_sent = u32::try_from(writes).unwrap_or(u32::MAX);
        http.bytes_sent = c.written.load(Ordering::Relaxed) - mark.written;
        http.bytes_received = c.read.load(Ordering::Relaxed) - mark.read;
        if let (Some(d), Some(log)) = (&mut http.detail, &c.write_log) {
            d.request_chunks = std::mem::take(&mut *lock(log));
        }
    }
}

/// Notes a response body chunk of `len` bytes that arrived at `at`.
fn received(http: &mut HttpTiming, at: u64, len: usize) {
    http.chunks_received += 1;
    http.first_chunk_ns.get_or_insert(at);
    http.last_chunk_ns = Some(at);
    if let Some(d) = &mut http.detail {
        d.response_chunks
            .push((at, u32::try_from(len).unwrap_or(u32::MAX)));
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A failed send on a reused connection never reached the server when no byte of an answer
/// came back: HTTP/1.1 counts the bytes on the socket; HTTP/2 multiplexes, so only the
/// protocol's own word (the request was not sent, or the stream was refused) counts.
fn never_reached_the_server(lease: &Lease, read_before: u64, e: &hyper::Error) -> bool {
    if lease.conn.is_http2() {
        return e.is_canceled() || error_chain(e).contains("refused stream");
    }
    // A response the client could not parse is bytes from the server.
    !e.is_parse() && lease.conn.counters.read.load(Ordering::Relaxed) == read_before
}

fn undecodable(parts: &http::response::Parts, e: &std::io::Error) -> Outcome {
    let encoding = parts
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?");
    Outcome::Undecodable {
        message: format!("cannot decode the {encoding}-encoded response: {e}"),
    }
}

/// An error and its causes on one line ("connection refused" is usually two levels down).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
