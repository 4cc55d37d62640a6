//! `image_generation`: OpenAI's image generation API, `/v1/images/generations` (DALL-E, gpt-image,
//! SGLang's diffusion server). The prompt is the turn's first text; the body asks for one
//! image as base64 (`response_format: b64_json`, `n: 1`, as the Python AIPerf does: SGLang
//! answers only base64), and `--extra-inputs` (`size`, `quality`, `n`, `response_format`,
//! `partial_images`, ...) override or add fields. Each turn stands alone.
//!
//! A whole answer is `{"created", "data": [{"b64_json" | "url", "revised_prompt"}], "usage"}`;
//! with `--streaming`, server-sent events `image_generation.partial_image` (each a partial
//! image) and a last `image_generation.completed` (the image and the usage). Nothing is
//! generated as text: request latency is measured (to the last event when streamed). As in
//! the Python AIPerf, no image figures are reported for this type.

use std::borrow::Cow;

use aiperf_openai::view::UsageView;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::{
    Decoded, Endpoint, Inputs, add_extra_inputs, empty_stream, invalid_answer, malformed_event,
    server_error, sse_events, whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct ImageGeneration;

impl Endpoint for ImageGeneration {
    fn name(&self) -> &'static str {
        "image_generation"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/images/generations"
    }

    fn generates(&self) -> bool {
        false
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            images_counted: false,
            ..Inputs::TEXT
        }
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut body = image_request(turn, model);
        if settings.streaming {
            body.insert("stream".into(), Value::Bool(true));
        }
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "image generation has no output length"
    }

    fn usage_hint(&self) -> &'static str {
        "image servers report usage (input_tokens) in their answers when they count tokens"
    }

    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
        let body_is_json = frames
            .first()
            .and_then(|f| f.1.iter().find(|b| !b.is_ascii_whitespace()))
            == Some(&b'{');
        if streaming && !body_is_json {
            decode_stream(frames)
        } else {
            decode_images(frames)
        }
    }
}

/// The fields every image request starts with: the prompt (the turn's first text), the model,
/// one image, as base64.
pub(super) fn image_request(turn: &Turn, model: &str) -> Map<String, Value> {
    let mut body = Map::new();
    let prompt = turn.texts.first().cloned().unwrap_or_default();
    body.insert("prompt".into(), Value::String(prompt));
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert("response_format".into(), Value::from("b64_json"));
    body.insert("n".into(), Value::from(1));
    body
}

/// An image API's whole answer, or one event of its stream.
#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Option<&'a str>,
    #[serde(default, borrow)]
    data: Option<Vec<Image<'a>>>,
    /// A streamed image (partial or final) carries its data at the top.
    #[serde(default)]
    b64_json: Option<IgnoredAny>,
    #[serde(default)]
    usage: Option<ImageUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Image<'a> {
    #[serde(default, borrow)]
    b64_json: Option<Cow<'a, str>>,
    #[serde(default)]
    url: Option<IgnoredAny>,
}

/// Image APIs count tokens as `input_tokens`/`output_tokens` (some as `prompt_tokens`).
#[derive(Debug, Default, Deserialize)]
struct ImageUsage {
    #[serde(default, alias = "prompt_tokens")]
    input_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl ImageUsage {
    fn view(&self) -> UsageView {
        UsageView {
            prompt_tokens: self.input_tokens,
            total_tokens: self.total_tokens,
            ..UsageView::default()
        }
    }
}

impl Answer<'_> {
    fn check(&self) -> Result<(), ErrorDetails> {
        match &self.error {
            Some(error) if !error.is_null() => Err(server_error(error)),
            _ => Ok(()),
        }
    }
}

/// A whole image answer (generation or edit): at least one image, as data or a URL.
pub(super) fn decode_images(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let answer: Answer<'_> = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("the response is not an images JSON object ({e})")))?;
    answer.check()?;
    let Some(images) = &answer.data else {
        return Err(invalid("the response has no data".into()));
    };
    let found = images
        .iter()
        .filter(|i| i.b64_json.as_deref().is_some_and(|d| !d.is_empty()) || i.url.is_some())
        .count();
    if found == 0 {
        return Err(invalid(
            "the response has no image (data[].b64_json or data[].url)".into(),
        ));
    }
    let usage = answer.usage.as_ref().map(ImageUsage::view);
    Ok(Decoded::answered(frames, usage))
}

