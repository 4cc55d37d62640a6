//! `hf_tei_rankings`: Hugging Face Text Embeddings Inference reranking (`/rerank`). The body is
//! `{"query", "texts": [...]}` and `--extra-inputs` (such as `raw_scores:true`); TEI serves one
//! model, so none is named. The answer is a list of `{"index", "score"}` (or an object with
//! `results`) that must not be empty.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::rankings::{self, RankingsField};
use super::{Decoded, Endpoint, add_extra_inputs};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct HfTeiRankings;

impl Endpoint for HfTeiRankings {
    fn name(&self) -> &'static str {
        "hf_tei_rankings"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/rerank"
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
        _model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let (query, passages) = rankings::query_and_passages(turn);
        let mut body = Map::new();
        body.insert("query".into(), Value::String(query));
        body.insert(
            "texts".into(),
            passages.into_iter().map(Value::String).collect(),
        );
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        rankings::decode(frames, RankingsField::ListOrResults, "TEI")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_query_and_texts_without_a_model() {
        let turn = Turn {
            named_texts: vec![
                ("passages".into(), vec!["a chip".into(), "a fish".into()]),
                ("query".into(), vec!["what is a GPU?".into()]),
            ],
            ..Turn::default()
        };
        let mut settings =
            crate::endpoints::test_support::settings("hf_tei_rankings", false, Value::Null);
        settings
            .extra_inputs
            .insert("raw_scores".into(), Value::Bool(true));
        let body = HfTeiRankings
            .body(&settings, "BAAI/bge-reranker-base", &turn, &[])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"query":"what is a GPU?","texts":["a chip","a fish"],"raw_scores":true}"#
        );
        assert_eq!(HfTeiRankings.default_path(false), "/rerank");
    }

    #[test]
    fn answers_are_a_list_or_results() {
        let read = |body: &str| HfTeiRankings.decode(&[(4, Bytes::from(body.to_owned()))], false);
        assert!(read(r#"[{"index":1,"score":0.98},{"index":0,"score":0.01}]"#).is_ok());
        assert!(read(r#"{"results":[{"index":0,"score":0.5}]}"#).is_ok());
        assert_eq!(read("[]").unwrap_err().kind, "EmptyResponse");
        let e =
            read(r#"{"error":"Input validation error","error_type":"Validation"}"#).unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("ServerError", "Input validation error")
        );
        assert_eq!(read("[1, 2").unwrap_err().kind, "InvalidResponse");
    }
}
