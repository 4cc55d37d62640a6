//! Request bodies: the exact JSON each turn sends, in the reference tool's key order
//! (`messages`/`prompt`, `model`, `stream`, the output cap, `stream_options`, then
//! `--extra-inputs`; embeddings: `model`, `input`, then `--extra-inputs`), so `inputs.json`
//! files compare line for line.

use serde_json::{Map, Value, json};

use super::Turn;
use crate::settings::{EndpointConfig, EndpointType};

/// Builds the body of one request.
///
/// `history` holds the earlier turns of a multi-turn session and the assistant replies the
/// server gave them (chat only; a completions prompt is the current turn's text).
pub fn request_body(
    endpoint: &EndpointConfig,
    model: &str,
    turn: &Turn,
    history: &[Value],
) -> Map<String, Value> {
    let mut body = Map::new();
    if endpoint.kind == EndpointType::Embeddings {
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert(
            "input".into(),
            Value::Array(turn.texts.iter().cloned().map(Value::String).collect()),
        );
        for (key, value) in &endpoint.extra_inputs {
            body.insert(key.clone(), value.clone());
        }
        return body;
    }
    match endpoint.kind {
        EndpointType::Chat => {
            let mut messages = Vec::with_capacity(history.len() + 2);
            if let Some(system) = &turn.system {
                messages.push(message("system", std::slice::from_ref(system)));
            }
            messages.extend_from_slice(history);
            messages.push(message(&turn.role, &turn.texts));
            body.insert("messages".into(), Value::Array(messages));
        }
        EndpointType::Completions | EndpointType::Embeddings if turn.system.is_some() => {
            let system = turn.system.as_deref().unwrap_or_default();
            body.insert(
                "prompt".into(),
                Value::String(format!("{system}{}", turn.texts.concat())),
            );
        }
        EndpointType::Completions | EndpointType::Embeddings => {
            let prompt = match turn.texts.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            };
            body.insert("prompt".into(), prompt);
        }
    }
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert("stream".into(), Value::Bool(endpoint.streaming));
    if let Some(max) = turn.max_tokens {
        let key = match endpoint.kind {
            EndpointType::Chat if !endpoint.use_legacy_max_tokens => "max_completion_tokens",
            _ => "max_tokens",
        };
        body.insert(key.into(), Value::from(max));
    }
    if endpoint.streaming {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    for (key, value) in &endpoint.extra_inputs {
        body.insert(key.clone(), value.clone());
    }
    body
}

/// A chat message: plain string content for one text, content parts for several.
pub fn message(role: &str, texts: &[String]) -> Value {
    let content = match texts {
        [one] => Value::String(one.clone()),
        many => Value::Array(
            many.iter()
                .map(|t| json!({"type": "text", "text": t}))
                .collect(),
        ),
    };
    json!({"role": role, "content": content})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: EndpointType, streaming: bool) -> EndpointConfig {
        EndpointConfig {
            urls: vec!["http://localhost:8000".into()],
            kind,
            path: kind.default_path().into(),
            streaming,
            timeout_secs: 10.0,
            api_key: None,
            headers: vec![],
            extra_inputs: Map::new(),
            use_server_token_count: false,
            use_legacy_max_tokens: false,
            connection_warmup: true,
            connection_reuse: crate::settings::ConnectionReuse::Pooled,
        }
    }

    fn turn(texts: &[&str], max_tokens: Option<u32>) -> Turn {
        Turn {
            texts: texts.iter().map(|s| (*s).to_owned()).collect(),
            role: "user".into(),
            input_tokens: 1,
            max_tokens,
            timestamp_ms: None,
            delay_ms: None,
            system: None,
        }
    }

    #[test]
    fn a_system_prompt_comes_first() {
        let mut t = turn(&[" question"], None);
        t.system = Some("Be brief.".into());
        let history = [message("user", &["earlier".into()])];
        let chat = request_body(&endpoint(EndpointType::Chat, false), "m", &t, &history);
        let roles: Vec<&str> = chat["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "user"]);
        let completion = request_body(&endpoint(EndpointType::Completions, false), "m", &t, &[]);
        assert_eq!(completion["prompt"], "Be brief. question");
    }

    #[test]
    fn chat_body_matches_the_reference_key_order() {
        let body = request_body(
            &endpoint(EndpointType::Chat, true),
            "m",
            &turn(&["hi"], Some(32)),
            &[],
        );
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"messages":[{"role":"user","content":"hi"}],"model":"m","stream":true,"max_completion_tokens":32,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn completions_legacy_cap_and_extra_inputs() {
        let mut ep = endpoint(EndpointType::Completions, false);
        ep.extra_inputs
            .insert("ignore_eos".into(), Value::Bool(true));
        ep.extra_inputs.insert("stream".into(), Value::Bool(false));
        let body = request_body(&ep, "m", &turn(&["a", "b"], Some(8)), &[]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"prompt":["a","b"],"model":"m","stream":false,"max_tokens":8,"ignore_eos":true}"#
        );
        let mut chat = endpoint(EndpointType::Chat, false);
        chat.use_legacy_max_tokens = true;
        let body = request_body(&chat, "m", &turn(&["x"], Some(4)), &[]);
        assert_eq!(body["max_tokens"], 4);
        assert!(!body.contains_key("max_completion_tokens"));
    }

    #[test]
    fn chat_history_and_content_parts() {
        let history = vec![
            message("user", &["q".into()]),
            message("assistant", &["a".into()]),
        ];
        let body = request_body(
            &endpoint(EndpointType::Chat, false),
            "m",
            &turn(&["x", "y"], None),
            &history,
        );
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[2]["content"][1],
            json!({"type": "text", "text": "y"})
        );
        assert!(!body.contains_key("max_completion_tokens"));
    }
}
