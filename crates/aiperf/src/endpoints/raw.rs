//! `raw`: for APIs that no other type speaks. Nothing is appended to the URL: `--url` (or
//! `--endpoint`) names the whole endpoint. Each body is sent as the dataset holds it: the
//! turn's text, when it is a JSON object (an `--input-file` whose texts are whole request
//! bodies, replayed verbatim as the Python AIPerf replays raw payloads); with
//! `--extra-inputs payload_template:<template>` the bodies are rendered as `template` renders
//! them instead.
//!
//! Answers, for `raw` and `template` alike, are read whatever their content type says: a JSON
//! body, a stream of server-sent events (each event read as one body), or plain text (which is
//! the output). The text of a JSON body is the value at
//! `--extra-inputs response_field:<JMESPath>` (e.g. `choices[0].message.content`), or, when it
//! finds nothing (or none is given), the first the usual shapes hold: embeddings (`data[].
//! embedding`, `embeddings`, `embedding`) and rankings (`rankings`, `results`) count as an
//! answer without text; then `text`, `content`, `response`, `output`, `result` (a string or a
//! list of strings), then OpenAI's `choices[0]` `text`, `message.content` or `delta.content`.
//! A top-level `usage` object (OpenAI's) is read for `--use-server-token-count`; an `error`
//! object in a body without text is the server's error. A stream of OpenAI chunks (`choices`)
//! that stops without `[DONE]` or a `finish_reason` was cut short.
//!
//! Shapes are unknown in advance, so bodies are read as `serde_json::Value` (which JMESPath
//! searches) rather than as borrowed structs.

use std::sync::Arc;

use aiperf_openai::view::UsageView;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::template::{Compiled, RESPONSE_FIELD, TEMPLATE};
use super::{
    Decoded, Endpoint, invalid_answer, invalid_turn, malformed_event, server_error, snippet,
    sse_events, whole,
};
use crate::UsageError;
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

/// Where `raw` and `template` find the server's token counts.
pub(super) const USAGE_HINT: &str = "the server's counts are read from a top-level \"usage\" \
     object; streamed OpenAI answers need \"stream_options\": {\"include_usage\": true} in the body";

/// `raw`, with what a run compiled of its settings (see [`Compiled`]).
#[derive(Debug, Clone)]
pub(super) struct Raw(Compiled);

impl Raw {
    /// The type before a run configures it.
    pub(super) const UNCONFIGURED: Self = Self(Compiled::NONE);
}

impl Endpoint for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        ""
    }

    fn configure(&self, settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
        Ok(Arc::new(Self(Compiled::new(settings)?)))
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        if settings.extra_inputs.contains_key(TEMPLATE) {
            return self.0.render_body(settings, model, turn);
        }
        verbatim(turn)
    }

    fn usage_hint(&self) -> &'static str {
        USAGE_HINT
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        decode_answer(frames, self.0.field(), OnMiss::AutoDetect)
    }
}

/// The turn's text as the request body; a text that is not a JSON object is not sent.
fn verbatim(turn: &Turn) -> Result<Map<String, Value>, ErrorDetails> {
    let text = turn.texts.first().map_or("", String::as_str);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(invalid_turn(format!(
            "--endpoint-type raw sends each text of the input file as a request body, but this \
             one is not a JSON object: {:?}",
            snippet(text.as_bytes())
        ))),
    }
}

/// A compiled `response_field`.
#[derive(Debug)]
pub(super) struct Field {
    source: String,
    expression: jmespath::Expression<'static>,
}

/// Compiles a `response_field`, or says what is wrong with it.
pub(super) fn compile_field(source: &str) -> Result<Field, String> {
    jmespath::compile(source)
        .map(|expression| Field {
            source: source.to_owned(),
            expression,
        })
        .map_err(|e| {
            format!(
                "--extra-inputs {RESPONSE_FIELD}: {source:?} is not a JMESPath expression ({}); \
                 e.g. {RESPONSE_FIELD}:choices[0].message.content",
                e.reason
            )
        })
}

/// What a `response_field` that finds nothing means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnMiss {
    /// Auto-detect the text (`raw`).
    AutoDetect,
    /// The answer (or event) has no text (`template`).
    NoText,
}

/// Decodes an answer, its text found with `field` first when there is one.
pub(super) fn decode_answer(
    frames: &[(u64, Bytes)],
    field: Option<&Field>,
    on_miss: OnMiss,
) -> Result<Decoded, ErrorDetails> {
    Reader { field, on_miss }.decode(frames)
}

/// What one body or event held.
#[derive(Debug, PartialEq)]
enum Found {
    Text(String),
    /// Embeddings or rankings: an answer without text.
    Other,
    Nothing,
}

