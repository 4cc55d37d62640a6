//! `chat_embeddings`: embeddings of chat messages (`/v1/embeddings`), the request shape vLLM
//! needs for multimodal embedding models (VLM2Vec and the like). The body is `chat`'s for the
//! turn alone: `messages` (the system and context prompts, then the turn as a user message
//! whose content is its text, or content parts for several texts, images, audio and video),
//! `model`, `stream: false`, the output cap when a turn carries one, and `--extra-inputs`. The answer is an OpenAI embeddings
//! body, read as `embeddings` reads it; nothing is generated and answers are never streamed,
//! so only latency and the input are measured. Each turn stands alone.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::chat::Chat;
use super::{Decoded, Endpoint, embeddings};
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
        // A chat request of the turn alone (answers are never streamed: `stream` is false).
        Chat.body(settings, model, turn, &[])
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        embeddings::decode(frames)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::{settings, turn};

    #[test]
    fn one_text_is_a_plain_chat_message() {
        let mut t = turn(&["a red car"], None);
        t.system = Some("Represent the text.".into());
        let mut settings = settings("chat_embeddings", false, Value::Null);
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
        let mut t = turn(&["describe", ""], None);
        t.images = vec!["data:image/png;base64,iVBOR".into()];
        t.audios = vec!["wav,UklGR".into(), "data:audio/mp3;base64,SUQz".into()];
        t.videos = vec!["https://example.com/v.mp4".into()];
        t.max_tokens = Some(3);
        let settings = settings("chat_embeddings", false, Value::Null);
        let body = ChatEmbeddings.body(&settings, "m", &t, &[]).unwrap();
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
        // No content at all is an empty string: servers refuse an empty list of parts.
        let body = ChatEmbeddings
            .body(&settings, "m", &turn(&[], None), &[])
            .unwrap();
        assert_eq!(body["messages"][0]["content"], "");
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
