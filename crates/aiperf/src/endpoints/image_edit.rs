//! `image_edit`: OpenAI's image edit API, `/v1/images/edits` (image-to-image: SGLang's
//! diffusion server, FLUX.2). A form (`multipart/form-data`): the turn's first text as
//! `prompt`, its first image uploaded as the `image` file (a `data:` URI or raw base64,
//! decoded to its bytes; its type from the URI or from the data's first bytes), or sent as a
//! `url` field when it is an `http(s)://` address (SGLang's extension), one image as base64
//! (`response_format: b64_json`, `n: 1`), as the Python AIPerf sends it. `--extra-inputs` add
//! fields (`size`, `quality`, ...) but cannot replace `prompt`, `image`, `url` or `mask`.
//!
//! The answer is read like image generation's: `data` with at least one image. Request
//! latency is measured; as in the Python AIPerf, no image figures are reported for this type.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::image_generation::{decode_images, image_request};
use super::multipart::{add_extra_fields, file_field, warn_reserved};
use super::{Decoded, Endpoint, Inputs, Media, Shared};
use crate::UsageError;
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

/// Fields the endpoint type fills itself, which `--extra-inputs` cannot replace.
const RESERVED: [&str; 4] = ["prompt", "image", "url", "mask"];

/// MIME types by the first characters of base64 image data (the files' magic numbers).
const SNIFFED: [(&str, &str); 6] = [
    ("iVBORw0KGgo", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGODlh", "image/gif"),
    ("R0lGODdh", "image/gif"),
    ("UklGR", "image/webp"),
    ("Qk", "image/bmp"),
];

#[derive(Debug, Clone)]
pub(super) struct ImageEdit;

impl Endpoint for ImageEdit {
    fn name(&self) -> &'static str {
        "image_edit"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/images/edits"
    }

    fn generates(&self) -> bool {
        false
    }

    fn streams(&self) -> bool {
        false
    }

    fn form_data(&self) -> bool {
        true
    }

    fn configure(&self, settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
        warn_reserved(settings, &RESERVED);
        Ok(self.shared())
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            tokenized: true,
            images_counted: false,
            needs: Some(Media::Image),
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
        if let Some(image) = turn.images.first().filter(|i| !i.is_empty()) {
            let lower = image.get(..8).unwrap_or(image).to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                body.insert("url".into(), Value::String(image.clone()));
            } else {
                body.insert("image".into(), image_file(image));
            }
        }
        add_extra_fields(&mut body, settings, &RESERVED);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "image edits have no output length"
    }

    fn usage_hint(&self) -> &'static str {
        "image servers report usage (input_tokens) in their answers when they count tokens"
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        decode_images(frames)
    }
}

