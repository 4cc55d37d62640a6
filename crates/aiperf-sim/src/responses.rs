//! OpenAI's Responses API, `POST /v1/responses`: `input` (a string or a list of items),
//! `instructions`, `max_output_tokens`, `stream`. A whole answer is a response object with
//! its `output` items and `usage`; a stream is typed, numbered events: `response.created`,
//! `response.in_progress`, the output items opened, their deltas
//! (`response.reasoning_text.delta`, `response.output_text.delta`) and closed, and
//! `response.completed` with the whole response. An answer cut by `max_output_tokens` has
//! `status: "incomplete"` and `incomplete_details.reason: "max_output_tokens"`, in
//! `response.completed` as vLLM sends it.

use aiperf_openai::FinishReason;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, parse_json};
use crate::stream::Job;
use crate::wire::{Events, Wire, WireRequest, json_string};

pub(crate) const PATH: &str = "/v1/responses";

#[derive(Debug)]
pub(crate) struct Responses;

#[derive(Debug, Deserialize)]
struct Request {
    model: String,
    input: Value,
    #[serde(default)]
    instructions: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    /// vLLM's extensions, honoured as in chat.
    #[serde(default)]
    min_tokens: Option<u64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
    #[serde(default)]
    seed: Option<u64>,
}

impl Wire for Responses {
    fn path(&self) -> &'static str {
        PATH
    }

    fn id_prefix(&self) -> &'static str {
        "resp"
    }

    fn parse(&self, body: &[u8]) -> Result<WireRequest, ApiError> {
        let req: Request = parse_json(body)?;
        let mut texts = Vec::new();
        if let Some(instructions) = &req.instructions {
            collect_texts(instructions, &mut texts);
        }
        match &req.input {
            Value::String(_) | Value::Array(_) => collect_texts(&req.input, &mut texts),
            _ => {
                return Err(ApiError::bad_request(
                    "input must be a string or a list of input items",
                    Some("input"),
                ));
            }
        }
        if texts.is_empty() {
            return Err(ApiError::bad_request(
                "input must not be empty",
                Some("input"),
            ));
        }
        Ok(WireRequest {
            model: req.model,
            stream: req.stream.unwrap_or(false),
            texts,
            seed: req.seed,
            cap: req.max_output_tokens.map(|cap| (cap, "max_output_tokens")),
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos.unwrap_or(false),
        })
    }

    fn opening(&self, job: &Job, out: &mut Events) {
        for kind in ["response.created", "response.in_progress"] {
            let data = json!({
                "type": kind,
                "sequence_number": out.next_number(),
                "response": response(job, "in_progress", &[], &Value::Null),
            });
            out.push(kind, data.to_string());
        }
    }

    fn token(&self, job: &Job, index: u32, text: &str, reasoning: &str, out: &mut Events) {
        let ids = Ids::of(job);
        let reasoning_tokens = job.output.reasoning_tokens;
        if index < reasoning_tokens {
            if index == 0 {
                let item = reasoning_item(&ids, "in_progress", "");
                push_item_event(out, "response.output_item.added", 0, &item);
            }
            push_delta(
                out,
                "response.reasoning_text.delta",
                &ids.reasoning,
                0,
                text,
            );
            return;
        }
        let at = message_index(job);
        if index == reasoning_tokens {
            if reasoning_tokens > 0 {
                let data = json!({
                    "type": "response.reasoning_text.done",
                    "sequence_number": out.next_number(),
                    "item_id": ids.reasoning,
                    "output_index": 0,
                    "content_index": 0,
                    "text": reasoning,
                });
                out.push("response.reasoning_text.done", data.to_string());
                let item = reasoning_item(&ids, "completed", reasoning);
                push_item_event(out, "response.output_item.done", 0, &item);
            }
            let item = message_item(&ids, "in_progress", None);
            push_item_event(out, "response.output_item.added", at, &item);
            let data = json!({
                "type": "response.content_part.added",
                "sequence_number": out.next_number(),
                "item_id": ids.message,
                "output_index": at,
                "content_index": 0,
                "part": output_text(""),
            });
            out.push("response.content_part.added", data.to_string());
        }
        push_delta(out, "response.output_text.delta", &ids.message, at, text);
    }

    fn closing(&self, job: &Job, reasoning: &str, content: &str, out: &mut Events) {
        let ids = Ids::of(job);
        let at = message_index(job);
        let data = json!({
            "type": "response.output_text.done",
            "sequence_number": out.next_number(),
            "item_id": ids.message,
            "output_index": at,
            "content_index": 0,
            "text": content,
            "logprobs": [],
        });
        out.push("response.output_text.done", data.to_string());
        let data = json!({
            "type": "response.content_part.done",
            "sequence_number": out.next_number(),
            "item_id": ids.message,
            "output_index": at,
            "content_index": 0,
            "part": output_text(content),
        });
        out.push("response.content_part.done", data.to_string());
        let item = message_item(&ids, "completed", Some(content));
        push_item_event(out, "response.output_item.done", at, &item);
        let data = json!({
            "type": "response.completed",
            "sequence_number": out.next_number(),
            "response": finished(job, &ids, reasoning, content),
        });
        out.push("response.completed", data.to_string());
    }

    fn whole(&self, job: &Job, reasoning: &str, content: &str) -> String {
        finished(job, &Ids::of(job), reasoning, content).to_string()
    }
}