impl Found {
    fn text(s: &str) -> Self {
        if s.is_empty() {
            Self::Nothing
        } else {
            Self::Text(s.to_owned())
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Reader<'f> {
    field: Option<&'f Field>,
    on_miss: OnMiss,
}

impl Reader<'_> {
    fn decode(self, frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
        if frames.iter().all(|(_, b)| b.is_empty()) {
            return Ok(Decoded::default());
        }
        if is_event_stream(frames) {
            self.decode_stream(frames)
        } else {
            self.decode_whole(frames)
        }
    }

    fn decode_whole(self, frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
        let body = whole(frames);
        let at = frames.last().map_or(0, |f| f.0);
        let mut out = Decoded {
            finished: true,
            ..Decoded::default()
        };
        let found = match serde_json::from_slice::<Value>(&body) {
            Ok(json) => {
                out.usage = usage(&json);
                let found = self.read(&json)?;
                if found == Found::Nothing && self.strict() {
                    return Err(self.missed(&format!("the response {:?}", snippet(&body))));
                }
                found
            }
            Err(e) if looks_like_json(&body) => {
                let why = format!("the response is malformed JSON ({e})");
                return Err(invalid_answer(why, &body));
            }
            Err(_) => Found::text(&String::from_utf8_lossy(&body)),
        };
        add(&mut out, found, at);
        Ok(out)
    }

    fn decode_stream(self, frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
        let mut out = Decoded::default();
        let (mut done, mut chunks, mut events) = (false, false, 0usize);
        sse_events(frames, |data, at| {
            if data.trim() == "[DONE]" {
                done = true;
                return Ok(());
            }
            if data.trim().is_empty() {
                return Ok(());
            }
            events += 1;
            let found = match serde_json::from_str::<Value>(data) {
                Ok(json) => {
                    let choice = json.get("choices").and_then(|c| c.get(0));
                    chunks |= json.get("choices").is_some_and(Value::is_array);
                    out.finished |= choice
                        .and_then(|c| c.get("finish_reason"))
                        .is_some_and(|r| !r.is_null());
                    if let Some(u) = usage(&json) {
                        out.usage = Some(u);
                    }
                    self.read(&json)?
                }
                Err(e) if looks_like_json(data.as_bytes()) => {
                    return Err(malformed_event(&e, data));
                }
                Err(_) => Found::text(data),
            };
            add(&mut out, found, at);
            Ok(())
        })?;
        if chunks && !done && !out.finished && !out.times.is_empty() {
            return Err(ErrorDetails::new(
                None,
                "IncompleteStream",
                format!(
                    "the stream ended after {} content events without a finish_reason or \
                     data: [DONE]",
                    out.times.len()
                ),
            ));
        }
        if out.times.is_empty() && events > 0 && self.strict() {
            return Err(self.missed(&format!("any of the {events} events of the stream")));
        }
        out.finished |= done;
        Ok(out)
    }

    /// The text of one JSON body or event, or the server's error.
    fn read(self, json: &Value) -> Result<Found, ErrorDetails> {
        if let Some(field) = self.field {
            let value = field
                .expression
                .search(json)
                .ok()
                .and_then(|v| serde_json::to_value(&*v).ok())
                .filter(truthy);
            match value.map(|v| convert(&v)) {
                Some(Found::Nothing) | None if self.on_miss == OnMiss::AutoDetect => {}
                Some(found) => return Ok(found),
                None => return Ok(Found::Nothing),
            }
        }
        let found = auto_detect(json);
        if found == Found::Nothing
            && let Some(error) = json.get("error").filter(|e| !e.is_null())
        {
            return Err(server_error(error));
        }
        Ok(found)
    }

    /// A `response_field` that finds nothing leaves the answer without text (`template`).
    fn strict(self) -> bool {
        self.field.is_some() && self.on_miss == OnMiss::NoText
    }

    /// An answer in which `response_field` found nothing (`template`).
    fn missed(self, what: &str) -> ErrorDetails {
        let field = self.field.map_or("", |f| f.source.as_str());
        ErrorDetails::new(
            None,
            "InvalidResponse",
            format!("--extra-inputs {RESPONSE_FIELD} {field:?} found no text in {what}"),
        )
    }
}

/// Adds what a body or event arriving at `at` held.
fn add(out: &mut Decoded, found: Found, at: u64) {
    match found {
        Found::Text(text) => {
            out.times.push((at, true));
            out.output.push_str(&text);
        }
        Found::Other => out.times.push((at, true)),
        Found::Nothing => {}
    }
}

/// The answer is a stream of server-sent events (it starts with an SSE field), not a body.
pub(super) fn is_event_stream(frames: &[(u64, Bytes)]) -> bool {
    let head: Vec<u8> = frames
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .skip_while(u8::is_ascii_whitespace)
        .take(6)
        .collect();
    [&b"data:"[..], b"event:", b"id:", b"retry:", b":"]
        .iter()
        .any(|p| head.starts_with(p))
}

/// A body meant as JSON (an object or a list), whether or not it parses.
fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// A value Python counts as true (what the Python AIPerf tests a found value with).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A found value: a string is text; a list of vectors, a vector or a list of objects is an
/// answer without text (embeddings, rankings).
fn convert(value: &Value) -> Found {
    match value {
        Value::String(s) => Found::text(s),
        Value::Array(items) => match items.first() {
            Some(Value::Array(inner)) if inner.first().is_some_and(Value::is_number) => {
                Found::Other
            }
            Some(Value::Number(_) | Value::Object(_)) => Found::Other,
            _ => Found::Nothing,
        },
        _ => Found::Nothing,
    }
}

/// The answer of the usual shapes, in the order the Python AIPerf tries them.
fn auto_detect(json: &Value) -> Found {
    let Value::Object(obj) = json else {
        return convert(json);
    };
    if let Some(Value::Array(data)) = obj.get("data")
        && data.first().and_then(|d| d.get("object")) == Some(&Value::from("embedding"))
        && data.iter().any(|d| d.get("embedding").is_some())
    {
        return Found::Other;
    }
    for key in ["embeddings", "embedding"] {
        if let Some(Value::Array(v)) = obj.get(key)
            && v.first().is_some_and(|x| x.is_number() || x.is_array())
        {
            return Found::Other;
        }
    }
    if ["rankings", "results"]
        .iter()
        .any(|k| obj.get(*k).is_some_and(Value::is_array))
    {
        return Found::Other;
    }
    for key in ["text", "content", "response", "output", "result"] {
        match obj.get(key) {
            Some(Value::String(s)) => return Found::text(s),
            Some(Value::Array(items))
                if !items.is_empty() && items.iter().all(Value::is_string) =>
            {
                return Found::text(&items.iter().filter_map(Value::as_str).collect::<String>());
            }
            _ => {}
        }
    }
    if let Some(choice) = obj.get("choices").and_then(|c| c.get(0)) {
        for text in [
            choice.get("text"),
            choice.pointer("/message/content"),
            choice.pointer("/delta/content"),
        ] {
            if let Some(Value::String(s)) = text
                && !s.is_empty()
            {
                return Found::Text(s.clone());
            }
        }
    }
    Found::Nothing
}

/// A top-level OpenAI `usage` object.
fn usage(json: &Value) -> Option<UsageView> {
    let usage = json.get("usage").filter(|u| u.is_object())?;
    UsageView::deserialize(usage).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::frames;

    fn reader(field: Option<&Field>, on_miss: OnMiss) -> Reader<'_> {
        Reader { field, on_miss }
    }

