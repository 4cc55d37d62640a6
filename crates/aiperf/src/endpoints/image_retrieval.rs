//! `image_retrieval`: NVIDIA NIM for object detection (page elements, graphic elements, table
//! structure), `/v1/infer`. Every image of the turn goes inline, in order, as
//! `{"input": [{"type": "image_url", "url": "data:image/png;base64,..."}]}`; `--extra-inputs`
//! add fields. No text is sent and nothing is generated: request latency is measured, with the
//! images per request, images per second and latency per image.
//!
//! The answer is `{"data": [{"index", "bounding_boxes": {"table": [...], ...}}]}`, one entry
//! per image; an answer without entries is an error.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use super::{
    Decoded, Endpoint, Inputs, Media, add_extra_inputs, invalid_answer, server_error, whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct ImageRetrieval;

impl Endpoint for ImageRetrieval {
    fn name(&self) -> &'static str {
        "image_retrieval"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/infer"
    }

    fn generates(&self) -> bool {
        false
    }

    fn streams(&self) -> bool {
        false
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            tokenized: false,
            images_counted: true,
            needs: Some(Media::Image),
        }
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        _model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let input: Vec<Value> = (turn.images.iter())
            .filter(|i| !i.is_empty())
            .map(|url| json!({"type": "image_url", "url": url}))
            .collect();
        let mut body = Map::new();
        body.insert("input".into(), Value::Array(input));
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "image retrieval has no output length"
    }

    fn usage_hint(&self) -> &'static str {
        "NIM image retrieval reports no token usage"
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        let body = whole(frames);
        let invalid = |why: String| invalid_answer(why, &body);
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            invalid(format!(
                "the response is not an image retrieval JSON object ({e})"
            ))
        })?;
        if let Some(error) = answer.error.filter(|e| !e.is_null()) {
            return Err(server_error(&error));
        }
        if answer.data.is_none_or(|d| d.is_empty()) {
            return Err(invalid("the response has no data".into()));
        }
        Ok(Decoded::answered(frames, None))
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    error: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::settings;

    #[test]
    fn every_image_goes_inline_as_an_image_url_part() {
        let turn = Turn {
            texts: vec!["not sent".into()],
            images: vec![
                "data:image/png;base64,AAAA".into(),
                String::new(),
                "data:image/jpeg;base64,/9j/".into(),
            ],
            max_tokens: Some(5),
            ..Turn::default()
        };
        let body = ImageRetrieval
            .body(
                &settings("image_retrieval", false, json!({"threshold": 0.5})),
                "m",
                &turn,
                &[],
            )
            .unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"input": [
                {"type": "image_url", "url": "data:image/png;base64,AAAA"},
                {"type": "image_url", "url": "data:image/jpeg;base64,/9j/"}
            ], "threshold": 0.5})
        );
        assert_eq!(ImageRetrieval.default_path(false), "/v1/infer");
        let inputs = ImageRetrieval.inputs();
        assert!(inputs.images_counted && !inputs.tokenized);
    }

    #[test]
    fn answers_need_data() {
        let frames = |body: &str| vec![(4u64, Bytes::from(body.to_owned()))];
        let ok = r#"{"data":[{"index":0,"bounding_boxes":{"table":[{"x_min":0.1,"y_min":0.2,"x_max":0.5,"y_max":0.6,"confidence":0.9}]}}]}"#;
        let d = ImageRetrieval.decode(&frames(ok), false).unwrap();
        assert_eq!(d.times, [(4, false)]);
        for (body, kind) in [
            (r#"{"data":[]}"#, "InvalidResponse"),
            (r#"{"object":"list"}"#, "InvalidResponse"),
            ("not json", "InvalidResponse"),
            (r#"{"error":"Invalid image data"}"#, "ServerError"),
        ] {
            let e = ImageRetrieval.decode(&frames(body), false).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
        }
    }
}
