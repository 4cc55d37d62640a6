//! `multipart/form-data` request bodies, for the endpoint types that upload files (an image to
//! edit, audio to transcribe) or whose servers take only forms (video jobs).
//!
//! Their bodies are built as JSON objects like every other type's (what `inputs.json` and the
//! raw export show), with each file as `{"b64_data", "filename", "content_type"}`; [`encode`]
//! turns such an object into the form sent on the wire, as the Python AIPerf does: a file
//! field becomes a file part of its decoded bytes, `null` is left out, `true`/`false` are
//! sent as words, strings as they are, and numbers, arrays and objects as their JSON text.
//!
//! Written by hand: a form is a few framing lines around each field, and the crates that
//! build forms belong to HTTP clients other than ours.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value, json};

use crate::settings::EndpointConfig;

/// The boundary between parts. Fixed, so the `Content-Type` header can be set once for a
/// run: the chance that these 37 bytes occur inside an uploaded image or clip is nil.
pub const BOUNDARY: &str = "aiperf-form-boundary-5c2e9a71f04b83d6";

/// The `Content-Type` of an [`encode`]d body.
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A file field of a JSON body: base64 data (decoded when the form is built), the file's
/// name and its MIME type.
pub fn file_field(b64_data: &str, filename: &str, content_type: &str) -> Value {
    json!({"b64_data": b64_data, "filename": filename, "content_type": content_type})
}

/// Adds `--extra-inputs` to a form's fields, except those the endpoint type fills itself
/// (`reserved`, which [`warn_reserved`] names when the run is configured).
pub(super) fn add_extra_fields(
    body: &mut Map<String, Value>,
    settings: &EndpointConfig,
    reserved: &[&str],
) {
    for (key, value) in &settings.extra_inputs {
        if !reserved.contains(&key.as_str()) {
            body.insert(key.clone(), value.clone());
        }
    }
}

/// Says, once for the run, which `--extra-inputs` of `settings` the endpoint type ignores
/// because it fills those fields itself.
pub(super) fn warn_reserved(settings: &EndpointConfig, reserved: &[&str]) {
    for key in (settings.extra_inputs.keys()).filter(|k| reserved.contains(&k.as_str())) {
        tracing::warn!("--extra-inputs {key}: the endpoint type fills this field itself; ignored");
    }
}

/// The form of a JSON body: one part per field, in the body's order.
pub fn encode(body: &Map<String, Value>) -> Bytes {
    let mut out = BytesMut::new();
    for (name, value) in body {
        let name = name.replace('"', "%22").replace(['\r', '\n'], " ");
        match value {
            Value::Null => continue,
            Value::Object(file) if file.get("b64_data").is_some_and(Value::is_string) => {
                let data = file["b64_data"].as_str().unwrap_or_default();
                let filename = file
                    .get("filename")
                    .and_then(Value::as_str)
                    .filter(|f| !f.is_empty())
                    .unwrap_or(&name)
                    .replace('"', "%22")
                    .replace(['\r', '\n'], " ");
                let mime = file
                    .get("content_type")
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                    .unwrap_or("application/octet-stream");
                out.put_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                         filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                out.put_slice(&decode_base64(data));
            }
            other => {
                out.put_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                    )
                    .as_bytes(),
                );
                match other {
                    Value::String(s) => out.put_slice(s.as_bytes()),
                    v => out.put_slice(v.to_string().as_bytes()),
                }
            }
        }
        out.put_slice(b"\r\n");
    }
    out.put_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out.freeze()
}

/// The form of a serialized JSON body (the bytes the load generator keeps for each request).
pub fn encode_json(body: &[u8]) -> Bytes {
    match serde_json::from_slice::<Map<String, Value>>(body) {
        Ok(map) => encode(&map),
        // Every endpoint type's body is an object; anything else is sent as it is.
        Err(_) => Bytes::copy_from_slice(body),
    }
}

/// The bytes of base64 `data` (padded or not, URL-safe or not); data that is not base64 at
/// all is sent as its own text, for the server to refuse.
fn decode_base64(data: &str) -> Vec<u8> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(&compact).ok())
        .unwrap_or_else(|| data.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_parts_and_files_their_bytes() {
        let body = json!({
            "file": file_field("UklGRgABAgM=", "audio.wav", "audio/wav"),
            "model": "whisper",
            "temperature": 0.5,
            "n": 2,
            "stream": false,
            "skipped": null,
            "timestamp_granularities": ["word"],
        });
        let form = encode(body.as_object().unwrap());
        let b = format!("--{BOUNDARY}");
        let mut expected = Vec::new();
        expected.extend_from_slice(
            format!(
                "{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
                 Content-Type: audio/wav\r\n\r\n"
            )
            .as_bytes(),
        );
        expected.extend_from_slice(b"RIFF\x00\x01\x02\x03\r\n");
        for (name, value) in [
            ("model", "whisper"),
            ("temperature", "0.5"),
            ("n", "2"),
            ("stream", "false"),
            ("timestamp_granularities", "[\"word\"]"),
        ] {
            expected.extend_from_slice(
                format!(
                    "{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        expected.extend_from_slice(format!("{b}--\r\n").as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&form),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(form.as_ref(), expected.as_slice());
        assert_eq!(
            content_type(),
            format!("multipart/form-data; boundary={BOUNDARY}")
        );
    }

    #[test]
    fn files_without_a_name_or_type_and_odd_base64() {
        let body = json!({"image": {"b64_data": "AAEC"}, "mask": {"b64_data": "AAE"}});
        let form = encode(body.as_object().unwrap());
        let text = String::from_utf8_lossy(&form);
        assert!(
            text.contains(
                "name=\"image\"; filename=\"image\"\r\nContent-Type: application/octet-stream\r\n\r\n\u{0}\u{1}\u{2}\r\n"
            ),
            "{text}"
        );
        // Unpadded base64 is decoded too.
        assert!(text.contains("filename=\"mask\""), "{text}");
        assert!(form.windows(4).any(|w| w == b"\0\x01\r\n"), "{text}");
        // Not base64 at all: its text, for the server to refuse.
        let form = encode(
            json!({"f": {"b64_data": "not base64!"}})
                .as_object()
                .unwrap(),
        );
        assert!(String::from_utf8_lossy(&form).contains("\r\n\r\nnot base64!\r\n"));
    }

    #[test]
    fn a_serialized_body_is_encoded_the_same() {
        let body = json!({"prompt": "a cat", "model": "m"});
        let bytes = serde_json::to_vec(&body).unwrap();
        assert_eq!(encode_json(&bytes), encode(body.as_object().unwrap()));
        assert_eq!(encode_json(b"[1]").as_ref(), b"[1]");
    }
}