    fn auto() -> Reader<'static> {
        reader(None, OnMiss::AutoDetect)
    }

    #[test]
    fn a_turn_text_is_the_body_verbatim() {
        let turn = Turn {
            texts: vec![r#"{"model": "m", "input": [1, 2], "stream": false}"#.into()],
            ..Turn::default()
        };
        let settings = crate::endpoints::test_support::settings("raw", false, Value::Null);
        let body = Raw::UNCONFIGURED
            .body(&settings, "ignored", &turn, &[])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"m","input":[1,2],"stream":false}"#
        );
        assert_eq!(Raw::UNCONFIGURED.default_path(true), "");
        // A text that is not a JSON object is not sent: the request fails with why.
        for text in ["hello", "[1, 2]"] {
            let not_a_body = Turn {
                texts: vec![text.into()],
                ..Turn::default()
            };
            let e = (Raw::UNCONFIGURED)
                .body(&settings, "m", &not_a_body, &[])
                .unwrap_err();
            assert_eq!((e.code, e.kind.as_str()), (None, "ValueError"));
            assert!(e.message.contains("is not a JSON object"), "{e:?}");
            assert!(e.message.contains(text), "{e:?}");
        }
    }

    #[test]
    fn whole_answers_of_the_usual_shapes() {
        for (body, text) in [
            (
                r#"{"choices":[{"message":{"role":"assistant","content":"Hi!"}}]}"#,
                "Hi!",
            ),
            (
                r#"{"choices":[{"text":"Hi!","finish_reason":"stop"}]}"#,
                "Hi!",
            ),
            (r#"{"generated_text":"no","output":"Hi!"}"#, "Hi!"),
            (r#"{"text":["H","i!"]}"#, "Hi!"),
            (r#"{"result":"Hi!","text":5}"#, "Hi!"),
            (r#""Hi!""#, "Hi!"),
            ("Hi!", "Hi!"),
        ] {
            let d = auto().decode(&frames(&[(5, body)])).unwrap();
            assert_eq!(
                (d.output.as_str(), d.times.as_slice()),
                (text, &[(5, true)][..]),
                "{body}"
            );
        }
        // Embeddings and rankings are answers without text.
        for body in [
            r#"{"data":[{"object":"embedding","embedding":[0.1,0.2]}]}"#,
            r#"{"embeddings":[[0.1],[0.2]]}"#,
            r#"{"results":[]}"#,
            r#"[{"index":0,"score":0.9}]"#,
        ] {
            let d = auto().decode(&frames(&[(5, body)])).unwrap();
            assert_eq!((d.output.as_str(), d.times.len()), ("", 1), "{body}");
        }
        // Nothing recognisable: no content (the collector's EmptyResponse).
        let d = auto().decode(&frames(&[(5, r#"{"id":"x"}"#)])).unwrap();
        assert!(d.times.is_empty());
        let d = auto()
            .decode(&frames(&[(5, r#"{"choices":[{"message":{"content":"a"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#)]))
            .unwrap();
        assert_eq!(d.usage.unwrap().completion_tokens, Some(1));
    }

    #[test]
    fn malformed_and_error_answers_are_typed_errors() {
        for (body, kind, needle) in [
            (
                r#"{"choices":[{"text":"Hi"#,
                "InvalidResponse",
                "malformed JSON",
            ),
            (
                r#"{"error":{"message":"model overloaded","code":503}}"#,
                "ServerError",
                "model overloaded",
            ),
            (r#"{"error":"bad prompt"}"#, "ServerError", "bad prompt"),
        ] {
            let e = auto().decode(&frames(&[(5, body)])).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{e:?}");
        }
    }

    #[test]
    fn response_field_first_then_auto_detection_for_raw_only() {
        let field = compile_field("answer.parts[0]").unwrap();
        let body = r#"{"answer":{"parts":["From the field"]},"text":"auto"}"#;
        for on_miss in [OnMiss::AutoDetect, OnMiss::NoText] {
            let d = reader(Some(&field), on_miss)
                .decode(&frames(&[(1, body)]))
                .unwrap();
            assert_eq!(d.output, "From the field");
        }
        let miss = r#"{"answer":{"parts":[]},"text":"auto"}"#;
        let d = reader(Some(&field), OnMiss::AutoDetect)
            .decode(&frames(&[(1, miss)]))
            .unwrap();
        assert_eq!(d.output, "auto");
        let e = reader(Some(&field), OnMiss::NoText)
            .decode(&frames(&[(1, miss)]))
            .unwrap_err();
        assert!(
            e.message
                .contains("response_field \"answer.parts[0]\" found no text"),
            "{e:?}"
        );
        assert!(
            compile_field("a[")
                .unwrap_err()
                .contains("not a JMESPath expression")
        );
    }

    #[test]
    fn streams_are_read_event_by_event() {
        let f = frames(&[
            (
                10,
                "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            ),
            (
                20,
                "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            ),
            (
                30,
                "data: {\"choices\":[{\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
            ),
        ]);
        let d = auto().decode(&f).unwrap();
        assert_eq!(d.output, "Hi there");
        assert_eq!(d.times, [(20, true), (30, true)]);
        assert!(d.finished);
        assert_eq!(d.usage.unwrap().prompt_tokens, Some(2));
        // Plain-text events are the text itself; an answer sent whole to a streaming request
        // is read whole.
        let d = auto()
            .decode(&frames(&[(1, "data: Hello\n\n"), (2, "data: world\n\n")]))
            .unwrap();
        assert_eq!((d.output.as_str(), d.times.len()), ("Helloworld", 2));
        let d = auto()
            .decode(&frames(&[(4, "{\"text\":\"whole\"}")]))
            .unwrap();
        assert_eq!(d.output, "whole");
    }

    #[test]
    fn cut_short_and_malformed_streams() {
        let cut = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        )]);
        assert_eq!(auto().decode(&cut).unwrap_err().kind, "IncompleteStream");
        let bad = frames(&[(1, "data: {\"choices\":[{\"delta\":\n\n")]);
        let e = auto().decode(&bad).unwrap_err();
        assert_eq!(e.kind, "StreamError");
        assert!(e.message.contains("malformed JSON"), "{e:?}");
        let err = frames(&[(1, "data: {\"error\":{\"message\":\"boom\"}}\n\n")]);
        assert_eq!(auto().decode(&err).unwrap_err().message, "boom");
        let field = compile_field("choices[0].delta.reasoning").unwrap();
        let none = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
        )]);
        let e = reader(Some(&field), OnMiss::NoText)
            .decode(&none)
            .unwrap_err();
        assert!(e.message.contains("any of the 1 events"), "{e:?}");
        assert_eq!(json!(truthy(&json!(0))), json!(false));
    }
}
