//! `huggingface_generate`: Hugging Face Text Generation Inference (TGI), `/generate`, or
//! `/generate_stream` with `--streaming`. The prompt is the turn's text (after the system
//! prompt) in `inputs`; the output cap and `--extra-inputs` go into `parameters`, where TGI
//! reads them. Each turn stands alone.
//!
//! A stream is one event per token, `{"token": {"text", "special"}, "generated_text",
//! "details"}`, the last one carrying the whole `generated_text`; there is no `[DONE]`. Special
//! tokens (the end-of-sequence marker) are not output text. TGI reports no usage; with
//! `--extra-inputs details:true` its `details.generated_tokens` is read as the output count.

use std::borrow::Cow;

use aiperf_openai::view::UsageView;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Decoded, Endpoint, empty_stream, invalid_answer, malformed_event, server_error, sse_events,
    whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct HuggingFaceGenerate;

impl Endpoint for HuggingFaceGenerate {
    fn name(&self) -> &'static str {
        "huggingface_generate"
    }

    fn default_path(&self, streaming: bool) -> &'static str {
        if streaming {
            "/generate_stream"
        } else {
            "/generate"
        }
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        _model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut inputs = turn.system.clone().unwrap_or_default();
        inputs.push_str(&turn.texts.join(" "));
        let mut parameters = Map::new();
        if let Some(max) = turn.max_tokens {
            parameters.insert("max_new_tokens".into(), Value::from(max));
        }
        for (key, value) in &settings.extra_inputs {
            parameters.insert(key.clone(), value.clone());
        }
        let mut body = Map::new();
        body.insert("inputs".into(), Value::String(inputs));
        body.insert("parameters".into(), Value::Object(parameters));
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "TGI cannot be told to ignore the end of sequence, so lengths are the model's own; \
         compare output_sequence_length rather than --osl"
    }

    fn usage_hint(&self) -> &'static str {
        "add --extra-inputs details:true so TGI reports details.generated_tokens"
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        if streaming {
            decode_stream(frames)
        } else {
            decode_whole(frames)
        }
    }
}

/// A `/generate` answer, or one `/generate_stream` event.
#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    token: Option<Token<'a>>,
    #[serde(borrow, default)]
    generated_text: Option<Cow<'a, str>>,
    #[serde(default)]
    details: Option<Details>,
    /// TGI's error shape: `{"error": "...", "error_type": "..."}`.
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Token<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    special: bool,
}

#[derive(Debug, Deserialize)]
struct Details {
    #[serde(default)]
    generated_tokens: Option<u64>,
}

/// `/generate` answers one object, or (older TGI, batched inputs) a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Whole<'a> {
    One(#[serde(borrow)] Answer<'a>),
    Many(#[serde(borrow)] Vec<Answer<'a>>),
}

impl Answer<'_> {
    fn check(&self) -> Result<(), ErrorDetails> {
        match &self.error {
            Some(error) => Err(server_error(error)),
            None => Ok(()),
        }
    }

    fn usage(&self) -> Option<UsageView> {
        let generated = self.details.as_ref()?.generated_tokens?;
        Some(UsageView {
            completion_tokens: Some(generated),
            ..UsageView::default()
        })
    }
}

fn decode_whole(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let answer = match serde_json::from_slice::<Whole<'_>>(&body) {
        Ok(Whole::One(answer)) => answer,
        Ok(Whole::Many(answers)) => answers
            .into_iter()
            .next()
            .ok_or_else(|| invalid("the response is an empty list".into()))?,
        Err(e) => {
            return Err(invalid(format!(
                "the response is not a TGI generate JSON object ({e})"
            )));
        }
    };
    answer.check()?;
    let Some(text) = &answer.generated_text else {
        return Err(invalid("the response has no generated_text".into()));
    };
    Ok(Decoded::whole(
        frames,
        text.to_string(),
        String::new(),
        answer.usage(),
    ))
}

