//! What a run asks of the server besides its benchmark requests, on a client of its own (no
//! connection of the benchmark is used, no proxy from the environment):
//!
//! - `--wait-for-model-*`: before anything else, probe every URL until each model is ready;
//! - `--reset-kv-cache`: before sending, a POST to every server's cache-reset path;
//! - `--server-profiler`: a POST to every server's profiler start path right before the
//!   profiling phase, and to its stop path right after.
//!
//! Control requests go to each server's origin (`scheme://host:port`), once per origin, with
//! the run's custom headers and its API key as the endpoint type sends it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::settings::{
    ControlHook, EndpointConfig, ProfileConfig, ProfilerHook, ReadinessProbe, WaitForModel,
};

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Statuses of a reset that say "busy, try again" rather than "no".
const RETRYABLE: [u16; 4] = [409, 423, 429, 503];

/// The Python AIPerf's readiness request: a two-letter prompt, one token out.
const PROBE_PROMPT: &str = "Lo";

/// A control client with the run's headers.
struct Control {
    client: HttpClient,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Control {
    fn new(endpoint: &EndpointConfig) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .context("setting up TLS")?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(tls);
        let mut headers = Vec::new();
        for h in &endpoint.headers {
            headers.push((
                HeaderName::from_bytes(h.name.as_bytes())?,
                HeaderValue::from_str(h.value.expose())?,
            ));
        }
        let api = crate::endpoints::by_name(endpoint.kind.name())
            .with_context(|| format!("unknown endpoint type {:?}", endpoint.kind.name()))?;
        let key = endpoint.api_key.as_ref().map(|k| k.expose());
        for (name, value) in api.auth_headers(key) {
            headers.retain(|(n, _)| *n != name);
            headers.push((name, HeaderValue::from_str(&value)?));
        }
        Ok(Self { client, headers })
    }

    /// One request, its status and body; an error when it got no answer within `timeout`.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("{url}: {e}"))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| crate::client::error_chain(&e))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:.1} s", timeout.as_secs_f64())),
        }
    }

    /// A POST with an empty body; any 2xx is success.
    async fn post(&self, url: &str, timeout: Duration) -> Result<(), PostError> {
        match self.send(Method::POST, url, None, timeout).await {
            Ok((status, _)) if status.is_success() => {
                tracing::debug!("POST {url}: {status}");
                Ok(())
            }
            Ok((status, _)) => Err(PostError::Status(status.as_u16())),
            Err(e) => Err(PostError::NoAnswer(e)),
        }
    }
}

/// Why a control POST failed.
#[derive(Debug)]
enum PostError {
    Status(u16),
    NoAnswer(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s) => write!(f, "answered {s}"),
            Self::NoAnswer(e) => write!(f, "failed: {e}"),
        }
    }
}

/// `scheme://host:port` of each URL, once each, in order.
fn origins(urls: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in urls {
        let origin = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
            .unwrap_or_else(|| url.clone());
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    out
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

/// `--wait-for-model-timeout`: probes each URL and model in turn until it is ready; each
/// probe may take the whole timeout. The built-in simulator is ready once started.
pub(super) async fn wait_for_model(config: &ProfileConfig) -> anyhow::Result<()> {
    let Some(wait) = config.server_control.wait_for_model else {
        return Ok(());
    };
    if config.sim.is_some() {
        tracing::debug!("--wait-for-model-timeout: the built-in simulator is ready once started");
        return Ok(());
    }
    let control = Control::new(&config.endpoint)?;
    let endpoint = &config.endpoint;
    tracing::info!(
        "waiting for the model to be ready (--wait-for-model-mode {}, up to {} s, every {} s) \
         at {} URL(s) for {} model(s)",
        wait.probe.name(),
        wait.timeout_secs,
        wait.interval_secs,
        endpoint.urls.len(),
        config.models.len()
    );
    for url in &endpoint.urls {
        if matches!(wait.probe, ReadinessProbe::Models | ReadinessProbe::Both) {
            for model in &config.models {
                wait_for_listing(&control, url, model, &wait).await?;
            }
        }
        if matches!(wait.probe, ReadinessProbe::Inference | ReadinessProbe::Both) {
            let (path, body) = probe_request(endpoint);
            let probe_url = format!("{url}{path}");
            for model in &config.models {
                let mut body = body.clone();
                body.insert("model".into(), model.as_str().into());
                let body = Bytes::from(serde_json::to_vec(&body)?);
                wait_for_answer(&control, &probe_url, model, body, &wait).await?;
            }
        }
    }
    Ok(())
}

/// Repeats `attempt` every interval until it says ready or the probe's time is up. Each
/// attempt gets at most `per_try` (and never past the deadline).
async fn retry_until_ready<F>(
    wait: &WaitForModel,
    per_try: Duration,
    what: &str,
    mut attempt: impl FnMut(Duration) -> F,
) -> anyhow::Result<()>
where
    F: Future<Output = bool>,
{
    let deadline = Instant::now() + secs(wait.timeout_secs);
    let mut tries = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "--wait-for-model-timeout: {what} was not ready after {} s (checked {tries} \
                 time(s)); nothing was measured. Check the server, or raise \
                 --wait-for-model-timeout",
                wait.timeout_secs
            );
        }
        tries += 1;
        if attempt(per_try.min(left)).await {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(secs(wait.interval_secs).min(left)).await;
    }
}