/// The file field of an image given as a `data:` URI or raw base64.
fn image_file(content: &str) -> Value {
    let (declared, b64) = match content.strip_prefix("data:") {
        Some(rest) => {
            let (header, data) = rest.split_once(',').unwrap_or(("", rest));
            let mime = header.split(';').next().unwrap_or_default();
            let declared = (header.contains(';') && mime.starts_with("image/")).then_some(mime);
            (declared, data)
        }
        None => (None, content),
    };
    let mime = declared.or_else(|| {
        SNIFFED
            .iter()
            .find(|(prefix, _)| b64.starts_with(prefix))
            .map(|(_, mime)| *mime)
    });
    let Some(mime) = mime else {
        return file_field(b64, "image", "application/octet-stream");
    };
    let subtype = mime.split_once('/').map_or("png", |(_, s)| s);
    let ext = subtype.split('+').next().unwrap_or(subtype);
    let content_type = match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        _ => mime,
    };
    let ext = if ext == "jpeg" { "jpg" } else { ext };
    file_field(b64, &format!("image.{ext}"), content_type)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::settings;

    fn turn(image: &str) -> Turn {
        Turn {
            texts: vec!["make it blue".into()],
            images: vec![image.into(), "data:image/png;base64,BBBB".into()],
            ..Turn::default()
        }
    }

    #[test]
    fn the_first_image_is_uploaded_with_the_prompt() {
        let body = ImageEdit
            .body(
                &settings(
                    "image_edit",
                    false,
                    json!({"size": "512x512", "prompt": "x", "mask": "y"}),
                ),
                "flux",
                &turn("data:image/png;base64,iVBORw0KGgoAAAA"),
                &[],
            )
            .unwrap();
        assert_eq!(
            Value::Object(body.clone()),
            json!({
                "prompt": "make it blue", "model": "flux", "response_format": "b64_json", "n": 1,
                "image": {"b64_data": "iVBORw0KGgoAAAA", "filename": "image.png",
                          "content_type": "image/png"},
                "size": "512x512"
            })
        );
        // On the wire: a form with the image's bytes as a file part.
        let form = super::super::multipart::encode(&body);
        let text = String::from_utf8_lossy(&form);
        let header = "name=\"image\"; filename=\"image.png\"\r\nContent-Type: image/png\r\n\r\n";
        let at = text.find(header).expect("the image part") + header.len();
        assert_eq!(&form[at..at + 4], b"\x89PNG", "{text}");
        assert!(
            text.contains("name=\"prompt\"\r\n\r\nmake it blue\r\n"),
            "{text}"
        );
        assert!(ImageEdit.form_data() && !ImageEdit.streams() && !ImageEdit.generates());
        assert_eq!(ImageEdit.inputs().needs, Some(Media::Image));
    }

    #[test]
    fn image_types_come_from_the_uri_or_the_data() {
        let field = |content: &str| {
            let body = ImageEdit
                .body(
                    &settings("image_edit", false, json!({})),
                    "m",
                    &turn(content),
                    &[],
                )
                .unwrap();
            body.get("image").map(|i| {
                (
                    i["filename"].clone(),
                    i["content_type"].clone(),
                    i["b64_data"].clone(),
                )
            })
        };
        assert_eq!(
            field("data:image/jpeg;base64,/9j/4AAQ"),
            Some((json!("image.jpg"), json!("image/jpeg"), json!("/9j/4AAQ")))
        );
        assert_eq!(
            field("/9j/4AAQ"),
            Some((json!("image.jpg"), json!("image/jpeg"), json!("/9j/4AAQ")))
        );
        assert_eq!(
            field("UklGRhIAAABXRUJQ"),
            Some((
                json!("image.webp"),
                json!("image/webp"),
                json!("UklGRhIAAABXRUJQ")
            ))
        );
        assert_eq!(
            field("data:image/svg+xml;base64,PHN2Zz4="),
            Some((
                json!("image.svg"),
                json!("image/svg+xml"),
                json!("PHN2Zz4=")
            ))
        );
        // A data URI that does not claim an image type is sniffed.
        assert_eq!(
            field("data:text/html;base64,R0lGODlhAQAB"),
            Some((
                json!("image.gif"),
                json!("image/gif"),
                json!("R0lGODlhAQAB")
            ))
        );
        assert_eq!(
            field("AAAA"),
            Some((
                json!("image"),
                json!("application/octet-stream"),
                json!("AAAA")
            ))
        );
        // An image on the web is sent as its URL.
        let body = ImageEdit
            .body(
                &settings("image_edit", false, json!({})),
                "m",
                &turn("HTTPS://x/cat.png"),
                &[],
            )
            .unwrap();
        assert_eq!(body["url"], "HTTPS://x/cat.png");
        assert!(!body.contains_key("image"));
    }

    #[test]
    fn answers_are_read_as_image_answers() {
        let frames = |body: &str| vec![(9u64, Bytes::from(body.to_owned()))];
        let d = ImageEdit
            .decode(
                &frames(r#"{"created":1,"data":[{"b64_json":"iVBORw0KGgo="}]}"#),
                false,
            )
            .unwrap();
        assert_eq!(d.times, [(9, false)]);
        let e = ImageEdit
            .decode(&frames(r#"{"detail":"image is required"}"#), false)
            .unwrap_err();
        assert_eq!(e.kind, "InvalidResponse");
    }
}