fn decode_stream(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    if frames.is_empty() {
        return Err(empty_stream());
    }
    let mut out = Decoded::default();
    let mut last_partial = false;
    sse_events(frames, |data, at| {
        if data.trim().is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            out.finished = !out.times.is_empty();
            return Ok(());
        }
        let event: Answer<'_> =
            serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        event.check()?;
        if event.kind == Some("error") {
            return Err(ErrorDetails::new(None, "ServerError", data.to_owned()));
        }
        if event.b64_json.is_some() {
            out.times.push((at, false));
            last_partial = event.kind.is_some_and(|k| k.ends_with("partial_image"));
        }
        if event.kind.is_some_and(|k| k.ends_with(".completed")) {
            out.finished = true;
        }
        if let Some(usage) = &event.usage {
            out.usage = Some(usage.view());
        }
        Ok(())
    })?;
    // A stream of untyped image events ends with its last (final) image.
    out.finished |= !out.times.is_empty() && !last_partial;
    if !out.finished {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} partial images without the final one \
                 (image_generation.completed)",
                out.times.len()
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::{frames, settings};

    #[test]
    fn the_body_asks_for_one_base64_image_of_the_first_text() {
        let turn = Turn {
            texts: vec!["a red fox".into(), "ignored".into()],
            images: vec!["data:image/png;base64,AAAA".into()],
            ..Turn::default()
        };
        let body = ImageGeneration
            .body(
                &settings("image_generation", false, json!({})),
                "m",
                &turn,
                &[],
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"prompt":"a red fox","model":"m","response_format":"b64_json","n":1}"#
        );
        let extra = json!({"size": "512x512", "n": 2, "response_format": "url"});
        let body = ImageGeneration
            .body(&settings("image_generation", true, extra), "m", &turn, &[])
            .unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"prompt": "a red fox", "model": "m", "response_format": "url", "n": 2,
                   "stream": true, "size": "512x512"})
        );
        assert_eq!(ImageGeneration.default_path(true), "/v1/images/generations");
        assert!(!ImageGeneration.generates() && ImageGeneration.streams());
        assert!(!ImageGeneration.inputs().images_counted);
    }

    #[test]
    fn a_whole_answer_has_images_as_data_or_urls() {
        for body in [
            r#"{"created":1,"data":[{"b64_json":"iVBORw0KGgo="}],"usage":{"input_tokens":9,"output_tokens":4160,"total_tokens":4169}}"#,
            r#"{"created":1,"data":[{"url":"https://x/1.png","revised_prompt":"a fox"}]}"#,
        ] {
            let d = ImageGeneration
                .decode(&frames(&[(7, body)]), false)
                .unwrap();
            assert_eq!(d.times, [(7, false)]);
            assert!(d.output.is_empty() && d.finished);
        }
        let d = ImageGeneration
            .decode(
                &frames(&[(
                    7,
                    r#"{"data":[{"b64_json":"AA"}],"usage":{"input_tokens":9,"total_tokens":20}}"#,
                )]),
                false,
            )
            .unwrap();
        let usage = d.usage.unwrap();
        assert_eq!(
            (usage.prompt_tokens, usage.total_tokens),
            (Some(9), Some(20))
        );
        for (body, kind, needle) in [
            (r#"{"created":1}"#, "InvalidResponse", "no data"),
            (r#"{"data":[]}"#, "InvalidResponse", "no image"),
            (
                r#"{"data":[{"b64_json":""}]}"#,
                "InvalidResponse",
                "no image",
            ),
            ("<html>502</html>", "InvalidResponse", "not an images JSON"),
            (
                r#"{"error":{"message":"Your request was rejected by the safety system.","code":"content_policy_violation"}}"#,
                "ServerError",
                "safety system",
            ),
        ] {
            let e = ImageGeneration
                .decode(&frames(&[(7, body)]), false)
                .unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{body}: {e:?}");
        }
    }

    #[test]
    fn a_stream_is_partial_images_then_the_completed_one() {
        let partial = |i: u32| {
            format!(
                "event: image_generation.partial_image\ndata: {{\"type\":\"image_generation.partial_image\",\"b64_json\":\"AA\",\"partial_image_index\":{i}}}\n\n"
            )
        };
        let done = "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\",\"b64_json\":\"AAAA\",\"usage\":{\"input_tokens\":5,\"output_tokens\":272,\"total_tokens\":277}}\n\n";
        let f = frames(&[(10, &partial(0)), (20, &partial(1)), (30, done)]);
        let d = ImageGeneration.decode(&f, true).unwrap();
        assert_eq!(d.times, [(10, false), (20, false), (30, false)]);
        assert_eq!(d.usage.unwrap().prompt_tokens, Some(5));
        // Cut short after a partial image.
        let e = ImageGeneration
            .decode(&frames(&[(10, &partial(0))]), true)
            .unwrap_err();
        assert_eq!(e.kind, "IncompleteStream");
        // A server that answers whole despite `stream`.
        let d = ImageGeneration
            .decode(&frames(&[(5, r#"{"data":[{"b64_json":"AA"}]}"#)]), true)
            .unwrap();
        assert_eq!(d.times, [(5, false)]);
        // Malformed events and error events.
        let e = ImageGeneration
            .decode(&frames(&[(10, "data: {\"type\":\n\n")]), true)
            .unwrap_err();
        assert!(e.message.contains("malformed JSON"), "{e:?}");
        let e = ImageGeneration
            .decode(
                &frames(&[(
                    10,
                    "data: {\"type\":\"error\",\"error\":{\"message\":\"overloaded\"}}\n\n",
                )]),
                true,
            )
            .unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("ServerError", "overloaded")
        );
        let e = ImageGeneration.decode(&[], true).unwrap_err();
        assert_eq!(e.kind, "StreamError");
    }
}
