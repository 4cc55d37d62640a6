//! The endpoint: where requests go, what they look like (the endpoint type), their headers and
//! extra inputs, and what the endpoint type can do; the built-in simulator as a target.

use serde_json::{Map, Value};

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::endpoints::Endpoint;
use crate::settings::*;

pub(super) fn resolve_sim(args: &ProfileArgs) -> Result<Option<SimTarget>, UsageError> {
    let Some(preset) = &args.sim.sim else {
        if args.sim.sim_speedup.is_some() {
            return Err(UsageError::new(
                "--sim-speedup only applies with --sim; add --sim or drop --sim-speedup",
            ));
        }
        return Ok(None);
    };
    let Some(found) = aiperf_sim::presets::find(preset) else {
        let names: Vec<&str> = aiperf_sim::presets::PRESETS
            .iter()
            .map(|p| p.name)
            .collect();
        return Err(UsageError::new(format!(
            "--sim: unknown preset {preset:?}; choose one of {}",
            names.join(", ")
        )));
    };
    if !args.endpoint.urls.is_empty() {
        return Err(UsageError::new(
            "--sim and --url conflict: --sim benchmarks the built-in simulator on a loopback \
             port; drop one of them",
        ));
    }
    let speedup = args.sim.sim_speedup.unwrap_or(1.0);
    if !(speedup.is_finite() && speedup > 0.0) {
        return Err(UsageError::new(format!(
            "--sim-speedup must be a positive number, got {speedup}"
        )));
    }
    Ok(Some(SimTarget {
        preset: found.name.to_owned(),
        speedup,
    }))
}

pub(super) fn resolve_endpoint(
    args: &ProfileArgs,
    sim: bool,
) -> Result<EndpointConfig, UsageError> {
    let a = &args.endpoint;
    let kind = endpoint_type(&a.endpoint_type)?;
    let urls = if sim {
        Vec::new() // filled in once the simulator is listening
    } else if a.urls.is_empty() {
        vec!["http://localhost:8000".to_owned()]
    } else {
        a.urls
            .iter()
            .map(|u| normalize_url(u))
            .collect::<Result<_, _>>()?
    };
    let path = match &a.endpoint {
        Some(p) if p.trim().is_empty() => {
            return Err(UsageError::new(
                "--endpoint: empty path; give e.g. /v1/chat/completions",
            ));
        }
        Some(p) if p.starts_with('/') => p.clone(),
        Some(p) => format!("/{p}"),
        None => kind.default_path(a.streaming && !a.no_streaming).to_owned(),
    };
    let urls = urls.into_iter().map(|url| base_url(url, &path)).collect();
    if !(a.request_timeout_seconds.is_finite() && a.request_timeout_seconds > 0.0) {
        return Err(UsageError::new(format!(
            "--request-timeout-seconds must be a positive number of seconds, got {}",
            a.request_timeout_seconds
        )));
    }
    let mut headers = Vec::new();
    for h in &a.headers {
        headers.extend(parse_headers(h)?);
    }
    let mut extra_inputs = Map::new();
    for e in &a.extra_inputs {
        for (k, v) in parse_extra_input(e)? {
            extra_inputs.insert(k, v);
        }
    }
    let mut endpoint = EndpointConfig {
        urls,
        kind: EndpointKind(a.endpoint_type.clone()),
        path,
        streaming: a.streaming && !a.no_streaming,
        timeout_secs: a.request_timeout_seconds,
        api_key: a.api_key.clone().filter(|k| !k.is_empty()).map(Secret::new),
        headers,
        extra_inputs,
        use_server_token_count: a.use_server_token_count,
        use_legacy_max_tokens: a.use_legacy_max_tokens,
        connection_warmup: a.connection_warmup,
        connection_reuse: a.connection_reuse_strategy,
    };
    super::server_control::add_per_chunk_usage(args, &mut endpoint)?;
    // `template` and `raw` bodies: the template resolved and rendered once before the run.
    let cap = args.input.osl.first().copied();
    crate::endpoints::check_body_template(&mut endpoint, cap, args.input.input_file.is_some())
        .map_err(UsageError::new)?;
    Ok(endpoint)
}

