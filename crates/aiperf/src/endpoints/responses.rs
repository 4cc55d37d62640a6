//! `responses`: OpenAI's Responses API (`/v1/responses`). A turn is an `input` list: the
//! conversation so far, then the turn as a user message item whose content is the text (one
//! text) or `input_text` / `input_image` / `input_audio` parts. The system prompt is the
//! top-level `instructions`, sent with every turn; the output cap is `max_output_tokens`.
//!
//! A stream is typed events: `response.output_text.delta` carries the answer,
//! `response.reasoning_text.delta` (and `response.reasoning_summary_text.delta`) the
//! reasoning, `response.function_call_arguments.delta` a tool call's arguments;
//! `response.completed` (or `response.incomplete`, when a cap cut the answer) ends it with the
//! whole response and its `usage` (`input_tokens`, `output_tokens`,
//! `output_tokens_details.reasoning_tokens`). `response.failed` and `error` events are errors.
//! A whole answer is the response object: `output[]` items (`message` with `output_text`
//! parts, `reasoning` with its summary or text, `function_call`) and `usage`.
//!
//! Later turns resend the server's output items (its messages and tool calls; reasoning and
//! built-in tool items are dropped, since the API takes them back only with their tool or with
//! stored state), or the answer's text when no items came back.

use std::borrow::Cow;
use std::collections::HashSet;

use aiperf_openai::view::{DetailsView, UsageView};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Decoded, Endpoint, add_extra_inputs, empty_stream, invalid_answer, malformed_event,
    server_error, sse_events, unsupported_input, whole,
};
use crate::dataset::Turn;
use crate::dataset::media::audio_parts;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct Responses;

impl Endpoint for Responses {
    fn name(&self) -> &'static str {
        "responses"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/responses"
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let (earlier_system, earlier) = split_system(history);
        let mut input = Vec::with_capacity(earlier.len() + 2);
        if let Some(context) = &turn.user_context {
            input.push(context_item(context));
        }
        input.extend(earlier.into_iter().cloned());
        input.push(user_item(turn)?);
        let mut body = Map::new();
        body.insert("input".into(), Value::Array(input));
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert("stream".into(), Value::Bool(settings.streaming));
        if let Some(system) = turn.system.as_deref().or(earlier_system) {
            body.insert("instructions".into(), Value::String(system.to_owned()));
        }
        if let Some(max) = turn.max_tokens {
            body.insert("max_output_tokens".into(), Value::from(max));
        }
        add_extra_inputs(&mut body, settings);
        if settings.streaming && settings.use_server_token_count {
            match body.get_mut("stream_options") {
                Some(Value::Object(options)) => {
                    options.entry("include_usage").or_insert(Value::Bool(true));
                }
                _ => {
                    body.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
        }
        Ok(body)
    }

    fn history(&self, turn: &Turn, answer: &[(u64, Bytes)], streaming: bool) -> Vec<Value> {
        let mut out = Vec::with_capacity(3);
        if let Some(system) = &turn.system {
            out.push(system_marker(system));
        }
        if let Some(context) = &turn.user_context {
            out.push(context_item(context));
        }
        // The turn was sent, so its item was built.
        out.extend(user_item(turn).ok());
        match output_items(answer, streaming) {
            Some(items) if !items.is_empty() => out.extend(items),
            _ => {
                let text = (self.decode(answer, streaming))
                    .map(Decoded::answer_text)
                    .unwrap_or_default();
                if !text.is_empty() {
                    out.push(json!({"role": "assistant", "content": text, "type": "message"}));
                }
            }
        }
        out
    }

    fn usage_hint(&self) -> &'static str {
        "the server reports usage in response.completed (streamed) or the response object"
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        if streaming {
            decode_stream(frames)
        } else {
            decode_whole(frames)
        }
    }
}

