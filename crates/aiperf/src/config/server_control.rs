//! What a run asks of the server besides its requests (`--wait-for-model-*`,
//! `--reset-kv-cache*`, `--server-profiler*`), the Endpoint options about the wire
//! (`--session-header`, `--per-chunk-usage`, `--url-strategy`, `--transport`,
//! `--uuid-and-strip`), `--apply-chat-template`, and the Python AIPerf's options for its own
//! processes, which are accepted with a note.

use serde_json::{Map, Value};

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::{ControlHook, EndpointConfig, ProfilerHook, ServerControl, WaitForModel};

pub(super) fn resolve(args: &ProfileArgs) -> Result<ServerControl, UsageError> {
    let s = &args.server;
    notes(args)?;
    Ok(ServerControl {
        wait_for_model: wait_for_model(args)?,
        reset_kv_cache: reset_kv_cache(args)?,
        server_profiler: server_profiler(args)?,
        session_header: match &s.session_header {
            None => None,
            Some(name) => Some(session_header(name)?),
        },
        per_chunk_usage: s.per_chunk_usage,
    })
}

fn wait_for_model(args: &ProfileArgs) -> Result<Option<WaitForModel>, UsageError> {
    let s = &args.server;
    let timeout = s.wait_for_model_timeout;
    if !(timeout.is_finite() && timeout >= 0.0) {
        return Err(UsageError::new(format!(
            "--wait-for-model-timeout must be a number of seconds, 0 or more (0: do not wait), \
             got {timeout}"
        )));
    }
    let interval = s.wait_for_model_interval;
    if !(interval.is_finite() && interval > 0.0) {
        return Err(UsageError::new(format!(
            "--wait-for-model-interval must be a positive number of seconds, got {interval}"
        )));
    }
    Ok((timeout > 0.0).then_some(WaitForModel {
        timeout_secs: timeout,
        probe: s.wait_for_model_mode,
        interval_secs: interval,
    }))
}

/// On with `--reset-kv-cache`, or when its timeout or path is given (as the Python AIPerf
/// decides).
fn reset_kv_cache(args: &ProfileArgs) -> Result<Option<ControlHook>, UsageError> {
    let s = &args.server;
    let on = s.reset_kv_cache
        || s.reset_kv_cache_timeout_seconds.is_some()
        || s.reset_kv_cache_path.is_some();
    if !on {
        return Ok(None);
    }
    Ok(Some(ControlHook {
        path: relative_path(
            "--reset-kv-cache-path",
            s.reset_kv_cache_path.as_deref(),
            ControlHook::DEFAULT_RESET_PATH,
        )?,
        timeout_secs: timeout(
            "--reset-kv-cache-timeout-seconds",
            s.reset_kv_cache_timeout_seconds,
        )?,
    }))
}

/// On with `--server-profiler`, or when its timeout or a path is given.
fn server_profiler(args: &ProfileArgs) -> Result<Option<ProfilerHook>, UsageError> {
    let s = &args.server;
    let on = s.server_profiler
        || s.server_profiler_timeout_seconds.is_some()
        || s.server_profiler_start_path.is_some()
        || s.server_profiler_stop_path.is_some();
    if !on {
        return Ok(None);
    }
    Ok(Some(ProfilerHook {
        start_path: relative_path(
            "--server-profiler-start-path",
            s.server_profiler_start_path.as_deref(),
            ProfilerHook::DEFAULT_START_PATH,
        )?,
        stop_path: relative_path(
            "--server-profiler-stop-path",
            s.server_profiler_stop_path.as_deref(),
            ProfilerHook::DEFAULT_STOP_PATH,
        )?,
        timeout_secs: timeout(
            "--server-profiler-timeout-seconds",
            s.server_profiler_timeout_seconds,
        )?,
    }))
}

/// A control path: relative to each server's origin, so control requests never go
/// elsewhere.
fn relative_path(flag: &str, given: Option<&str>, default: &str) -> Result<String, UsageError> {
    let Some(path) = given else {
        return Ok(default.to_owned());
    };
    if path.contains("://")
        || !path.starts_with('/')
        || path.parse::<http::uri::PathAndQuery>().is_err()
    {
        return Err(UsageError::new(format!(
            "{flag} must be a path on the server starting with '/' (e.g. {default}), got \
             {path:?}"
        )));
    }
    Ok(path.to_owned())
}

