//! `messages`: Anthropic's Messages API (`/v1/messages`). A turn is a user message after the
//! conversation so far: its text (one text) or `text` and `image` blocks (a `data:` URI as a
//! base64 source, anything else as a URL source). The system prompt is the top-level `system`,
//! sent with every turn; `max_tokens` is required by the API and is `--osl`, or 1024 without
//! it, as the Python AIPerf sends. `stream: true` is sent only when streaming. The API key goes
//! in `x-api-key`, with `anthropic-version: 2023-06-01`.
//!
//! A stream is typed events: `message_start` (the input tokens in its `usage`),
//! `content_block_delta` with a `text_delta` (the answer), `thinking_delta` (reasoning) or
//! `input_json_delta` (a tool call's input, counted as answer), `message_delta` (the stop
//! reason and the output tokens), `message_stop`; an `error` event is an error. A whole answer
//! is a message whose `content` blocks are `text`, `thinking` and `tool_use`, with `usage`.
//! Input tokens are `input_tokens` plus any cache reads and writes the server reports apart.
//!
//! Later turns resend the answer as an assistant message: its thinking blocks (with their
//! signatures), text and tool calls when it had thinking or tool calls, else its text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aiperf_openai::view::{UsageView, error_parts};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Decoded, Endpoint, add_extra_inputs, empty_stream, invalid_answer, malformed_event, sse_events,
    unsupported_input, whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

/// The API version sent in `anthropic-version` (a `--header` of that name wins).
const VERSION: &str = "2023-06-01";

/// `max_tokens` when the turn asks for no output length (the API requires one).
const DEFAULT_MAX_TOKENS: u32 = 1024;

#[derive(Debug, Clone)]
pub(super) struct Messages;

impl Endpoint for Messages {
    fn name(&self) -> &'static str {
        "messages"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/messages"
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut system = turn.system.as_deref();
        let mut messages = Vec::with_capacity(history.len() + 2);
        if let Some(context) = &turn.user_context {
            messages.push(json!({"role": "user", "content": context}));
        }
        for item in history {
            if item.get("role").and_then(Value::as_str) == Some("system") {
                system = system.or_else(|| item.get("content").and_then(Value::as_str));
            } else {
                messages.push(item.clone());
            }
        }
        messages.push(user_message(turn)?);
        let mut body = Map::new();
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert("messages".into(), Value::Array(messages));
        body.insert(
            "max_tokens".into(),
            Value::from(turn.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        );
        if settings.streaming {
            body.insert("stream".into(), Value::Bool(true));
        }
        if let Some(system) = system {
            body.insert("system".into(), Value::String(system.to_owned()));
        }
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn history(&self, turn: &Turn, answer: &[(u64, Bytes)], streaming: bool) -> Vec<Value> {
        let mut out = Vec::with_capacity(3);
        if let Some(system) = &turn.system {
            // Carries the system prompt to later turns, which send it as `system`.
            out.push(json!({"role": "system", "content": system}));
        }
        if let Some(context) = &turn.user_context {
            out.push(json!({"role": "user", "content": context}));
        }
        // The turn was sent, so its message was built.
        out.extend(user_message(turn).ok());
        if let Some(reply) = assistant_message(answer, streaming) {
            out.push(reply);
        } else {
            let text = (self.decode(answer, streaming))
                .map(Decoded::answer_text)
                .unwrap_or_default();
            if !text.is_empty() {
                out.push(json!({"role": "assistant", "content": text}));
            }
        }
        out
    }

    fn auth_headers(&self, key: Option<&str>) -> Vec<(http::HeaderName, String)> {
        let mut headers = Vec::with_capacity(2);
        if let Some(key) = key {
            headers.push((http::HeaderName::from_static("x-api-key"), key.to_owned()));
        }
        headers.push((
            http::HeaderName::from_static("anthropic-version"),
            VERSION.to_owned(),
        ));
        headers
    }

    fn usage_hint(&self) -> &'static str {
        "the server reports usage in message_start and message_delta (streamed) or the message"
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        if streaming {
            decode_stream(frames)
        } else {
            decode_whole(frames)
        }
    }
}