/// `models`: GET /v1/models until it lists `model`; a server without the list (404) is ready
/// once its base URL answers 2xx.
async fn wait_for_listing(
    control: &Control,
    url: &str,
    model: &str,
    wait: &WaitForModel,
) -> anyhow::Result<()> {
    let models_url = format!("{url}/v1/models");
    let per_try = secs(wait.interval_secs.max(5.0));
    let what = format!("model {model:?} at {models_url}");
    retry_until_ready(wait, per_try, &what, |timeout| {
        let models_url = &models_url;
        async move {
            match control.send(Method::GET, models_url, None, timeout).await {
                Ok((StatusCode::OK, body)) if lists(&body, model) => {
                    tracing::info!("model {model:?} is listed at {models_url}");
                    true
                }
                Ok((StatusCode::NOT_FOUND, _)) => {
                    match control.send(Method::GET, url, None, timeout).await {
                        Ok((status, _)) if status.is_success() => {
                            tracing::info!(
                                "{models_url} does not exist; {url} answered {status}: ready"
                            );
                            true
                        }
                        other => {
                            tracing::info!("{models_url}: 404, {url}: {}", outcome(&other));
                            false
                        }
                    }
                }
                other => {
                    tracing::info!("{models_url}: {}; trying again", outcome(&other));
                    false
                }
            }
        }
    })
    .await
}

/// `inference`: the one-token request until any answer below 500 (a 4xx would show on the
/// first benchmark request as well).
async fn wait_for_answer(
    control: &Control,
    probe_url: &str,
    model: &str,
    body: Bytes,
    wait: &WaitForModel,
) -> anyhow::Result<()> {
    let per_try = secs(wait.interval_secs.max(30.0));
    let what = format!("model {model:?} at {probe_url}");
    retry_until_ready(wait, per_try, &what, |timeout| {
        let body = body.clone();
        async move {
            let answer = control
                .send(Method::POST, probe_url, Some(body), timeout)
                .await;
            match answer {
                Ok((status, _)) if status.as_u16() < 500 => {
                    tracing::info!("{probe_url} answered {status} for model {model:?}: ready");
                    true
                }
                other => {
                    tracing::info!("{probe_url}: {}; trying again", outcome(&other));
                    false
                }
            }
        }
    })
    .await
}

fn outcome(answer: &Result<(StatusCode, Bytes), String>) -> String {
    match answer {
        Ok((status, _)) => format!("answered {status}"),
        Err(e) => e.clone(),
    }
}

/// The `/v1/models` list names `model` (`data[].id`).
fn lists(body: &[u8], model: &str) -> bool {
    let Ok(list) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    list["data"]
        .as_array()
        .is_some_and(|data| data.iter().any(|m| m["id"] == model))
}

/// The readiness request's path and body (without its model): the endpoint's own for chat,
/// messages, completions and embeddings; a chat request to /v1/chat/completions for the
/// other types, unless `--endpoint` names a path of their own.
fn probe_request(
    endpoint: &EndpointConfig,
) -> (String, serde_json::Map<String, serde_json::Value>) {
    use serde_json::json;
    let chat = json!({"messages": [{"role": "user", "content": PROBE_PROMPT}], "max_tokens": 1});
    let body = match endpoint.kind.name() {
        "chat" | "messages" => chat,
        "completions" => json!({"prompt": PROBE_PROMPT, "max_tokens": 1}),
        "embeddings" => json!({"input": PROBE_PROMPT}),
        other => {
            tracing::warn!(
                "--wait-for-model-mode inference: no readiness request for --endpoint-type \
                 {other}; a one-token chat request checks that the server answers, not \
                 necessarily that this model is ready"
            );
            let default = crate::endpoints::by_name(other)
                .is_some_and(|api| api.default_path(endpoint.streaming) == endpoint.path);
            let serde_json::Value::Object(chat) = chat else {
                unreachable!()
            };
            let path = if default {
                "/v1/chat/completions".to_owned()
            } else {
                endpoint.path.clone()
            };
            return (path, chat);
        }
    };
    let serde_json::Value::Object(body) = body else {
        unreachable!()
    };
    (endpoint.path.clone(), body)
}

