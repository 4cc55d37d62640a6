//! `nim_embeddings`: NVIDIA NIM embeddings (`/v1/embeddings`), a superset of OpenAI's that also
//! embeds images. The body is `{"model", "input": [...]}` and `--extra-inputs`, where NIM's own
//! fields go (`input_type:query` or `passage` for the asymmetric retrieval models, `truncate`,
//! `modality`, ...). `input` holds the turn's texts; or its images (URLs or `data:` URIs) when it
//! has no text; or, when it has both, each text with the image of the same position after a
//! space (`"caption data:image/png;base64,..."`): a turn with both, but not as many of each,
//! is not sent. The answer is an OpenAI embeddings body, read as `embeddings` reads it; only
//! latency and the input are measured.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Decoded, Endpoint, embeddings, invalid_turn};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
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
    ) -> Result<Map<String, Value>, ErrorDetails> {
        Ok(embeddings::request(settings, model, inputs(turn)?))
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        embeddings::decode(frames)
    }
}

/// What NIM embeds for `turn`, empty entries left out: its texts, its images, or each text
/// with the image of its position (then there must be as many of each).
fn inputs(turn: &Turn) -> Result<Vec<String>, ErrorDetails> {
    let texts: Vec<&String> = turn.texts.iter().filter(|t| !t.is_empty()).collect();
    let images: Vec<&String> = turn.images.iter().filter(|i| !i.is_empty()).collect();
    if texts.is_empty() || images.is_empty() {
        return Ok(texts.into_iter().chain(images).cloned().collect());
    }
    if texts.len() != images.len() {
        return Err(invalid_turn(format!(
            "nim_embeddings pairs each text with the image of its position, but the turn has {} \
             texts and {} images: give as many of each, or only texts or only images",
            texts.len(),
            images.len()
        )));
    }
    Ok(texts
        .iter()
        .zip(&images)
        .map(|(text, image)| format!("{text} {image}"))
        .collect())
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
        let mut settings =
            crate::endpoints::test_support::settings("nim_embeddings", false, Value::Null);
        settings
            .extra_inputs
            .insert("input_type".into(), Value::from("query"));
        let body = NimEmbeddings
            .body(
                &settings,
                "nvidia/nv-embedqa-e5-v5",
                &turn(&["a", "", "b"], &[]),
                &[],
            )
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"nvidia/nv-embedqa-e5-v5","input":["a","b"],"input_type":"query"}"#
        );
        let img = "data:image/png;base64,iVBOR";
        assert_eq!(inputs(&turn(&[], &[img, ""])).unwrap(), [img]);
        assert_eq!(
            inputs(&turn(&["cat", "dog"], &[img, "https://x/y.jpg"])).unwrap(),
            [format!("cat {img}"), "dog https://x/y.jpg".to_owned()]
        );
        assert!(NimEmbeddings.batches() && !NimEmbeddings.generates());
    }

    #[test]
    fn texts_and_images_that_do_not_pair_up_are_not_sent() {
        let settings =
            crate::endpoints::test_support::settings("nim_embeddings", false, Value::Null);
        let t = turn(
            &["cat", ""],
            &["data:image/png;base64,iVBOR", "https://x/y.jpg"],
        );
        let e = NimEmbeddings.body(&settings, "m", &t, &[]).unwrap_err();
        assert_eq!(
            (e.code, e.kind.as_str(), e.message.as_str()),
            (
                None,
                "ValueError",
                "nim_embeddings pairs each text with the image of its position, but the turn \
                 has 1 texts and 2 images: give as many of each, or only texts or only images"
            )
        );
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