/// The user message of `turn`: its text as a string, or text and image blocks. The API takes
/// neither audio nor video: a turn with either is not sent.
fn user_message(turn: &Turn) -> Result<Value, ErrorDetails> {
    for (media, name) in [(&turn.audios, "audio"), (&turn.videos, "video")] {
        if media.iter().any(|m| !m.is_empty()) {
            return Err(unsupported_input(format!(
                "the Anthropic Messages API takes no {name} input: use another endpoint type, \
                 or leave the {name} out"
            )));
        }
    }
    let content = match (turn.texts.as_slice(), turn.images.is_empty()) {
        ([one], true) => Value::String(one.clone()),
        _ => {
            let mut blocks: Vec<Value> = (turn.texts.iter())
                .filter(|t| !t.is_empty())
                .map(|t| json!({"type": "text", "text": t}))
                .collect();
            blocks.extend(
                (turn.images.iter())
                    .filter(|i| !i.is_empty())
                    .map(|i| image_block(i)),
            );
            if blocks.is_empty() {
                Value::String(String::new())
            } else {
                Value::Array(blocks)
            }
        }
    };
    Ok(json!({"role": turn.role, "content": content}))
}

/// An image block: a `data:` URI as a base64 source with its media type, else a URL source.
fn image_block(image: &str) -> Value {
    let source = match image.strip_prefix("data:") {
        Some(rest) => {
            let (header, data) = rest.split_once(',').unwrap_or((rest, ""));
            let media_type = header.split(';').next().filter(|m| !m.is_empty());
            json!({
                "type": "base64",
                "media_type": media_type.unwrap_or("image/png"),
                "data": data,
            })
        }
        None => json!({"type": "url", "url": image}),
    };
    json!({"type": "image", "source": source})
}