/// The base URL the request path is appended to. A URL that already ends with the path
/// (`http://host:8000/v1/chat/completions`) is cut back to its base, as is a trailing `/v1`
/// when the path starts with `/v1/`, so the path is not doubled and `/metrics` is found.
pub(super) fn base_url(url: String, path: &str) -> String {
    let path = path.trim_end_matches('/');
    let after_host = url.find("://").map_or(0, |i| i + 3);
    let url_path = url[after_host..]
        .find('/')
        .map_or("", |i| &url[after_host + i..]);
    let cut = if !path.is_empty() && url_path.ends_with(path) {
        Some(path.len())
    } else if path.starts_with("/v1/") && url_path.ends_with("/v1") {
        Some("/v1".len())
    } else {
        None
    };
    match cut {
        Some(n) => {
            let base = url[..url.len() - n].to_owned();
            tracing::info!("--url {url} includes the request path; sending to {base}{path}");
            base
        }
        None => url,
    }
}

/// Adds `http://` when no scheme is given and drops a trailing slash.
pub(super) fn normalize_url(url: &str) -> Result<String, UsageError> {
    let url = url.trim();
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let parsed: http::Uri = full.parse().map_err(|e| {
        UsageError::new(format!(
            "--url: {url:?} is not a valid URL ({e}); give e.g. http://localhost:8000"
        ))
    })?;
    match parsed.scheme_str() {
        Some("http" | "https") => {}
        other => {
            return Err(UsageError::new(format!(
                "--url: unsupported scheme {:?} in {url:?}; use http:// or https://",
                other.unwrap_or("")
            )));
        }
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(UsageError::new(format!("--url: {url:?} has no host")));
    }
    Ok(full.trim_end_matches('/').to_owned())
}

pub(super) fn is_credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

pub(super) fn header(name: &str, value: &str) -> Result<Header, UsageError> {
    let name = name.trim();
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(UsageError::new(format!(
            "--header: {name:?} is not a valid header name; use Name:Value"
        )));
    }
    let value = value.trim();
    if http::HeaderValue::from_str(value).is_err() {
        return Err(UsageError::new(format!(
            "--header {name}: the value has characters a header cannot carry"
        )));
    }
    let value = if is_credential(name) {
        HeaderValue::Secret(Secret::new(value))
    } else {
        HeaderValue::Plain(value.to_owned())
    };
    Ok(Header {
        name: name.to_owned(),
        value,
    })
}

pub(super) fn parse_headers(raw: &str) -> Result<Vec<Header>, UsageError> {
    if raw.trim_start().starts_with('{') {
        let obj: Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| UsageError::new(format!("--header: not a JSON object of headers: {e}")))?;
        return obj
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => header(k, s),
                other => header(k, &other.to_string()),
            })
            .collect();
    }
    let Some((name, value)) = raw.split_once(':') else {
        return Err(UsageError::new(format!(
            "--header: {raw:?} is not Name:Value (e.g. -H 'X-Team:perf')"
        )));
    };
    Ok(vec![header(name, value)?])
}

pub(super) fn parse_extra_input(raw: &str) -> Result<Vec<(String, Value)>, UsageError> {
    if raw.trim_start().starts_with('{') {
        let obj: Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| UsageError::new(format!("--extra-inputs: not a JSON object: {e}")))?;
        return Ok(obj.into_iter().collect());
    }
    let Some((key, value)) = raw.split_once(':') else {
        return Err(UsageError::new(format!(
            "--extra-inputs: {raw:?} is not key:value (e.g. --extra-inputs ignore_eos:true)"
        )));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(UsageError::new(format!(
            "--extra-inputs: {raw:?} has an empty key"
        )));
    }
    let value = value.trim();
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok(vec![(key.to_owned(), value)])
}

/// The endpoint type `--endpoint-type` names (checked by clap; a plan file may hold any).
pub(super) fn endpoint_type(name: &str) -> Result<&'static dyn Endpoint, UsageError> {
    crate::endpoints::by_name(name).ok_or_else(|| {
        let known: Vec<&str> = crate::endpoints::names().collect();
        UsageError::new(format!(
            "--endpoint-type {name:?} is not known; known types: {}",
            known.join(", ")
        ))
    })
}

/// The endpoint type of a resolved endpoint (resolved from a known name).
pub(super) fn endpoint_of(endpoint: &EndpointConfig) -> &'static dyn Endpoint {
    endpoint_type(endpoint.kind.name()).expect("the endpoint type was checked when resolved")
}

