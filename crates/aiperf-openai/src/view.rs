//! Borrowed views of responses, for reading many of them fast: a chat or completions body or
//! stream chunk ([`ResponseView`]) and an embeddings body ([`EmbeddingsView`]).
//!
//! Strings borrow from the input unless they hold escapes, only the first choice is kept and
//! the rest skipped, and unknown fields are ignored: parsing a stream chunk allocates almost
//! nothing. The full types in [`crate::chat`] and [`crate::completions`] are for building and
//! checking messages; these are for measuring them.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// One response body or stream chunk of `/v1/chat/completions` or `/v1/completions`, or an
/// error in either shape servers use.
#[derive(Debug, Deserialize)]
pub struct ResponseView<'a> {
    /// The first choice (later ones are skipped).
    #[serde(default, borrow, deserialize_with = "first_choice")]
    pub choices: Option<ChoiceView<'a>>,
    pub usage: Option<UsageView>,
    /// OpenAI's `{"error": {...}}`, or TGI's `{"error": "text"}`.
    pub error: Option<Value>,
    /// vLLM answers errors as a top-level object: `{"object": "error", "message", "code"}`.
    #[serde(borrow)]
    pub object: Option<Cow<'a, str>>,
    pub message: Option<Value>,
    pub code: Option<Value>,
}

impl ResponseView<'_> {
    /// The error this body carries, as (code, message), in any of the shapes servers use.
    pub fn error(&self) -> Option<(Option<u16>, String)> {
        if let Some(error) = &self.error {
            return Some(error_parts(error));
        }
        if self.object.as_deref() == Some("error") {
            let mut error = serde_json::Map::new();
            error.insert(
                "message".into(),
                self.message.clone().unwrap_or(Value::Null),
            );
            error.insert("code".into(), self.code.clone().unwrap_or(Value::Null));
            return Some(error_parts(&Value::Object(error)));
        }
        None
    }
}

/// One choice: a chat `delta` (stream) or `message` (body), or a completions `text`.
#[derive(Debug, Deserialize)]
pub struct ChoiceView<'a> {
    #[serde(borrow)]
    pub finish_reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub delta: Option<TextView<'a>>,
    #[serde(borrow)]
    pub message: Option<TextView<'a>>,
    #[serde(borrow)]
    pub text: Option<Cow<'a, str>>,
}

impl<'a> ChoiceView<'a> {
    /// (content, reasoning) of this choice, whichever field carried them.
    pub fn into_texts(self) -> (Cow<'a, str>, Cow<'a, str>) {
        let text = self.delta.or(self.message).unwrap_or_default();
        let content = text.content.or(self.text).unwrap_or_default();
        let reasoning = text
            .reasoning_content
            .or(text.reasoning)
            .unwrap_or_default();
        (content, reasoning)
    }
}

/// The text of a chat message or delta: its content and the reasoning some servers send
/// beside it (`reasoning_content`, or `reasoning`).
#[derive(Debug, Default, Deserialize)]
pub struct TextView<'a> {
    #[serde(borrow)]
    pub content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reasoning: Option<Cow<'a, str>>,
}

/// The token counts a server reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct UsageView {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub completion_tokens_details: Option<DetailsView>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DetailsView {
    pub reasoning_tokens: Option<u64>,
}

impl UsageView {
    /// Reasoning tokens among the completion tokens (0 when not reported).
    pub fn reasoning(&self) -> u64 {
        self.completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0)
    }
}

/// An embeddings response: one vector per input; only their number and the usage are read.
#[derive(Debug, Deserialize)]
pub struct EmbeddingsView {
    pub data: Vec<EmbeddingView>,
    pub usage: Option<UsageView>,
}

#[derive(Debug, Deserialize)]
pub struct EmbeddingView {
    /// Required, never read.
    #[serde(rename = "embedding")]
    _vector: serde::de::IgnoredAny,
}

/// The code and message of an error object: OpenAI's `{"message", "type", "code"}`, a bare
/// string (TGI), or anything else (kept as JSON text). A code counts when it is an HTTP status
/// (a number or a numeric string).
pub fn error_parts(error: &Value) -> (Option<u16>, String) {
    let code = error.get("code").and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let code = code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..600).contains(c));
    let message = match error {
        Value::String(s) => s.clone(),
        _ => match error.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => error.to_string(),
        },
    };
    (code, message)
}

/// Deserializes the first element of `choices` and skips the rest.
fn first_choice<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ChoiceView<'de>>, D::Error> {
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Option<ChoiceView<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of choices")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<ChoiceView<'de>>()?;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(Visit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_the_first_choice_and_the_usage() {
        let chunk = r#"{"id":"x","choices":[{"index":0,"delta":{"content":"hé\"y","reasoning_content":"r"},"finish_reason":null},{"index":1,"delta":{"content":"no"}}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8,"completion_tokens_details":{"reasoning_tokens":2}}}"#;
        let v: ResponseView<'_> = serde_json::from_str(chunk).unwrap();
        let usage = v.usage.unwrap();
        assert_eq!((usage.completion_tokens, usage.reasoning()), (Some(5), 2));
        let (content, reasoning) = v.choices.unwrap().into_texts();
        assert_eq!((content.as_ref(), reasoning.as_ref()), ("hé\"y", "r"));
        let text: ResponseView<'_> =
            serde_json::from_str(r#"{"choices":[{"text":" a","finish_reason":"length"}]}"#)
                .unwrap();
        let choice = text.choices.unwrap();
        assert_eq!(choice.finish_reason.as_deref(), Some("length"));
        assert_eq!(choice.into_texts().0, " a");
    }

    #[test]
    fn errors_in_every_shape() {
        let e = |s: &str| serde_json::from_str::<ResponseView<'_>>(s).unwrap().error();
        assert_eq!(
            e(r#"{"error":{"message":"boom","type":"x","code":500}}"#),
            Some((Some(500), "boom".into()))
        );
        assert_eq!(
            e(r#"{"error":"too long"}"#),
            Some((None, "too long".into()))
        );
        assert_eq!(
            e(r#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#),
            Some((Some(400), "bad".into()))
        );
        assert_eq!(
            e(r#"{"error":{"message":"m","code":"429"}}"#),
            Some((Some(429), "m".into()))
        );
        assert_eq!(e(r#"{"choices":[]}"#), None);
    }
}