/// The answer as an assistant message with its thinking blocks (signatures kept), text and
/// tool calls, when it had thinking or tool calls (`None` otherwise: the text is enough).
fn assistant_message(answer: &[(u64, Bytes)], streaming: bool) -> Option<Value> {
    let mut thinking: BTreeMap<u64, Map<String, Value>> = BTreeMap::new();
    let mut tools: BTreeMap<u64, (Map<String, Value>, String)> = BTreeMap::new();
    let mut text = String::new();
    let mut absorb = |event: Value| {
        let Value::Object(mut event) = event else {
            return;
        };
        let index = event.get("index").and_then(Value::as_u64);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message" => {
                let Some(Value::Array(blocks)) = event.remove("content") else {
                    return;
                };
                for block in blocks {
                    let Value::Object(mut block) = block else {
                        continue;
                    };
                    match block.remove("type").as_ref().and_then(Value::as_str) {
                        Some("text") => {
                            text.push_str(block.get("text").and_then(Value::as_str).unwrap_or(""));
                        }
                        Some("thinking") => {
                            thinking.insert(thinking.len() as u64, block);
                        }
                        Some("tool_use") => {
                            tools.insert(tools.len() as u64, (block, String::new()));
                        }
                        _ => {}
                    }
                }
            }
            "content_block_start" => {
                let Some(Value::Object(mut block)) = event.remove("content_block") else {
                    return;
                };
                match block.remove("type").as_ref().and_then(Value::as_str) {
                    Some("thinking") => {
                        for field in ["thinking", "signature"] {
                            block.entry(field).or_insert(Value::String(String::new()));
                        }
                        thinking.insert(index.unwrap_or(thinking.len() as u64), block);
                    }
                    Some("tool_use") => {
                        tools.insert(index.unwrap_or(tools.len() as u64), (block, String::new()));
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = event.get("delta").cloned().unwrap_or(Value::Null);
                let field = |name: &str| delta.get(name).and_then(Value::as_str).unwrap_or("");
                let append = |block: &mut Map<String, Value>, name: &str, more: &str| {
                    let old = block.get(name).and_then(Value::as_str).unwrap_or("");
                    let joined = format!("{old}{more}");
                    block.insert(name.to_owned(), Value::String(joined));
                };
                match (delta.get("type").and_then(Value::as_str), index) {
                    (Some("text_delta"), _) => text.push_str(field("text")),
                    (Some("thinking_delta"), Some(i)) => {
                        if let Some(block) = thinking.get_mut(&i) {
                            append(block, "thinking", field("thinking"));
                        }
                    }
                    (Some("signature_delta"), Some(i)) => {
                        if let Some(block) = thinking.get_mut(&i) {
                            append(block, "signature", field("signature"));
                        }
                    }
                    (Some("input_json_delta"), Some(i)) => {
                        if let Some((_, json)) = tools.get_mut(&i) {
                            json.push_str(field("partial_json"));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    };
    if streaming {
        sse_events(answer, |data, _| {
            if let Ok(event) = serde_json::from_str::<Value>(data) {
                absorb(event);
            }
            Ok(())
        })
        .ok()?;
    } else {
        absorb(serde_json::from_slice(&whole(answer)).ok()?);
    }
    if thinking.is_empty() && tools.is_empty() {
        return None;
    }
    let mut content = Vec::with_capacity(thinking.len() + tools.len() + 1);
    for (_, block) in thinking {
        let mut out = Map::from_iter([("type".to_owned(), json!("thinking"))]);
        out.extend(block);
        content.push(Value::Object(out));
    }
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for (_, (block, input)) in tools {
        let mut out = Map::from_iter([("type".to_owned(), json!("tool_use"))]);
        out.extend(block);
        if !input.is_empty() {
            // Input that is not JSON is kept as text, for the server to refuse visibly.
            let parsed = serde_json::from_str(&input).unwrap_or(Value::String(input));
            out.insert("input".into(), parsed);
        }
        out.entry("input").or_insert(json!({}));
        content.push(Value::Object(out));
    }
    Some(json!({"role": "assistant", "content": content}))
}

/// The token counts of `message_start`, `message_delta` or a whole message.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

impl Usage {
    /// `later`'s counts, with this one's where `later` has none (`message_delta` may leave
    /// out the input counts of `message_start`).
    fn merge(self, later: Self) -> Self {
        Self {
            input_tokens: later.input_tokens.or(self.input_tokens),
            output_tokens: later.output_tokens.or(self.output_tokens),
            cache_read_input_tokens: later
                .cache_read_input_tokens
                .or(self.cache_read_input_tokens),
            cache_creation_input_tokens: later
                .cache_creation_input_tokens
                .or(self.cache_creation_input_tokens),
        }
    }

    /// Input tokens are `input_tokens` plus the cache reads and writes counted apart.
    fn view(self) -> UsageView {
        let cached = (self.cache_read_input_tokens.unwrap_or(0))
            + self.cache_creation_input_tokens.unwrap_or(0);
        UsageView {
            prompt_tokens: self.input_tokens.map(|n| n + cached),
            completion_tokens: self.output_tokens,
            ..UsageView::default()
        }
    }
}

/// A whole message, or one streamed event.
#[derive(Debug, Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    message: Option<Start>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(borrow, default)]
    content: Option<Vec<Block<'a>>>,
}

#[derive(Debug, Deserialize)]
struct Start {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    input: Option<Value>,
}

impl Event<'_> {
    /// The error of an `error` event or body: `{"type": "error", "error": {"type", "message"}}`.
    fn check(&self) -> Result<(), ErrorDetails> {
        if self.kind.as_deref() != Some("error") {
            return Ok(());
        }
        let error = self.error.clone().unwrap_or(Value::Null);
        let (code, message) = error_parts(&error);
        let message = match error.get("type").and_then(Value::as_str) {
            Some(kind) => format!("{kind}: {message}"),
            None => message,
        };
        Err(ErrorDetails::new(code, "ServerError", message))
    }
}

fn decode_whole(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let message: Event<'_> = serde_json::from_slice(&body).map_err(|e| {
        invalid(format!(
            "the response is not an Anthropic message JSON object ({e})"
        ))
    })?;
    message.check()?;
    if message.kind.as_deref() != Some("message") {
        return Err(invalid(format!(
            "the response is not an Anthropic message (type {:?})",
            message.kind.as_deref().unwrap_or("missing")
        )));
    }
    let Some(blocks) = &message.content else {
        return Err(invalid("the message has no content".into()));
    };
    let (mut text, mut thinking, mut tools) = (String::new(), String::new(), String::new());
    for block in blocks {
        match block.kind.as_deref() {
            Some("text") => text.push_str(block.text.as_deref().unwrap_or("")),
            Some("thinking") => thinking.push_str(block.thinking.as_deref().unwrap_or("")),
            Some("tool_use") => {
                tools.push_str(block.name.as_deref().unwrap_or(""));
                if let Some(input) = block.input.as_ref().filter(|i| !is_empty(i)) {
                    tools.push_str(&input.to_string());
                }
            }
            _ => {}
        }
    }
    // With thinking, the answer is the text; otherwise the text and any tool calls.
    let output = if thinking.is_empty() {
        text + &tools
    } else {
        text
    };
    let usage = message.usage.map(Usage::view);
    Ok(Decoded::whole(frames, output, thinking, usage))
}

/// `{}`, `[]`, `""` or `null`: a tool input that generated nothing.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn decode_stream(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    if frames.is_empty() {
        return Err(empty_stream());
    }
    let mut out = Decoded::default();
    let mut usage: Option<Usage> = None;
    let mut stopped = false;
    sse_events(frames, |data, at| {
        if data.trim().is_empty() {
            return Ok(());
        }
        let event: Event<'_> = serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        event.check()?;
        let mut counts = event.usage;
        match event.kind.as_deref().unwrap_or("") {
            "message_start" => counts = event.message.and_then(|m| m.usage),
            "content_block_delta" => {
                let Some(delta) = &event.delta else {
                    return Ok(());
                };
                let (text, answer) = match delta.kind.as_deref() {
                    Some("text_delta") => (delta.text.as_deref(), true),
                    Some("thinking_delta") => (delta.thinking.as_deref(), false),
                    Some("input_json_delta") => (delta.partial_json.as_deref(), true),
                    _ => (None, false),
                };
                if let Some(text) = text.filter(|t| !t.is_empty()) {
                    out.times.push((at, answer));
                    let into = if answer {
                        &mut out.output
                    } else {
                        &mut out.reasoning
                    };
                    into.push_str(text);
                }
            }
            "message_delta" => {
                out.finished |= event
                    .delta
                    .as_ref()
                    .is_some_and(|d| d.stop_reason.is_some());
            }
            "message_stop" => stopped = true,
            _ => {}
        }
        if let Some(counts) = counts {
            usage = Some(usage.unwrap_or_default().merge(counts));
        }
        Ok(())
    })?;
    if !stopped && !out.finished {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} content events without message_delta's stop_reason \
                 or message_stop",
                out.times.len()
            ),
        ));
    }
    out.finished = true;
    out.usage = usage.map(Usage::view);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{event, frames, settings, turn};

    #[test]
    fn the_body_has_a_top_level_system_and_a_required_max_tokens() {
        let mut t = turn(&["Hello"], Some(16));
        t.system = Some("Be brief.".into());
        let mut s = settings("messages", true, Value::Null);
        s.extra_inputs.insert("temperature".into(), json!(0.5));
        let body = Messages.body(&s, "m", &t, &[]).unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"Hello"}],"max_tokens":16,"stream":true,"system":"Be brief.","temperature":0.5}"#
        );
        // Without --osl: 1024 tokens, and no `stream` when not streaming.
        let body = Messages
            .body(
                &settings("messages", false, Value::Null),
                "m",
                &turn(&["Hello"], None),
                &[],
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"Hello"}],"max_tokens":1024}"#
        );
    }

    #[test]
    fn images_are_base64_or_url_sources() {
        let mut t = turn(&["Describe"], None);
        t.images = vec![
            "data:image/jpeg;base64,/9j/4AAQ".into(),
            "https://example.com/cat.png".into(),
        ];
        t.audios = vec![String::new()];
        let body = Messages
            .body(&settings("messages", false, Value::Null), "m", &t, &[])
            .unwrap();
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "Describe"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            ])
        );
    }

    #[test]
    fn audio_and_video_are_not_sent() {
        for (audio, video, name) in [("wav,UklG", "", "audio"), ("", "https://x/v.mp4", "video")] {
            let mut t = turn(&["Describe"], None);
            t.audios = vec![audio.into()];
            t.videos = vec![video.into()];
            let e = Messages
                .body(&settings("messages", false, Value::Null), "m", &t, &[])
                .unwrap_err();
            assert_eq!(
                (e.code, e.kind.as_str(), e.message),
                (
                    None,
                    "NotImplementedError",
                    format!(
                        "the Anthropic Messages API takes no {name} input: use another endpoint \
                         type, or leave the {name} out"
                    )
                )
            );
        }
    }

    #[test]
    fn the_key_goes_in_x_api_key_with_the_version() {
        let names = |key| {
            Messages
                .auth_headers(key)
                .into_iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Some("sk-ant")),
            ["x-api-key: sk-ant", "anthropic-version: 2023-06-01"]
        );
        assert_eq!(names(None), ["anthropic-version: 2023-06-01"]);
    }

    /// Text and thinking deltas timed, usage merged from message_start and message_delta
    /// (cache reads counted as input).
    #[test]
    fn a_stream_is_timed_deltas_with_merged_usage() {
        let f = frames(&[
            (
                1,
                &(event(
                    &json!({"type": "message_start", "message": {"type": "message", "content": [],
                    "usage": {"input_tokens": 5, "cache_read_input_tokens": 2, "output_tokens": 1}}}),
                ) + &event(&json!({"type": "ping"}))
                    + &event(
                        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
                    )
                    + &event(
                        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
                    )),
            ),
            (
                2,
                &(event(
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
                ) + &event(&json!({"type": "content_block_stop", "index": 0}))
                    + &event(
                        &json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
                    )
                    + &event(
                        &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
                    )),
            ),
            (
                3,
                &(event(
                    &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " there"}}),
                ) + &event(&json!({"type": "content_block_stop", "index": 1}))
                    + &event(
                        &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 3}}),
                    )
                    + &event(&json!({"type": "message_stop"}))),
            ),
        ]);
        let d = Messages.decode(&f, true).unwrap();
        assert_eq!(
            (d.output.as_str(), d.reasoning.as_str()),
            ("Hi there", "hmm")
        );
        assert_eq!(d.times, [(1, false), (2, true), (3, true)]);
        let usage = d.usage.unwrap();
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens),
            (Some(7), Some(3))
        );
        // The next turn resends the thinking block with its signature, then the text.
        let history = Messages.history(&turn(&["q"], None), &f, true);
        assert_eq!(
            history[1],
            json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Hi there"}]})
        );
    }

    #[test]
    fn error_cut_short_and_malformed_streams_are_errors() {
        let delta = event(
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        );
        let cases = [
            (delta.clone(), "IncompleteStream", "without message_delta"),
            (
                delta
                    + &event(
                        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                    ),
                "ServerError",
                "overloaded_error: Overloaded",
            ),
            (
                "event: content_block_delta\ndata: {\"type\":\"content_blo\n\n".to_owned(),
                "StreamError",
                "malformed JSON",
            ),
        ];
        for (body, kind, needle) in cases {
            let e = Messages.decode(&frames(&[(1, &body)]), true).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{e:?}");
        }
        assert_eq!(Messages.decode(&[], true).unwrap_err().kind, "StreamError");
    }

    #[test]
    fn a_whole_answer_reads_content_blocks_and_usage() {
        let body = json!({
            "id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 20}
        });
        let f = frames(&[(4, &body.to_string())]);
        let d = Messages.decode(&f, false).unwrap();
        assert_eq!(d.output, r#"Let me check.get_weather{"city":"Oslo"}"#);
        assert_eq!(d.times, [(4, true)]);
        assert_eq!(d.usage.unwrap().prompt_tokens, Some(10));
        // The tool call is resent with the text.
        let history = Messages.history(&turn(&["q"], None), &f, false);
        assert_eq!(history[1]["content"][1]["name"], "get_weather");
        assert_eq!(history[1]["content"][1]["input"], json!({"city": "Oslo"}));
        // A plain answer is resent as text.
        let plain = frames(&[(
            4,
            r#"{"type":"message","content":[{"type":"text","text":"a1"}]}"#,
        )]);
        let history = Messages.history(&turn(&["q"], None), &plain, false);
        assert_eq!(history[1], json!({"role": "assistant", "content": "a1"}));
        for (body, kind) in [
            (
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#,
                "ServerError",
            ),
            (r#"{"choices":[]}"#, "InvalidResponse"),
            (r#"{"type":"message"}"#, "InvalidResponse"),
            ("<html>bad gateway</html>", "InvalidResponse"),
        ] {
            let e = Messages.decode(&frames(&[(1, body)]), false).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
        }
    }

    /// The system prompt of the first turn is sent as `system` with every later turn, and
    /// the conversation's user context leads the messages of every turn.
    #[test]
    fn history_carries_the_system_prompt_and_the_user_context() {
        let mut first = turn(&["q1"], None);
        first.system = Some("Be brief.".into());
        first.user_context = Some("ctx".into());
        let body = Messages
            .body(&settings("messages", false, Value::Null), "m", &first, &[])
            .unwrap();
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "ctx"}, {"role": "user", "content": "q1"}])
        );
        let answer = frames(&[(
            1,
            r#"{"type":"message","content":[{"type":"text","text":"a1"}]}"#,
        )]);
        let history = Messages.history(&first, &answer, false);
        let body = Messages
            .body(
                &settings("messages", false, Value::Null),
                "m",
                &turn(&["q2"], None),
                &history,
            )
            .unwrap();
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "ctx"},
                   {"role": "user", "content": "q1"},
                   {"role": "assistant", "content": "a1"},
                   {"role": "user", "content": "q2"}])
        );
    }
}