/// What embeddings can and cannot do, and the batch size that only they use.
pub(super) fn check_embeddings(
    args: &ProfileArgs,
    endpoint: &EndpointConfig,
) -> Result<(), UsageError> {
    let batch = args.input.prompt_batch_size;
    if batch == 0 {
        return Err(UsageError::new("--prompt-batch-size must be at least 1"));
    }
    let kind = endpoint_of(endpoint);
    if batch > 1 && !kind.batches() {
        let batching: Vec<&str> = crate::endpoints::ALL
            .iter()
            .filter(|e| e.batches())
            .map(|e| e.name())
            .collect();
        return Err(UsageError::new(format!(
            "--prompt-batch-size {batch}: batches of texts are sent to --endpoint-type {}; \
             {} requests carry one prompt",
            batching.join(" or "),
            kind.name()
        )));
    }
    if batch > 1 && args.input.input_file.is_some() {
        return Err(UsageError::new(
            "--prompt-batch-size batches synthetic prompts; with --input-file, put the texts of \
             a request together in one line (\"texts\": [...])",
        ));
    }
    if endpoint.streaming && !kind.streams() {
        return Err(UsageError::new(format!(
            "--streaming: {} responses are not streamed; drop --streaming (request latency is \
             measured)",
            kind.name()
        )));
    }
    if !args.input.osl.is_empty() && !kind.generates() {
        return Err(UsageError::new(format!(
            "--osl: {} generate no output tokens; drop --osl",
            kind.name()
        )));
    }
    Ok(())
}

/// `AIPERF_HTTP_VIDEO_POLL_INTERVAL`: seconds between a job's status requests.
const POLL_INTERVAL_ENV: &str = "AIPERF_HTTP_VIDEO_POLL_INTERVAL";

/// What the endpoint types that upload files or answer with jobs need: forms only where the
/// type takes them (`--request-content-type`), the media each request must carry, and how
/// jobs are followed (`--download-video-content`, `AIPERF_HTTP_VIDEO_POLL_INTERVAL`).
pub(super) fn resolve_polling(
    args: &ProfileArgs,
    endpoint: &EndpointConfig,
    media: &MediaConfig,
) -> Result<Polling, UsageError> {
    let kind = endpoint_of(endpoint);
    match args.endpoint.request_content_type.map(|t| t.is_form()) {
        Some(false) if kind.form_data() => {
            return Err(UsageError::new(format!(
                "--request-content-type application-json: {} requests upload files and are \
                 sent as multipart-form-data; drop the flag",
                kind.name()
            )));
        }
        Some(true) if !kind.form_data() => {
            return Err(UsageError::new(format!(
                "--request-content-type multipart-form-data is for the endpoint types that take \
                 forms ({}); {} requests are JSON, drop the flag",
                form_types().join(", "),
                kind.name()
            )));
        }
        _ => {}
    }
    if args.input.input_file.is_none() {
        let missing = match kind.inputs().needs {
            Some(crate::endpoints::Media::Image) if media.image.is_none() => Some(
                "an image: add --image-width-mean and --image-height-mean (synthetic images), or \
                 give --input-file with an image on each line",
            ),
            Some(crate::endpoints::Media::Audio) if media.audio.is_none() => Some(
                "an audio clip: add --audio-length-mean (seconds of synthetic audio), or give \
                 --input-file with an audio clip on each line",
            ),
            _ => None,
        };
        if let Some(missing) = missing {
            return Err(UsageError::new(format!(
                "--endpoint-type {} sends {missing}",
                kind.name()
            )));
        }
    }
    let interval_secs = match std::env::var(POLL_INTERVAL_ENV) {
        Ok(raw) => match raw.trim().parse::<f64>() {
            Ok(secs) if (0.001..=10.0).contains(&secs) => secs,
            _ => {
                return Err(UsageError::new(format!(
                    "{POLL_INTERVAL_ENV}={raw:?}: give the seconds between a job's status \
                     requests, from 0.001 to 10"
                )));
            }
        },
        Err(_) => Polling::DEFAULT_INTERVAL_SECS,
    };
    Ok(Polling {
        interval_secs,
        download_content: args.endpoint.download_video_content,
    })
}

/// The endpoint types whose requests are forms.
fn form_types() -> Vec<&'static str> {
    crate::endpoints::ALL
        .iter()
        .filter(|e| e.form_data())
        .map(|e| e.name())
        .collect()
}
