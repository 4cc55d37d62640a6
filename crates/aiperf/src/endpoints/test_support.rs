//! What the unit tests of the endpoint types share: a type's settings, answers as timed
//! frames, named server-sent events and plain turns.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::dataset::Turn;
use crate::settings::{EndpointConfig, EndpointKind};

/// The settings of a run of `kind` (on its default path), streamed or not, with `extra` (a
/// JSON object, or nothing) as its `--extra-inputs`.
pub(super) fn settings(kind: &str, streaming: bool, extra: Value) -> EndpointConfig {
    EndpointConfig {
        urls: vec!["http://localhost:8000".into()],
        kind: EndpointKind(kind.into()),
        path: super::by_name(kind).unwrap().default_path(streaming).into(),
        streaming,
        timeout_secs: 10.0,
        api_key: None,
        headers: vec![],
        extra_inputs: match extra {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        use_server_token_count: false,
        use_legacy_max_tokens: false,
        connection_warmup: true,
        connection_reuse: Default::default(),
    }
}

/// `--extra-inputs` from (key, value) pairs, in their order.
pub(super) fn extra(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// An answer as it arrived: each part with its time.
pub(super) fn frames(parts: &[(u64, &str)]) -> Vec<(u64, Bytes)> {
    parts
        .iter()
        .map(|(t, s)| (*t, Bytes::from(s.to_string())))
        .collect()
}

/// A server-sent event named by its data's `type`.
pub(super) fn event(data: &Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

/// A user turn of `texts`, asking for `max_tokens`.
pub(super) fn turn(texts: &[&str], max_tokens: Option<u32>) -> Turn {
    Turn {
        texts: texts.iter().map(|s| (*s).to_owned()).collect(),
        role: "user".into(),
        input_tokens: 1,
        max_tokens,
        ..Turn::default()
    }
}