/// The user message item of `turn`: its text as a string, or content parts. The API takes no
/// video: a turn with video is not sent.
fn user_item(turn: &Turn) -> Result<Value, ErrorDetails> {
    if turn.videos.iter().any(|v| !v.is_empty()) {
        return Err(unsupported_input(
            "the Responses API takes no video input: use --endpoint-type chat for turns with \
             video, or leave the video out",
        ));
    }
    let content = match (
        turn.texts.as_slice(),
        turn.images.is_empty(),
        turn.audios.is_empty(),
    ) {
        ([one], true, true) => Value::String(one.clone()),
        _ => {
            let mut parts = Vec::new();
            for text in turn.texts.iter().filter(|t| !t.is_empty()) {
                parts.push(json!({"type": "input_text", "text": text}));
            }
            for image in turn.images.iter().filter(|i| !i.is_empty()) {
                parts.push(json!({"type": "input_image", "image_url": image}));
            }
            for audio in turn.audios.iter().filter(|a| !a.is_empty()) {
                let (format, data) = audio_parts(audio);
                parts.push(
                    json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}),
                );
            }
            if parts.is_empty() {
                Value::String(String::new())
            } else {
                Value::Array(parts)
            }
        }
    };
    Ok(json!({"role": turn.role, "content": content, "type": "message"}))
}

/// The conversation's user context (`--user-context-prompt-length`): a leading user message.
fn context_item(context: &str) -> Value {
    json!({"type": "message", "role": "user", "content": context})
}

/// The history entry that carries a conversation's system prompt to its later turns (sent
/// as `instructions`, never as an input item).
fn system_marker(system: &str) -> Value {
    json!({"role": "system", "content": system})
}

/// The system prompt carried in `history`, and the input items.
fn split_system(history: &[Value]) -> (Option<&str>, Vec<&Value>) {
    let mut system = None;
    let mut items = Vec::with_capacity(history.len());
    for item in history {
        if item.get("role").and_then(Value::as_str) == Some("system") && item.get("type").is_none()
        {
            system = system.or_else(|| item.get("content").and_then(Value::as_str));
        } else {
            items.push(item);
        }
    }
    (system, items)
}

/// Output item types the API takes back in `input` only with their tool configured or with
/// stored state.
const NOT_RESENT: &[&str] = &[
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "computer_call",
    "reasoning",
];

/// Event types that end a stream without a usable answer.
const FAILED: &[&str] = &[
    "response.failed",
    "response.incomplete",
    "response.error",
    "error",
];

