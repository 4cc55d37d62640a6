//! `/v1/chat/completions`: request, full response and streaming chunk.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::{FinishReason, StreamOptions, Usage};

/// A chat completion request.
///
/// Fields the crate does not model (sampling parameters, tools, vendor extensions) are kept in
/// [`extra`](Self::extra) so a request can be forwarded or echoed without losing anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Legacy output cap, still the one most servers read first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Current OpenAI name of the output cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// vLLM extension: do not stop before this many tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u64>,
    /// vLLM extension: ignore the end-of-sequence token, so the output is exactly the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_eos: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatCompletionRequest {
    /// The output cap the server should honour: `max_completion_tokens` wins over `max_tokens`.
    pub fn output_cap(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    pub fn is_streaming(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// A plain-text message.
    pub fn text(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: Some(MessageContent::Text(content.into())),
            ..Self::default()
        }
    }
}

/// Message content: a string, or a list of typed parts (text, images, audio, video).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// Calls `f` with every text fragment, in order.
    pub fn for_each_text<'a>(&'a self, mut f: impl FnMut(&'a str)) {
        match self {
            Self::Text(text) => f(text),
            Self::Parts(parts) => parts.iter().for_each(|part| {
                if let ContentPart::Text { text } = part {
                    f(text);
                }
            }),
        }
    }
}

/// A typed part of multimodal message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    Text { text: String },
    ImageUrl { image_url: Value },
    InputAudio { input_audio: Value },
    VideoUrl { video_url: Value },
}

/// A complete (non-streaming) chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChatChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChoice {
    pub index: u32,
    pub message: ResponseMessage,
    #[serde(default)]
    pub logprobs: Option<Value>,
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
}

/// The assistant message of a complete response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    /// Reasoning text of reasoning models (vLLM and SGLang name it `reasoning_content`;
    /// newer servers also accept `reasoning`).
    #[serde(default, alias = "reasoning", skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

/// One server-sent chunk of a streaming chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    #[serde(default)]
    pub logprobs: Option<Value>,
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
}

/// The incremental part of a streaming chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, alias = "reasoning", skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::StreamOptions;

    #[test]
    fn request_keeps_unknown_fields_and_reads_caps() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],
            "max_tokens":5,"max_completion_tokens":7,"ignore_eos":true,"min_tokens":7,
            "stream":true,"stream_options":{"include_usage":true},"temperature":0.2}"#;
        let req: ChatCompletionRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.output_cap(), Some(7));
        assert_eq!(req.ignore_eos, Some(true));
        assert_eq!(req.min_tokens, Some(7));
        assert!(req.is_streaming());
        assert!(req.include_usage());
        assert_eq!(req.extra["temperature"], 0.2);
        let again: ChatCompletionRequest =
            serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        assert_eq!(again, req);
    }

    #[test]
    fn request_serializes_only_set_fields() {
        let req = ChatCompletionRequest {
            model: "m".into(),
            messages: vec![ChatMessage::text("user", "hello")],
            stream: Some(true),
            stream_options: Some(StreamOptions {
                include_usage: Some(true),
                continuous_usage_stats: None,
            }),
            max_tokens: Some(16),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":16}"#
        );
    }

    #[test]
    fn multimodal_content_yields_its_text_parts() {
        let body = r#"{"role":"user","content":[
            {"type":"text","text":"a"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
            {"type":"text","text":"b"}]}"#;
        let msg: ChatMessage = serde_json::from_str(body).unwrap();
        let mut texts = Vec::new();
        let content = msg.content.unwrap();
        content.for_each_text(|t| texts.push(t));
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn parses_a_vllm_stream_chunk() {
        let chunk = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
            "choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}"#;
        let c: ChatCompletionChunk = serde_json::from_str(chunk).unwrap();
        assert_eq!(c.choices[0].delta.content.as_deref(), Some(" the"));
        assert_eq!(c.usage, None);

        let last = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
            "choices":[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}"#;
        let c: ChatCompletionChunk = serde_json::from_str(last).unwrap();
        assert!(c.choices.is_empty());
        assert_eq!(c.usage.unwrap().completion_tokens, 2);
    }

    #[test]
    fn reasoning_alias_is_accepted() {
        let d: Delta = serde_json::from_str(r#"{"reasoning":"think"}"#).unwrap();
        assert_eq!(d.reasoning_content.as_deref(), Some("think"));
    }
}
