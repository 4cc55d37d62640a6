//! Types shared by the chat and completions endpoints.

use serde::{Deserialize, Serialize};

/// Token accounting reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

impl Usage {
    /// Usage for `prompt` input tokens and `completion` output tokens, of which `reasoning` were
    /// reasoning tokens (reported only when non-zero).
    pub fn new(prompt: u64, completion: u64, reasoning: u64) -> Self {
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            completion_tokens_details: (reasoning > 0).then_some(CompletionTokensDetails {
                reasoning_tokens: Some(reasoning),
            }),
            prompt_tokens_details: None,
        }
    }

    /// Reasoning tokens included in `completion_tokens`, zero when the server did not say.
    pub fn reasoning_tokens(&self) -> u64 {
        self.completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
}

/// `stream_options` of a streaming request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for a final chunk carrying `usage` (and an empty `choices` list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// vLLM extension: attach running `usage` to every chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous_usage_stats: Option<bool>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A stop sequence or the end-of-sequence token.
    Stop,
    /// `max_tokens` (or the context length) was reached.
    Length,
    ToolCalls,
    ContentFilter,
    FunctionCall,
    /// The request was aborted by the server.
    Abort,
    /// Any reason this crate does not know; kept so a new server value never fails a parse.
    #[serde(other)]
    Unknown,
}

/// The body of an OpenAI-style error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorBody {
    /// An error body in the shape vLLM and OpenAI use, with the HTTP status as `code`.
    pub fn new(status: u16, kind: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.to_owned(),
                param: param.map(str::to_owned),
                code: Some(status.into()),
            },
        }
    }
}

/// `GET /v1/models` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    pub object: String,
    pub data: Vec<Model>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub owned_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_model_len: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_round_trips_with_reasoning_details() {
        let usage = Usage::new(10, 20, 5);
        let text = serde_json::to_string(&usage).unwrap();
        assert_eq!(
            text,
            r#"{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"completion_tokens_details":{"reasoning_tokens":5}}"#
        );
        let back: Usage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, usage);
        assert_eq!(back.reasoning_tokens(), 5);
        assert_eq!(Usage::new(1, 2, 0).reasoning_tokens(), 0);
    }

    #[test]
    fn unknown_finish_reason_still_parses() {
        let r: FinishReason = serde_json::from_str(r#""eos_token""#).unwrap();
        assert_eq!(r, FinishReason::Unknown);
        let r: FinishReason = serde_json::from_str(r#""length""#).unwrap();
        assert_eq!(r, FinishReason::Length);
    }

    #[test]
    fn error_body_has_openai_shape() {
        let body = ErrorBody::new(404, "NotFoundError", "no such model", Some("model"));
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["error"]["type"], "NotFoundError");
        assert_eq!(v["error"]["code"], 404);
        assert_eq!(v["error"]["param"], "model");
    }
}
