//! `nim_embeddings`: NVIDIA NIM embeddings (`/v1/embeddings`), a superset of OpenAI's that also
//! embeds images. The body is `{"model", "input": [...]}` and `--extra-inputs`, where NIM's own
//! fields go (`input_type:query` or `passage` for the asymmetric retrieval models, `truncate`,
//! `modality`, ...). `input` holds the turn's texts; or its images (URLs or `data:` URIs) when it
//! has no text; or, when it has both, each text with the image of the same position after a
//! space (`"caption data:image/png;base64,..."`). The answer is an OpenAI embeddings body, read
//! as `embeddings` reads it; only latency and the input are measured.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Decoded, Endpoint, embeddings};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug)]
pub(super) struct NimEmbeddings;

impl Endpoint for NimEmbeddings {
    fn name(&self) -> &'static str {
        "nim_embeddings"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/embeddings"
    }

    fn generates(&self) -> bool {
        false
    }

    fn streams(&self) -> bool {
        false
    }

    fn batches(&self) -> bool {
        true
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert(
            "input".into(),
            inputs(turn).into_iter().map(Value::String).collect(),
        );
        for (key, value) in &settings.extra_inputs {
            body.insert(key.clone(), value.clone());
        }
        body
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        embeddings::decode(frames)
    }
}

/// What NIM embeds for `turn`, empty entries left out. Texts and images are paired by
/// position; when one list is longer, its extra entries are sent on their own.
fn inputs(turn: &Turn) -> Vec<String> {
    let texts = turn.texts.iter().filter(|t| !t.is_empty());
    let mut images = turn.images.iter().filter(|i| !i.is_empty());
    let mut out: Vec<String> = texts
        .map(|text| match images.next() {
            Some(image) => format!("{text} {image}"),
            None => text.clone(),
        })
        .collect();
    out.extend(images.cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(texts: &[&str], images: &[&str]) -> Turn {
        Turn {
            texts: texts.iter().map(|s| (*s).to_owned()).collect(),
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            role: "user".into(),
            ..Turn::default()
        }
    }

    #[test]
    fn texts_images_or_both_paired() {
        let mut settings = super::super::rankings::test_settings("nim_embeddings");
        settings
            .extra_inputs
            .insert("input_type".into(), Value::from("query"));
        let body = NimEmbeddings.body(
            &settings,
            "nvidia/nv-embedqa-e5-v5",
            &turn(&["a", "", "b"], &[]),
            &[],
        );
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"nvidia/nv-embedqa-e5-v5","input":["a","b"],"input_type":"query"}"#
        );
        let img = "data:image/png;base64,iVBOR";
        assert_eq!(inputs(&turn(&[], &[img, ""])), [img]);
        assert_eq!(
            inputs(&turn(&["cat", "dog"], &[img, "https://x/y.jpg"])),
            [format!("cat {img}"), "dog https://x/y.jpg".to_owned()]
        );
        assert_eq!(
            inputs(&turn(&["cat"], &[img, "https://x/y.jpg"])),
            [format!("cat {img}"), "https://x/y.jpg".to_owned()]
        );
        assert!(NimEmbeddings.batches() && !NimEmbeddings.generates());
    }

    #[test]
    fn answers_are_embeddings() {
        let read = |body: &str| NimEmbeddings.decode(&[(4, Bytes::from(body.to_owned()))], false);
        assert!(read(r#"{"data":[{"object":"embedding","index":0,"embedding":[0.5]}]}"#).is_ok());
        let e = read(r#"{"error":{"message":"input_type is required","code":400}}"#).unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.code, e.message.as_str()),
            ("ServerError", Some(400), "input_type is required")
        );
    }
}