/// The ids of a response and of its output items.
struct Ids {
    response: String,
    reasoning: String,
    message: String,
}

impl Ids {
    fn of(job: &Job) -> Self {
        let tail = job
            .request_id
            .split_once('-')
            .map_or(job.request_id.as_str(), |(_, t)| t);
        Self {
            response: format!("resp_{tail}"),
            reasoning: format!("rs_{tail}"),
            message: format!("msg_{tail}"),
        }
    }
}

/// Where the message item is in `output` (after the reasoning item, when there is one).
fn message_index(job: &Job) -> u32 {
    u32::from(job.output.reasoning_tokens > 0)
}

/// The response object, as `response.created` and `response.completed` carry it and as a
/// whole answer is.
fn response(job: &Job, status: &str, output: &[Value], usage: &Value) -> Value {
    let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
    json!({
        "id": Ids::of(job).response,
        "object": "response",
        "created_at": job.created,
        "status": status,
        "error": null,
        "incomplete_details": incomplete,
        "model": job.model,
        "output": output,
        "usage": usage,
    })
}

/// The finished response: its output items and usage.
fn finished(job: &Job, ids: &Ids, reasoning: &str, content: &str) -> Value {
    let status = match job.output.finish_reason {
        FinishReason::Length => "incomplete",
        _ => "completed",
    };
    let mut output = Vec::with_capacity(2);
    if job.output.reasoning_tokens > 0 {
        output.push(reasoning_item(ids, "completed", reasoning));
    }
    output.push(message_item(ids, "completed", Some(content)));
    let (input, generated) = (u64::from(job.prompt_tokens), u64::from(job.output.tokens));
    let usage = json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": generated,
        "output_tokens_details": {"reasoning_tokens": job.output.reasoning_tokens},
        "total_tokens": input + generated,
    });
    response(job, status, &output, &usage)
}

fn reasoning_item(ids: &Ids, status: &str, text: &str) -> Value {
    let content = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "reasoning_text", "text": text}])
    };
    json!({
        "id": ids.reasoning,
        "type": "reasoning",
        "status": status,
        "summary": [],
        "content": content,
    })
}

