//! Anthropic's Messages API, `POST /v1/messages`: `system`, `messages`, `max_tokens`
//! (required), `stream`. A whole answer is a message with its `content` blocks (`thinking`,
//! then `text`), `stop_reason` and `usage`; a stream is `message_start` (with the input
//! tokens), `ping`, each content block's `content_block_start`, deltas (`thinking_delta` and a
//! `signature_delta`, `text_delta`) and `content_block_stop`, then `message_delta` (the stop
//! reason and output tokens) and `message_stop`. Errors are Anthropic's
//! `{"type": "error", "error": {"type", "message"}}`.

use aiperf_openai::FinishReason;
use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, parse_json};
use crate::server::json_response;
use crate::stream::{Job, SimBody};
use crate::wire::{Events, Wire, WireRequest, json_string};

pub(crate) const PATH: &str = "/v1/messages";

#[derive(Debug)]
pub(crate) struct Messages;

#[derive(Debug, Deserialize)]
struct Request {
    model: String,
    messages: Vec<Message>,
    max_tokens: u64,
    #[serde(default)]
    system: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    /// vLLM's extensions, honoured as in chat.
    #[serde(default)]
    min_tokens: Option<u64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    content: Value,
}

impl Wire for Messages {
    fn path(&self) -> &'static str {
        PATH
    }

    fn id_prefix(&self) -> &'static str {
        "msg"
    }

    fn parse(&self, body: &[u8]) -> Result<WireRequest, ApiError> {
        let req: Request = parse_json(body)?;
        if req.messages.is_empty() {
            return Err(ApiError::bad_request(
                "messages: at least one message is required",
                Some("messages"),
            ));
        }
        if let Some(m) = req
            .messages
            .iter()
            .find(|m| m.role != "user" && m.role != "assistant")
        {
            return Err(ApiError::bad_request(
                format!(
                    "messages: unexpected role \"{}\"; the system prompt goes in the top-level \
                     system field",
                    m.role
                ),
                Some("messages"),
            ));
        }
        let mut texts = Vec::new();
        if let Some(system) = &req.system {
            collect_texts(system, &mut texts);
        }
        for message in &req.messages {
            collect_texts(&message.content, &mut texts);
        }
        Ok(WireRequest {
            model: req.model,
            stream: req.stream.unwrap_or(false),
            texts,
            seed: None,
            cap: Some((req.max_tokens, "max_tokens")),
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos.unwrap_or(false),
        })
    }

    fn opening(&self, job: &Job, out: &mut Events) {
        let data = json!({
            "type": "message_start",
            "message": {
                "id": id(job),
                "type": "message",
                "role": "assistant",
                "model": job.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": job.prompt_tokens, "output_tokens": 1},
            },
        });
        out.push("message_start", data.to_string());
        out.push("ping", r#"{"type":"ping"}"#.to_owned());
    }

    fn token(&self, job: &Job, index: u32, text: &str, _reasoning: &str, out: &mut Events) {
        let reasoning_tokens = job.output.reasoning_tokens;
        if index < reasoning_tokens {
            if index == 0 {
                let block = json!({"type": "thinking", "thinking": "", "signature": ""});
                block_start(out, 0, &block);
            }
            delta(out, 0, "thinking_delta", "thinking", text);
            return;
        }
        let at = text_index(job);
        if index == reasoning_tokens {
            if reasoning_tokens > 0 {
                delta(out, 0, "signature_delta", "signature", &signature(job));
                block_stop(out, 0);
            }
            block_start(out, at, &json!({"type": "text", "text": ""}));
        }
        delta(out, at, "text_delta", "text", text);
    }

    fn closing(&self, job: &Job, _reasoning: &str, _content: &str, out: &mut Events) {
        block_stop(out, text_index(job));
        let data = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(job), "stop_sequence": null},
            "usage": {"output_tokens": job.output.tokens},
        });
        out.push("message_delta", data.to_string());
        out.push("message_stop", r#"{"type":"message_stop"}"#.to_owned());
    }

    fn whole(&self, job: &Job, reasoning: &str, content: &str) -> String {
        let mut blocks = Vec::with_capacity(2);
        if job.output.reasoning_tokens > 0 {
            blocks.push(json!({
                "type": "thinking",
                "thinking": reasoning,
                "signature": signature(job),
            }));
        }
        blocks.push(json!({"type": "text", "text": content}));
        json!({
            "id": id(job),
            "type": "message",
            "role": "assistant",
            "model": job.model,
            "content": blocks,
            "stop_reason": stop_reason(job),
            "stop_sequence": null,
            "usage": {"input_tokens": job.prompt_tokens, "output_tokens": job.output.tokens},
        })
        .to_string()
    }

    fn refuse(&self, error: ApiError) -> Response<SimBody> {
        let kind = match error.status {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        let body = json!({"type": "error", "error": {"type": kind, "message": error.message}});
        json_response(error.status, body.to_string())
    }
}