fn timeout(flag: &str, given: Option<f64>) -> Result<f64, UsageError> {
    match given {
        None => Ok(ControlHook::DEFAULT_TIMEOUT_SECS),
        Some(t) if t.is_finite() && t > 0.0 => Ok(t),
        Some(t) => Err(UsageError::new(format!(
            "{flag} must be a positive number of seconds, got {t}"
        ))),
    }
}

fn session_header(name: &str) -> Result<String, UsageError> {
    let name = name.trim();
    if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(UsageError::new(format!(
            "--session-header: {name:?} is not a valid header name; give e.g. X-Session-ID"
        )));
    }
    Ok(name.to_owned())
}

/// `--per-chunk-usage`: checked against the endpoint, and `stream_options` asks for usage on
/// every chunk (keys the user set in `--extra-inputs stream_options` win).
pub(super) fn add_per_chunk_usage(
    args: &ProfileArgs,
    endpoint: &mut EndpointConfig,
) -> Result<(), UsageError> {
    if !args.server.per_chunk_usage {
        return Ok(());
    }
    let why = if !endpoint.use_server_token_count {
        Some(
            "--per-chunk-usage requires --use-server-token-count (the first chunk's token \
             count is the server's); add it",
        )
    } else if endpoint.kind.name() != "chat" {
        Some("--per-chunk-usage requires --endpoint-type chat; drop it")
    } else if !endpoint.streaming {
        Some(
            "--per-chunk-usage requires --streaming (usage per chunk and inter-token latency \
             exist only for streamed answers); add --streaming",
        )
    } else {
        None
    };
    if let Some(why) = why {
        return Err(UsageError::new(why));
    }
    let mut options = match endpoint.extra_inputs.get("stream_options") {
        Some(Value::Object(given)) => given.clone(),
        Some(_) => {
            return Err(UsageError::new(
                "--per-chunk-usage: --extra-inputs stream_options must be a JSON object",
            ));
        }
        None => Map::new(),
    };
    options.entry("include_usage").or_insert(Value::Bool(true));
    options
        .entry("continuous_usage_stats")
        .or_insert(Value::Bool(true));
    endpoint
        .extra_inputs
        .insert("stream_options".into(), Value::Object(options));
    Ok(())
}

/// Options accepted with a note that they do not apply here, or refused with what to do
/// instead.
fn notes(args: &ProfileArgs) -> Result<(), UsageError> {
    let i = &args.internals;
    if let Some(repo) = &i.hf_weka_dataset {
        return Err(UsageError::new(format!(
            "--hf-weka-dataset {repo} selects --public-dataset weka_hf: Weka agentic traces are \
             not replayed here; export its rows as single_turn JSON lines and pass them with \
             --input-file"
        )));
    }
    let positive = [
        (
            i.record_processor_service_count,
            "--record-processor-service-count",
        ),
        (i.workers_max, "--workers-max"),
    ];
    if let Some((_, flag)) = positive.iter().find(|(n, _)| *n == Some(0)) {
        return Err(UsageError::new(format!("{flag} must be at least 1")));
    }
    if i.api_port == Some(0) {
        return Err(UsageError::new("--api-port must be a port from 1 to 65535"));
    }
    if let Some(s) = i.stats_interval
        && !(0.0..=1000.0).contains(&s)
    {
        return Err(UsageError::new(format!(
            "--stats-interval must be from 0 to 1000 seconds, got {s}"
        )));
    }
    let internals = i.given();
    if !internals.is_empty() {
        tracing::warn!(
            "{} tune the Python AIPerf's own processes and do not apply here: this tool runs \
             in one process (requests as tasks, one collector thread); they have no effect",
            internals.join(", ")
        );
    }
    if args.server.uuid_and_strip {
        if args.endpoint.endpoint_type != "chat" {
            return Err(UsageError::new(
                "--uuid-and-strip requires --endpoint-type chat; drop it",
            ));
        }
        tracing::warn!(
            "--uuid-and-strip has no effect here: input files are read without image UUIDs, \
             so every image is sent whole (vLLM's multimodal cache still reuses repeated \
             images by their content)"
        );
    }
    if args.tokenizer.apply_chat_template {
        tracing::warn!(
            "--apply-chat-template has no effect here: chat templates are not rendered, so \
             input tokens are the prompt's own; add --use-server-token-count to report the \
             server's prompt_tokens, template included"
        );
    }
    Ok(())
}