fn decode_stream(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    if frames.is_empty() {
        return Err(empty_stream());
    }
    let mut out = Decoded::default();
    sse_events(frames, |data, at| {
        if data.trim().is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: Answer<'_> =
            serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        event.check()?;
        if let Some(token) = event.token.as_ref().filter(|t| !t.special)
            && !token.text.is_empty()
        {
            out.times.push((at, true));
            out.output.push_str(&token.text);
        }
        // The last event carries the whole text; earlier ones carry `null`.
        out.finished |= event.generated_text.is_some();
        if let Some(usage) = event.usage() {
            out.usage = Some(usage);
        }
        Ok(())
    })?;
    if !out.finished {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} token events without the final one (generated_text)",
                out.times.len()
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{extra, frames, settings};

    fn event(text: &str, special: bool, last: Option<&str>) -> String {
        let generated = last.map_or("null".to_owned(), |t| format!("{t:?}"));
        let details = if last.is_some() {
            r#"{"finish_reason":"length","generated_tokens":2,"seed":null}"#
        } else {
            "null"
        };
        format!(
            "data:{{\"index\":1,\"token\":{{\"id\":5,\"text\":{text:?},\"logprob\":-0.1,\"special\":{special}}},\"generated_text\":{generated},\"details\":{details}}}\n\n"
        )
    }

    #[test]
    fn the_body_is_inputs_and_parameters() {
        let turn = Turn {
            texts: vec!["Hello".into(), "world".into()],
            role: "user".into(),
            input_tokens: 2,
            max_tokens: Some(16),
            timestamp_ms: None,
            delay_ms: None,
            system: Some("Be brief. ".into()),
            ..Turn::default()
        };
        let body = HuggingFaceGenerate
            .body(
                &settings(
                    "huggingface_generate",
                    false,
                    extra(&[("temperature", Value::from(0.5))]),
                ),
                "m",
                &turn,
                &[],
            )
            .unwrap();
        assert_eq!(
            Value::Object(body),
            serde_json::json!({
                "inputs": "Be brief. Hello world",
                "parameters": {"max_new_tokens": 16, "temperature": 0.5}
            })
        );
        assert_eq!(HuggingFaceGenerate.default_path(false), "/generate");
        assert_eq!(HuggingFaceGenerate.default_path(true), "/generate_stream");
    }

    #[test]
    fn a_stream_is_one_timed_event_per_token_without_special_tokens() {
        let f = frames(&[
            (10, &event("Hi", false, None)),
            (
                20,
                &(event(" there", false, None) + &event("</s>", true, Some("Hi there"))),
            ),
        ]);
        let d = HuggingFaceGenerate.decode(&f, true).unwrap();
        assert_eq!(d.times, [(10, true), (20, true)]);
        assert_eq!(d.output, "Hi there");
        assert!(d.finished);
        assert_eq!(d.usage.unwrap().completion_tokens, Some(2));
    }

    #[test]
    fn a_stream_without_its_last_event_is_incomplete() {
        let f = frames(&[(10, &event("Hi", false, None))]);
        let e = HuggingFaceGenerate.decode(&f, true).unwrap_err();
        assert_eq!(e.kind, "IncompleteStream");
        let f = frames(&[(10, "data:{\"token\":{\"text\":\"Hi\"\n\n")]);
        let e = HuggingFaceGenerate.decode(&f, true).unwrap_err();
        assert!(e.message.contains("malformed JSON"), "{e:?}");
        let f = frames(&[(
            10,
            "data:{\"error\":\"Request failed during generation\",\"error_type\":\"generation\"}\n\n",
        )]);
        let e = HuggingFaceGenerate.decode(&f, true).unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("ServerError", "Request failed during generation")
        );
    }

    #[test]
    fn a_whole_answer_is_an_object_or_a_list() {
        for body in [
            r#"{"generated_text":"Hi there"}"#,
            r#"[{"generated_text":"Hi there","details":null}]"#,
        ] {
            let d = HuggingFaceGenerate
                .decode(&frames(&[(7, body)]), false)
                .unwrap();
            assert_eq!(
                (d.output.as_str(), d.times.as_slice()),
                ("Hi there", &[(7, true)][..])
            );
        }
        for (body, kind) in [
            (r#"{"text":"Hi"}"#, "InvalidResponse"),
            ("[]", "InvalidResponse"),
            ("<html>bad gateway</html>", "InvalidResponse"),
            (
                r#"{"error":"Input validation error","error_type":"validation"}"#,
                "ServerError",
            ),
        ] {
            let e = HuggingFaceGenerate
                .decode(&frames(&[(7, body)]), false)
                .unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
        }
    }
}