/// The output items of an answer, to resend with the next turn: those of the finished
/// response object, then any other `response.output_item.done` item, each once (by `id`,
/// `call_id` or `item_id`). `None` when the answer failed or is not JSON.
fn output_items(answer: &[(u64, Bytes)], streaming: bool) -> Option<Vec<Value>> {
    let mut objects = Vec::new();
    if !streaming {
        objects.push(serde_json::from_slice::<Value>(&whole(answer)).ok()?);
    } else {
        sse_events(answer, |data, _| {
            if let Ok(value) = serde_json::from_str::<Value>(data) {
                objects.push(value);
            }
            Ok(())
        })
        .ok()?;
    }
    let mut ordered = Vec::new();
    let mut done = Vec::new();
    for object in objects {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        if FAILED.contains(&kind) {
            return None;
        }
        let response = object.get("response").unwrap_or(&object);
        if object.get("object").and_then(Value::as_str) == Some("response")
            || kind == "response.completed"
        {
            if let Some(Value::Array(items)) = response.get("output") {
                ordered.extend(items.iter().cloned());
            }
        } else if kind == "response.output_item.done"
            && let Some(item) = object.get("item")
        {
            done.push(item.clone());
        }
    }
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for item in ordered.into_iter().chain(done) {
        let Value::Object(fields) = &item else {
            continue;
        };
        let key = ["id", "call_id", "item_id"]
            .iter()
            .find_map(|k| {
                fields
                    .get(*k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .map_or_else(|| item.to_string(), str::to_owned);
        if !seen.insert(key) {
            continue;
        }
        let kind = fields.get("type").and_then(Value::as_str).unwrap_or("");
        if !NOT_RESENT.contains(&kind) {
            items.push(item);
        }
    }
    Some(items)
}

/// A response object (a whole answer, or the `response` of a lifecycle event).
#[derive(Debug, Default, Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(borrow, default)]
    output: Option<Vec<Item<'a>>>,
    #[serde(borrow, default)]
    output_text: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// One `output[]` item.
#[derive(Debug, Deserialize)]
struct Item<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<Vec<Part<'a>>>,
    #[serde(borrow, default)]
    summary: Option<Vec<Part<'a>>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Debug, Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u64>,
}

impl Usage {
    fn view(&self) -> UsageView {
        UsageView {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            completion_tokens_details: self.output_tokens_details.as_ref().map(|d| DetailsView {
                reasoning_tokens: d.reasoning_tokens,
            }),
        }
    }
}

impl Response<'_> {
    /// The error of a failed response.
    fn check(&self) -> Result<(), ErrorDetails> {
        if let Some(error) = self.error.as_ref().filter(|e| !e.is_null()) {
            return Err(server_error(error));
        }
        if self.status.as_deref() == Some("failed") {
            return Err(ErrorDetails::new(
                None,
                "ServerError",
                "the response failed (status \"failed\") without an error",
            ));
        }
        Ok(())
    }

    /// (answer, reasoning) of the output items: reasoning with the messages' text, else the
    /// messages' text, else the tool calls (name and arguments), else `output_text`.
    fn texts(&self) -> (String, String) {
        let (mut text, mut reasoning, mut tools) = (String::new(), String::new(), String::new());
        for item in self.output.iter().flatten() {
            match item.kind.as_deref() {
                Some("message") => {
                    push_parts(&mut text, item.content.as_deref(), "output_text");
                }
                Some("reasoning") => {
                    push_parts(&mut reasoning, item.summary.as_deref(), "summary_text");
                    push_parts(&mut reasoning, item.content.as_deref(), "reasoning_text");
                }
                Some("function_call") => {
                    tools.push_str(item.name.as_deref().unwrap_or(""));
                    tools.push_str(item.arguments.as_deref().unwrap_or(""));
                }
                _ => {}
            }
        }
        if !reasoning.is_empty() || !text.is_empty() {
            return (text, reasoning);
        }
        if !tools.is_empty() {
            return (tools, reasoning);
        }
        (
            self.output_text.as_deref().unwrap_or("").to_owned(),
            reasoning,
        )
    }
}

fn push_parts(into: &mut String, parts: Option<&[Part<'_>]>, kind: &str) {
    for part in parts.unwrap_or(&[]) {
        if part.kind.as_deref() == Some(kind) {
            into.push_str(part.text.as_deref().unwrap_or(""));
        }
    }
}

fn decode_whole(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let response: Response<'_> = serde_json::from_slice(&body).map_err(|e| {
        invalid(format!(
            "the response is not a Responses API JSON object ({e})"
        ))
    })?;
    response.check()?;
    if response.object.as_deref() != Some("response")
        && response.output.is_none()
        && response.output_text.is_none()
    {
        return Err(invalid(
            "the response is not a Responses API response object (no output)".into(),
        ));
    }
    let (output, reasoning) = response.texts();
    let usage = response.usage.as_ref().map(Usage::view);
    Ok(Decoded::whole(frames, output, reasoning, usage))
}

/// One streamed event.
#[derive(Debug, Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(default)]
    content_index: Option<u64>,
    #[serde(borrow, default)]
    response: Option<Response<'a>>,
    /// An `error` event's own fields, or its nested `error` object.
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

impl Event<'_> {
    /// The error an `error` event reports.
    fn error(&self) -> ErrorDetails {
        let error = match &self.error {
            Some(error) if !error.is_null() => error.clone(),
            _ => json!({"message": self.message, "code": self.code}),
        };
        server_error(&error)
    }
}