/// `--reset-kv-cache`: a POST to the reset path of every server; a failure stops the run. A
/// reset that got no answer, or was answered 409, 423, 429 or 503 (busy), is tried again
/// after 1, 2, 4, 8, 8… seconds for up to a minute.
pub(super) async fn reset_kv_cache(config: &ProfileConfig) -> anyhow::Result<()> {
    let Some(hook) = &config.server_control.reset_kv_cache else {
        return Ok(());
    };
    let control = Control::new(&config.endpoint)?;
    for origin in origins(&config.endpoint.urls) {
        let url = format!("{origin}{}", hook.path);
        let deadline = Instant::now() + secs(ControlHook::RESET_RETRY_SECS);
        let mut backoff = Duration::from_secs(1);
        loop {
            match control.post(&url, secs(hook.timeout_secs)).await {
                Ok(()) => {
                    tracing::info!("--reset-kv-cache: POST {url} done");
                    break;
                }
                Err(e) => {
                    let retryable = match &e {
                        PostError::Status(s) => RETRYABLE.contains(s),
                        PostError::NoAnswer(_) => true,
                    };
                    if !retryable || Instant::now() + backoff >= deadline {
                        bail!(
                            "--reset-kv-cache: POST {url} {e}; nothing was measured (check \
                             --reset-kv-cache-path: vLLM serves /reset_prefix_cache)"
                        );
                    }
                    tracing::info!("--reset-kv-cache: POST {url} {e}; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                }
            }
        }
    }
    Ok(())
}

/// The server's profiler, started on every server for the profiling phase.
pub(super) struct Profiler {
    control: Control,
    hook: ProfilerHook,
    origins: Vec<String>,
}

impl Profiler {
    /// `--server-profiler`: starts the profiler of every server; when one fails, those
    /// already started are stopped and the run stops.
    pub(super) async fn start(config: &ProfileConfig) -> anyhow::Result<Option<Self>> {
        let Some(hook) = &config.server_control.server_profiler else {
            return Ok(None);
        };
        let profiler = Self {
            control: Control::new(&config.endpoint)?,
            hook: hook.clone(),
            origins: origins(&config.endpoint.urls),
        };
        let timeout = secs(hook.timeout_secs);
        for (i, origin) in profiler.origins.iter().enumerate() {
            let url = format!("{origin}{}", hook.start_path);
            if let Err(e) = profiler.control.post(&url, timeout).await {
                for started in profiler.origins[..i].iter().rev() {
                    profiler.stop_one(started).await;
                }
                bail!(
                    "--server-profiler: POST {url} {e}; nothing was measured (the server needs \
                     its profiler enabled, e.g. vLLM with VLLM_TORCH_PROFILER_DIR, or set \
                     --server-profiler-start-path)"
                );
            }
            tracing::info!("--server-profiler: started ({url})");
        }
        Ok(Some(profiler))
    }

    /// Stops the profiler of every server; a failure is a warning (the run's measurements
    /// stand).
    pub(super) async fn stop(self) {
        for origin in &self.origins {
            self.stop_one(origin).await;
        }
    }

    async fn stop_one(&self, origin: &str) {
        let url = format!("{origin}{}", self.hook.stop_path);
        match self.control.post(&url, secs(self.hook.timeout_secs)).await {
            Ok(()) => tracing::info!("--server-profiler: stopped ({url})"),
            Err(e) => tracing::warn!("--server-profiler: stopping it failed: POST {url} {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_requests_go_to_each_origin_once() {
        let urls = [
            "http://a:8000".to_owned(),
            "http://a:8000/v2".to_owned(),
            "https://b".to_owned(),
        ];
        assert_eq!(origins(&urls), ["http://a:8000", "https://b"]);
    }

    #[test]
    fn the_models_list_names_the_model() {
        let body = br#"{"object":"list","data":[{"id":"m1"},{"id":"m2"}]}"#;
        assert!(lists(body, "m2"));
        assert!(!lists(body, "m3"));
        assert!(!lists(b"not json", "m1"));
    }
}
