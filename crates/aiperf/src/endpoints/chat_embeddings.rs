//! `chat_embeddings`: embeddings of chat messages (`/v1/embeddings`), the request shape vLLM
//! needs for multimodal embedding models (VLM2Vec and the like). The body is a chat request:
//! `messages` (the system prompt, then the turn as a user message whose content is its text,
//! or content parts for several texts, images, audio and video), `model`, `stream: false`, the
//! output cap when a turn carries one, and `--extra-inputs`. The answer is an OpenAI embeddings
//! body, read as `embeddings` reads it; nothing is generated and answers are never streamed,
//! so only latency and the input are measured. Each turn stands alone.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{Decoded, Endpoint, embeddings, openai};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct ChatEmbeddings;

impl Endpoint for ChatEmbeddings {
    fn name(&self) -> &'static str {
        "chat_embeddings"
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

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = &turn.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({"role": turn.role, "content": content(turn)}));
        let mut body = Map::new();
        body.insert("messages".into(), Value::Array(messages));
        let cap = if settings.use_legacy_max_tokens {
            "max_tokens"
        } else {
            "max_completion_tokens"
        };
        openai::finish_body(&mut body, settings, model, turn.max_tokens, cap);
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        embeddings::decode(frames)
    }
}

/// A user message's content: the text itself when the turn is one text and nothing else,
/// otherwise OpenAI content parts (texts, `image_url`, `input_audio`, `video_url`), empty
/// entries left out.
fn content(turn: &Turn) -> Value {
    let media = turn.images.len() + turn.audios.len() + turn.videos.len();
    if let ([text], 0) = (turn.texts.as_slice(), media) {
        return Value::String(text.clone());
    }
    let filled = |items: &'_ [String]| {
        items
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut parts = Vec::with_capacity(turn.texts.len() + media);
    for text in filled(&turn.texts) {
        parts.push(json!({"type": "text", "text": text}));
    }
    for url in filled(&turn.images) {
        parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
    }
    for clip in filled(&turn.audios) {
        let (format, data) = audio_parts(&clip);
        parts.push(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}));
    }
    for url in filled(&turn.videos) {
        parts.push(json!({"type": "video_url", "video_url": {"url": url}}));
    }
    if parts.is_empty() {
        // Servers refuse an empty list of parts.
        return Value::String(String::new());
    }
    Value::Array(parts)
}

/// The format and base64 data of an audio clip given as `wav,<base64>` or as a
/// `data:audio/wav;base64,<base64>` URI (a clip without a format is taken as WAV).
fn audio_parts(clip: &str) -> (&str, &str) {
    if let Some(rest) = clip.strip_prefix("data:audio/") {
        let (header, data) = rest.split_once(',').unwrap_or(("", rest));
        let format = header.split(';').next().unwrap_or_default();
        return (if format.is_empty() { "wav" } else { format }, data);
    }
    match clip.split_once(',') {
        Some((format, data)) => (format, data),
        None => ("wav", clip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(texts: &[&str]) -> Turn {
        Turn {
            texts: texts.iter().map(|s| (*s).to_owned()).collect(),
            role: "user".into(),
            ..Turn::default()
        }
    }

    #[test]
    fn one_text_is_a_plain_chat_message() {
        let mut t = turn(&["a red car"]);
        t.system = Some("Represent the text.".into());
        let mut settings = super::super::rankings::test_settings("chat_embeddings");
        settings
            .extra_inputs
            .insert("encoding_format".into(), Value::from("float"));
        let body = ChatEmbeddings
            .body(&settings, "TIGER-Lab/VLM2Vec-Full", &t, &[])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"messages":[{"role":"system","content":"Represent the text."},{"role":"user","content":"a red car"}],"model":"TIGER-Lab/VLM2Vec-Full","stream":false,"encoding_format":"float"}"#
        );
        assert_eq!(ChatEmbeddings.default_path(false), "/v1/embeddings");
        assert!(!ChatEmbeddings.generates() && !ChatEmbeddings.streams());
    }

    #[test]
    fn media_become_content_parts() {
        let mut t = turn(&["describe", ""]);
        t.images = vec!["data:image/png;base64,iVBOR".into()];
        t.audios = vec!["wav,UklGR".into(), "data:audio/mp3;base64,SUQz".into()];
        t.videos = vec!["https://example.com/v.mp4".into()];
        t.max_tokens = Some(3);
        let body = ChatEmbeddings
            .body(
                &super::super::rankings::test_settings("chat_embeddings"),
                "m",
                &t,
                &[],
            )
            .unwrap();
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
                {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
            ])
        );
        assert_eq!(body["max_completion_tokens"], 3);
        assert_eq!(content(&turn(&[])), Value::String(String::new()));
    }

    #[test]
    fn answers_are_embeddings() {
        let read = |body: &str| ChatEmbeddings.decode(&[(4, Bytes::from(body.to_owned()))], false);
        let d = read(r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":7,"total_tokens":7}}"#).unwrap();
        assert_eq!(d.times, [(4, false)]);
        assert_eq!(d.usage.unwrap().prompt_tokens, Some(7));
        assert_eq!(read(r#"{"data":[]}"#).unwrap_err().kind, "EmptyResponse");
        assert_eq!(
            read(r#"{"choices":[{"message":{"content":"hi"}}]}"#)
                .unwrap_err()
                .kind,
            "InvalidResponse"
        );
    }
}