/// `msg_` and the request's number.
fn id(job: &Job) -> String {
    job.request_id.replacen('-', "_", 1)
}

/// A stand-in for the signature that closes a thinking block.
fn signature(job: &Job) -> String {
    format!("sig_{}", id(job))
}

/// The index of the text block (after the thinking block, when there is one).
fn text_index(job: &Job) -> u32 {
    u32::from(job.output.reasoning_tokens > 0)
}

fn stop_reason(job: &Job) -> &'static str {
    match job.output.finish_reason {
        FinishReason::Length => "max_tokens",
        _ => "end_turn",
    }
}

fn block_start(out: &mut Events, index: u32, block: &Value) {
    let data = json!({"type": "content_block_start", "index": index, "content_block": block});
    out.push("content_block_start", data.to_string());
}

fn block_stop(out: &mut Events, index: u32) {
    out.push(
        "content_block_stop",
        format!("{{\"type\":\"content_block_stop\",\"index\":{index}}}"),
    );
}

/// A `content_block_delta`, written without a JSON tree (one per token).
fn delta(out: &mut Events, index: u32, kind: &str, field: &str, text: &str) {
    out.push(
        "content_block_delta",
        format!(
            "{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"{kind}\",\"{field}\":{}}}}}",
            json_string(text)
        ),
    );
}

/// The texts of `system` or of a message's content: strings, and the `text` and `content`
/// fields of blocks (tool results), and a tool call's `input` as JSON.
fn collect_texts(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_texts(v, into)),
        Value::Object(map) => {
            for key in ["text", "content", "thinking"] {
                if let Some(v) = map.get(key) {
                    collect_texts(v, into);
                }
            }
            if let Some(input) = map.get("input").filter(|v| !v.is_null()) {
                into.push(input.to_string());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{job, stream};

    #[test]
    fn a_stream_opens_fills_and_closes_its_blocks() {
        let events = stream(&job(&Messages, 3, 1, false));
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        for (kind, data) in &events {
            assert_eq!(data["type"], kind.as_str());
        }
        assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 9);
        assert_eq!(events[2].1["content_block"]["type"], "thinking");
        assert_eq!(
            events[3].1["delta"],
            json!({"type": "thinking_delta", "thinking": " w0"})
        );
        assert_eq!(events[4].1["delta"]["type"], "signature_delta");
        assert_eq!(events[6].1["index"], 1);
        assert_eq!(
            events[8].1["delta"],
            json!({"type": "text_delta", "text": " w2"})
        );
        assert_eq!(
            events[10].1,
            json!({"type": "message_delta",
                   "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": 3}})
        );
    }

    #[test]
    fn a_whole_answer_is_a_message_with_blocks() {
        let job = job(&Messages, 2, 1, true);
        let answer: Value = serde_json::from_str(&Messages.whole(&job, "hmm", " ok")).unwrap();
        assert_eq!(answer["type"], "message");
        assert_eq!(answer["id"], "msg_00000000000000ab");
        assert_eq!(answer["stop_reason"], "max_tokens");
        assert_eq!(answer["content"][0]["type"], "thinking");
        assert_eq!(answer["content"][0]["thinking"], "hmm");
        assert_eq!(answer["content"][1], json!({"type": "text", "text": " ok"}));
        assert_eq!(
            answer["usage"],
            json!({"input_tokens": 9, "output_tokens": 2})
        );
    }

    #[test]
    fn a_request_needs_max_tokens_and_user_or_assistant_messages() {
        let body = json!({
            "model": "m",
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "answer"},
                {"role": "user", "content": [
                    {"type": "text", "text": "second"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                ]}
            ],
            "max_tokens": 12,
            "stream": true
        });
        let req = Messages.parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(req.texts, ["Be brief.", "first", "answer", "second"]);
        assert_eq!(req.cap, Some((12, "max_tokens")));
        assert!(req.stream);
        let e = Messages
            .parse(br#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
            .unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some("max_tokens")));
        let e = Messages
            .parse(br#"{"model":"m","max_tokens":4,"messages":[{"role":"system","content":"x"}]}"#)
            .unwrap_err();
        assert!(e.message.contains("top-level system"), "{e:?}");
    }

    #[test]
    fn errors_are_in_anthropic_shape() {
        let response = Messages.refuse(ApiError::bad_request("bad", None));
        assert_eq!(response.status(), 400);
        let SimBody::Full(Some(bytes)) = response.into_body() else {
            panic!("a full body")
        };
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}})
        );
    }
}