fn message_item(ids: &Ids, status: &str, text: Option<&str>) -> Value {
    json!({
        "id": ids.message,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": text.map_or_else(Vec::new, |t| vec![output_text(t)]),
    })
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

fn push_item_event(out: &mut Events, kind: &'static str, output_index: u32, item: &Value) {
    let data = json!({
        "type": kind,
        "sequence_number": out.next_number(),
        "output_index": output_index,
        "item": item,
    });
    out.push(kind, data.to_string());
}

/// A delta event, written without a JSON tree (one per token).
fn push_delta(out: &mut Events, kind: &'static str, item_id: &str, output_index: u32, text: &str) {
    let data = format!(
        "{{\"type\":\"{kind}\",\"sequence_number\":{},\"item_id\":\"{item_id}\",\"output_index\":{output_index},\"content_index\":0,\"delta\":{},\"logprobs\":[]}}",
        out.next_number(),
        json_string(text)
    );
    out.push(kind, data);
}

/// The texts of an input, of `instructions`, or of one item or content part: strings, and
/// the `text`, `content`, `arguments` and `output` fields of objects.
fn collect_texts(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_texts(v, into)),
        Value::Object(map) => {
            for key in ["text", "content", "arguments", "output"] {
                if let Some(v) = map.get(key) {
                    collect_texts(v, into);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing::{job, stream};

    /// The event types in order, the numbering, and the text of the deltas again in the
    /// `done` events and in `response.completed`.
    #[test]
    fn a_stream_is_numbered_typed_events_ending_with_the_whole_response() {
        let events = stream(&job(&Responses, 4, 2, true));
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_text.delta",
                "response.reasoning_text.delta",
                "response.reasoning_text.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, (kind, data)) in events.iter().enumerate() {
            assert_eq!(data["type"], kind.as_str());
            assert_eq!(data["sequence_number"], i, "{data}");
        }
        assert_eq!(events[0].1["response"]["status"], "in_progress");
        assert_eq!(events[5].1["text"], " w0 w1");
        assert_eq!(events[9].1["output_index"], 1);
        assert_eq!(events[11].1["text"], " w2 w3");
        let done = &events[14].1["response"];
        assert_eq!(done["id"], "resp_00000000000000ab");
        assert_eq!(done["status"], "incomplete");
        assert_eq!(done["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(done["output"][1]["content"][0]["text"], " w2 w3");
        assert_eq!(
            done["usage"],
            json!({"input_tokens": 9, "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2},
                   "total_tokens": 13})
        );
    }

    #[test]
    fn a_whole_answer_is_the_response_object() {
        let answer: Value =
            serde_json::from_str(&Responses.whole(&job(&Responses, 2, 0, false), "", "Hi there"))
                .unwrap();
        assert_eq!(answer["object"], "response");
        assert_eq!(answer["status"], "completed");
        assert!(answer["incomplete_details"].is_null());
        let output = answer["output"].as_array().unwrap();
        assert_eq!(output.len(), 1);
        assert_eq!(output[0]["type"], "message");
        assert_eq!(output[0]["content"][0]["type"], "output_text");
        assert_eq!(output[0]["content"][0]["text"], "Hi there");
        assert_eq!(answer["usage"]["output_tokens"], 2);
    }

    #[test]
    fn a_request_names_its_texts_and_cap() {
        let body = json!({
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": "first", "type": "message"},
                {"role": "assistant", "type": "message",
                 "content": [{"type": "output_text", "text": "answer"}]},
                {"role": "user", "type": "message", "content": [
                    {"type": "input_text", "text": "second"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
                ]}
            ],
            "max_output_tokens": 12,
            "stream": true,
            "ignore_eos": true
        });
        let req = Responses.parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(req.texts, ["Be brief.", "first", "answer", "second"]);
        assert_eq!(req.cap, Some((12, "max_output_tokens")));
        assert!(req.stream && req.ignore_eos);
        let plain = Responses
            .parse(br#"{"model":"m","input":"hello"}"#)
            .unwrap();
        assert_eq!(
            (plain.texts.as_slice(), plain.stream),
            (&["hello".to_owned()][..], false)
        );
        for bad in [
            r#"{"model":"m"}"#,
            r#"{"model":"m","input":7}"#,
            r#"{"model":"m","input":[]}"#,
        ] {
            let e = Responses.parse(bad.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status, e.param.as_deref()),
                (400, Some("input")),
                "{bad}"
            );
        }
    }
}