fn decode_stream(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    if frames.is_empty() {
        return Err(empty_stream());
    }
    let mut out = Decoded::default();
    // The (output, content) parts whose text came in deltas: their `done` event repeats it.
    let mut streamed: HashSet<(Option<u64>, Option<u64>)> = HashSet::new();
    sse_events(frames, |data, at| {
        if data.trim().is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: Event<'_> = serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        let delta = event.delta.as_deref().unwrap_or("");
        match event.kind.as_deref().unwrap_or("") {
            "response.output_text.delta" if !delta.is_empty() => {
                streamed.insert((event.output_index, event.content_index));
                out.times.push((at, true));
                out.output.push_str(delta);
            }
            "response.reasoning_text.delta" | "response.reasoning_summary_text.delta"
                if !delta.is_empty() =>
            {
                out.times.push((at, false));
                out.reasoning.push_str(delta);
            }
            "response.function_call_arguments.delta" if !delta.is_empty() => {
                out.times.push((at, true));
                out.output.push_str(delta);
            }
            "response.output_text.done" => {
                if streamed.contains(&(event.output_index, event.content_index)) {
                    // The text came already; the event still marks when the part ended.
                    out.times.push((at, true));
                } else if let Some(text) = event.text.as_deref().filter(|t| !t.is_empty()) {
                    out.times.push((at, true));
                    out.output.push_str(text);
                }
            }
            "response.completed" | "response.incomplete" => {
                out.finished = true;
                if let Some(usage) = event.response.as_ref().and_then(|r| r.usage.as_ref()) {
                    out.usage = Some(usage.view());
                }
            }
            "response.failed" => {
                let response = event.response.unwrap_or_default();
                response.check()?;
                return Err(ErrorDetails::new(
                    None,
                    "ServerError",
                    "the server sent response.failed without an error",
                ));
            }
            "error" | "response.error" => return Err(event.error()),
            _ => {}
        }
        Ok(())
    })?;
    if !out.finished {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} content events without response.completed",
                out.times.len()
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{event, extra, frames, settings, turn};

    /// A named SSE event with `data`.
    #[test]
    fn the_body_is_input_items_with_instructions_and_the_cap() {
        let mut t = turn(&["Hello"], Some(16));
        t.system = Some("Be brief.".into());
        let body = Responses
            .body(
                &settings(
                    "responses",
                    true,
                    extra(&[("temperature", Value::from(0.5))]),
                ),
                "m",
                &t,
                &[],
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"input":[{"role":"user","content":"Hello","type":"message"}],"model":"m","stream":true,"instructions":"Be brief.","max_output_tokens":16,"temperature":0.5}"#
        );
        assert_eq!(Responses.default_path(true), "/v1/responses");
    }

    #[test]
    fn media_become_input_parts_and_usage_is_asked_for_when_counted() {
        let mut t = turn(&["one", "two"], None);
        t.images = vec![
            "data:image/png;base64,AAAA".into(),
            "https://x/y.png".into(),
        ];
        t.audios = vec!["wav,UklG".into(), "data:audio/mp3;base64,SUQz".into()];
        t.videos = vec![String::new()];
        let mut s = settings(
            "responses",
            true,
            extra(&[("stream_options", json!({"x": 1}))]),
        );
        s.use_server_token_count = true;
        let body = Responses.body(&s, "m", &t, &[]).unwrap();
        assert_eq!(
            body["input"][0]["content"],
            json!([
                {"type": "input_text", "text": "one"},
                {"type": "input_text", "text": "two"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_image", "image_url": "https://x/y.png"},
                {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
            ])
        );
        assert_eq!(
            body["stream_options"],
            json!({"x": 1, "include_usage": true})
        );
        assert!(!body.contains_key("max_output_tokens"));
        let whole = Responses
            .body(
                &settings("responses", false, Value::Null),
                "m",
                &turn(&["x"], None),
                &[],
            )
            .unwrap();
        assert_eq!(whole["stream"], false);
        assert!(!whole.contains_key("stream_options"));
    }

    #[test]
    fn video_is_not_sent() {
        let mut t = turn(&["one"], None);
        t.videos = vec!["https://x/v.mp4".into()];
        let e = Responses
            .body(&settings("responses", false, Value::Null), "m", &t, &[])
            .unwrap_err();
        assert_eq!((e.code, e.kind.as_str()), (None, "NotImplementedError"));
        assert_eq!(
            e.message,
            "the Responses API takes no video input: use --endpoint-type chat for turns with \
             video, or leave the video out"
        );
    }

    /// Deltas in order, reasoning apart, the `done` text not counted twice, usage from
    /// `response.completed`.
    #[test]
    fn a_stream_is_timed_deltas_ending_with_usage() {
        let f = frames(&[
            (
                1,
                &(event(
                    &json!({"type": "response.created", "sequence_number": 0, "response": {"status": "in_progress", "output": []}}),
                ) + &event(
                    &json!({"type": "response.reasoning_text.delta", "item_id": "rs", "output_index": 0, "content_index": 0, "delta": "hmm"}),
                )),
            ),
            (
                2,
                &event(
                    &json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 1, "content_index": 0, "delta": "Hi"}),
                ),
            ),
            (
                3,
                &(event(
                    &json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 1, "content_index": 0, "delta": " there"}),
                ) + &event(
                    &json!({"type": "response.output_text.done", "item_id": "m", "output_index": 1, "content_index": 0, "text": "Hi there"}),
                )),
            ),
            (
                4,
                &event(&json!({"type": "response.completed", "response": {
                    "object": "response", "status": "completed",
                    "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi there"}]}],
                    "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
                              "output_tokens_details": {"reasoning_tokens": 1}}}})),
            ),
        ]);
        let d = Responses.decode(&f, true).unwrap();
        assert_eq!(d.output, "Hi there");
        assert_eq!(d.reasoning, "hmm");
        assert_eq!(d.times, [(1, false), (2, true), (3, true), (3, true)]);
        assert!(d.finished);
        let usage = d.usage.unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens,
                usage.reasoning()
            ),
            (Some(5), Some(3), Some(8), 1)
        );
    }

    #[test]
    fn a_done_event_alone_carries_its_text_and_incomplete_ends_a_stream() {
        let f = frames(&[(
            5,
            &(event(
                &json!({"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": "All at once"}),
            ) + &event(
                &json!({"type": "response.incomplete", "response": {"status": "incomplete", "usage": {"input_tokens": 2, "output_tokens": 4}}}),
            )),
        )]);
        let d = Responses.decode(&f, true).unwrap();
        assert_eq!(
            (d.output.as_str(), d.times.as_slice()),
            ("All at once", &[(5, true)][..])
        );
        assert_eq!(d.usage.unwrap().completion_tokens, Some(4));
    }

    #[test]
    fn failed_cut_short_and_malformed_streams_are_errors() {
        let delta = event(&json!({"type": "response.output_text.delta", "delta": "Hi"}));
        let cases = [
            (
                delta.clone(),
                "IncompleteStream",
                "without response.completed",
            ),
            (
                delta
                    + &event(
                        &json!({"type": "response.failed", "response": {"status": "failed",
                        "error": {"code": "server_error", "message": "The model crashed"}}}),
                    ),
                "ServerError",
                "The model crashed",
            ),
            (
                event(
                    &json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": null}),
                ),
                "ServerError",
                "Slow down",
            ),
            (
                "data: {\"type\":\"response.output_text.delta\",\"del\n\n".to_owned(),
                "StreamError",
                "malformed JSON",
            ),
        ];
        for (body, kind, needle) in cases {
            let e = Responses.decode(&frames(&[(1, &body)]), true).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{e:?}");
        }
        assert_eq!(Responses.decode(&[], true).unwrap_err().kind, "StreamError");
    }

    #[test]
    fn a_whole_answer_reads_output_items_and_usage() {
        let body = json!({
            "id": "resp_1", "object": "response", "status": "completed", "error": null,
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
                {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Hi"}, {"type": "output_text", "text": " there"}]}
            ],
            "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
        });
        let d = Responses
            .decode(&frames(&[(9, &body.to_string())]), false)
            .unwrap();
        assert_eq!(
            (d.output.as_str(), d.reasoning.as_str()),
            ("Hi there", "think")
        );
        assert_eq!(d.times, [(9, true)]);
        assert_eq!(d.usage.unwrap().prompt_tokens, Some(5));
        let tool = json!({"object": "response", "output": [
            {"type": "function_call", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}]});
        let d = Responses
            .decode(&frames(&[(9, &tool.to_string())]), false)
            .unwrap();
        assert_eq!(d.output, "get_weather{\"city\":\"Oslo\"}");
        for (body, kind) in [
            (r#"{"choices":[]}"#, "InvalidResponse"),
            ("<html>bad gateway</html>", "InvalidResponse"),
            (
                r#"{"object":"response","status":"failed","error":{"code":"server_error","message":"boom"}}"#,
                "ServerError",
            ),
            (
                r#"{"object":"response","status":"failed","error":null}"#,
                "ServerError",
            ),
        ] {
            let e = Responses.decode(&frames(&[(1, body)]), false).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
        }
    }

    /// The next turn resends the system prompt as instructions, the user context, the user
    /// item and the server's output items (not its reasoning), or the answer's text.
    #[test]
    fn history_resends_output_items_or_the_text() {
        let mut first = turn(&["q1"], Some(4));
        first.system = Some("Be brief.".into());
        first.user_context = Some("ctx".into());
        let body = Responses
            .body(&settings("responses", false, Value::Null), "m", &first, &[])
            .unwrap();
        assert_eq!(
            body["input"],
            json!([{"type": "message", "role": "user", "content": "ctx"},
                   {"role": "user", "content": "q1", "type": "message"}])
        );
        let answer = json!({"object": "response", "status": "completed", "output": [
            {"id": "rs_1", "type": "reasoning", "summary": []},
            {"id": "msg_1", "type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "a1"}]}
        ]});
        let history = Responses.history(&first, &frames(&[(1, &answer.to_string())]), false);
        let body = Responses
            .body(
                &settings("responses", false, Value::Null),
                "m",
                &turn(&["q2"], Some(4)),
                &history,
            )
            .unwrap();
        assert_eq!(body["instructions"], "Be brief.");
        assert_eq!(
            body["input"],
            json!([
                {"type": "message", "role": "user", "content": "ctx"},
                {"role": "user", "content": "q1", "type": "message"},
                {"id": "msg_1", "type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "a1"}]},
                {"role": "user", "content": "q2", "type": "message"},
            ])
        );
        // A stream: items from response.completed and output_item.done, each once.
        let stream = event(&json!({"type": "response.output_text.delta", "delta": "a1"}))
            + &event(
                &json!({"type": "response.output_item.done", "item": {"id": "msg_1", "type": "message", "content": []}}),
            )
            + &event(
                &json!({"type": "response.output_item.done", "item": {"id": "fc_1", "type": "function_call", "name": "f", "arguments": "{}"}}),
            )
            + &event(
                &json!({"type": "response.completed", "response": {"status": "completed",
                "output": [{"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a1"}]}]}}),
            );
        let history = Responses.history(&turn(&["q1"], None), &frames(&[(1, &stream)]), true);
        let ids: Vec<&str> = history
            .iter()
            .skip(1)
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["msg_1", "fc_1"]);
        assert_eq!(history[1]["content"][0]["text"], "a1");
        // No items (an older server): the text, as an assistant message.
        let bare = frames(&[(1, r#"{"object":"response","output_text":"a1"}"#)]);
        let history = Responses.history(&turn(&["q1"], None), &bare, false);
        assert_eq!(
            history[1],
            json!({"role": "assistant", "content": "a1", "type": "message"})
        );
    }
}
