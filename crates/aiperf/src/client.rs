//! The HTTP client: hyper over a pooled connector (rustls for `https://`), instrumented with
//! the timestamps every metric is computed from.
//!
//! The request path does no parsing: it stamps the send, the response headers and each body
//! frame, keeps the frames as they arrived, and leaves decoding to the collector.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use crate::config::EndpointConfig;
use crate::record::{Clock, Outcome};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// What one exchange produced.
#[derive(Debug)]
pub struct Exchange {
    pub start_ns: u64,
    pub ack_ns: Option<u64>,
    pub end_ns: u64,
    pub status: Option<u16>,
    pub frames: Vec<(u64, Bytes)>,
    pub outcome: Outcome,
}

/// A pooled client for one run's endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    inner: HyperClient<Connector, Full<Bytes>>,
    targets: Vec<http::Uri>,
    headers: http::HeaderMap,
    timeout: Duration,
    clock: Clock,
}

impl Client {
    pub fn new(endpoint: &EndpointConfig, clock: Clock) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_connect_timeout(Some(endpoint.timeout().min(Duration::from_secs(60))));
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let inner = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(usize::MAX)
            .build(tls);

        let targets = endpoint
            .urls
            .iter()
            .map(|base| format!("{base}{}", endpoint.path).parse())
            .collect::<Result<Vec<http::Uri>, _>>()?;
        let mut headers = http::HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
        if let Some(key) = &endpoint.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for h in &endpoint.headers {
            let mut value = HeaderValue::from_str(h.value.expose())?;
            if matches!(h.value, crate::config::HeaderValue::Secret(_)) {
                value.set_sensitive(true);
            }
            headers.insert(HeaderName::from_bytes(h.name.as_bytes())?, value);
        }
        Ok(Self {
            inner,
            targets,
            headers,
            timeout: endpoint.timeout(),
            clock,
        })
    }

    /// Opens `n` connections to each target ahead of the benchmark (cheap `GET /v1/models`
    /// requests, answered or not), so that the first requests' latencies measure the server,
    /// not TCP (and TLS) connection setup. Failures are ignored: the benchmark itself reports
    /// an unreachable server.
    pub async fn preconnect(&self, n: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for target in &self.targets {
            let Some(authority) = target.authority().cloned() else {
                continue;
            };
            let scheme = target.scheme_str().unwrap_or("http").to_owned();
            for _ in 0..n {
                let uri = format!("{scheme}://{authority}/v1/models");
                let mut builder = http::Request::get(uri);
                if let Some(h) = builder.headers_mut() {
                    h.clone_from(&self.headers);
                    h.remove(CONTENT_TYPE);
                }
                let Ok(request) = builder.body(Full::new(Bytes::new())) else {
                    continue;
                };
                let inner = self.inner.clone();
                tasks.spawn(async move {
                    let fut = async {
                        if let Ok(response) = inner.request(request).await {
                            // Read the body so the connection returns to the pool.
                            let _ = response.into_body().collect().await;
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), fut).await;
                });
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Sends `body` to the `index`-th target (round robin over `--url`) and reads the whole
    /// response, unless `cancel` fires first.
    pub async fn send(
        &self,
        index: u64,
        body: Bytes,
        request_id: &str,
        correlation_id: &str,
        cancel: &CancellationToken,
        abandon_after: Option<Duration>,
    ) -> Exchange {
        let uri = self.targets[(index % self.targets.len() as u64) as usize].clone();
        let mut builder = http::Request::post(uri);
        if let Some(h) = builder.headers_mut() {
            h.clone_from(&self.headers);
            if let Ok(v) = HeaderValue::from_str(request_id) {
                h.insert("x-request-id", v);
            }
            if let Ok(v) = HeaderValue::from_str(correlation_id) {
                h.insert("x-correlation-id", v);
            }
        }
        let request = builder
            .body(Full::new(body))
            .expect("request parts are validated when the client is built");

        let mut ex = Exchange {
            start_ns: self.clock.now(),
            ack_ns: None,
            end_ns: 0,
            status: None,
            frames: Vec::new(),
            outcome: Outcome::Ok,
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
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
            outcome = self.exchange(request, &mut ex, &mut buf, &mut marks) => outcome,
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

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        ex: &mut Exchange,
        buf: &mut bytes::BytesMut,
        marks: &mut Vec<(u64, usize)>,
    ) -> Outcome {
        let response = match self.inner.request(request).await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Transport {
                    message: error_chain(&e),
                };
            }
        };
        ex.ack_ns = Some(self.clock.now());
        let status = response.status().as_u16();
        ex.status = Some(status);
        let mut body = response.into_body();
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        let at = self.clock.now();
                        // Copy into one buffer per response: keeping hyper's frames would pin
                        // its read buffers (kilobytes each) for as long as the record lives.
                        buf.extend_from_slice(&data);
                        marks.push((at, buf.len()));
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
        if (200..300).contains(&status) {
            Outcome::Ok
        } else {
            Outcome::Http { status }
        }
    }
}

/// An error and its causes on one line ("connection refused" is usually two levels down).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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
