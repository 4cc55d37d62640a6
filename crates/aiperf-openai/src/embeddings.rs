//! `/v1/embeddings`: request and response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    pub model: String,
    pub input: EmbeddingInput,
    /// `float` (default) or `base64` (little-endian `f32`s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Length of each vector, for models that can shorten them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What to embed: a text, a batch of texts, or token ids (one or a batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenBatches(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// The number of inputs in the batch.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(_) | Self::Tokens(_) => 1,
            Self::Texts(t) => t.len(),
            Self::TokenBatches(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An embeddings response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    pub model: String,
    pub data: Vec<Embedding>,
    pub usage: EmbeddingUsage,
}

/// One vector of the response, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub object: String,
    pub index: u32,
    /// Floats, or a base64 string with `encoding_format: "base64"`.
    pub embedding: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_shape_parses() {
        for (input, len) in [
            (serde_json::json!("one text"), 1),
            (serde_json::json!(["a", "b", "c"]), 3),
            (serde_json::json!([1, 2, 3]), 1),
            (serde_json::json!([[1, 2], [3]]), 2),
        ] {
            let req: EmbeddingRequest =
                serde_json::from_value(serde_json::json!({"model": "m", "input": input})).unwrap();
            assert_eq!(req.input.len(), len);
        }
        let req: EmbeddingRequest = serde_json::from_value(
            serde_json::json!({"model": "m", "input": "x", "dimensions": 8, "truncate": "END"}),
        )
        .unwrap();
        assert_eq!(req.dimensions, Some(8));
        assert_eq!(req.extra["truncate"], "END");
    }
}
