//! `cohere_rankings`: Cohere's rerank API (`/v2/rerank`). The body is `{"model", "query",
//! "documents": [...]}` and `--extra-inputs` (such as `top_n:3`); the answer's `results` list
//! (`{"index", "relevance_score"}` per document) must not be empty.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::rankings::{self, RankingsField};
use super::{Decoded, Endpoint, add_extra_inputs};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct CohereRankings;

impl Endpoint for CohereRankings {
    fn name(&self) -> &'static str {
        "cohere_rankings"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v2/rerank"
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
        let (query, passages) = rankings::query_and_passages(turn);
        let mut body = Map::new();
        body.insert("model".into(), Value::String(model.to_owned()));
        body.insert("query".into(), Value::String(query));
        body.insert(
            "documents".into(),
            passages.into_iter().map(Value::String).collect(),
        );
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        rankings::decode(frames, RankingsField::Results, "Cohere")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_query_and_documents() {
        let turn = Turn {
            named_texts: vec![
                ("query".into(), vec!["what is a GPU?".into()]),
                ("passages".into(), vec!["a chip".into()]),
            ],
            ..Turn::default()
        };
        let mut settings =
            crate::endpoints::test_support::settings("cohere_rankings", false, Value::Null);
        settings.extra_inputs.insert("top_n".into(), Value::from(1));
        let body = CohereRankings
            .body(&settings, "rerank-v3.5", &turn, &[])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"rerank-v3.5","query":"what is a GPU?","documents":["a chip"],"top_n":1}"#
        );
        assert_eq!(CohereRankings.default_path(false), "/v2/rerank");
    }

    #[test]
    fn answers_are_read_from_results() {
        let read = |body: &str| CohereRankings.decode(&[(4, Bytes::from(body.to_owned()))], false);
        assert!(
            read(r#"{"id":"x","results":[{"index":0,"relevance_score":0.9}],"meta":{}}"#).is_ok()
        );
        assert_eq!(
            read(r#"{"rankings":[{"index":0}]}"#).unwrap_err().kind,
            "EmptyResponse"
        );
        let e = read(r#"{"message":"invalid api token"}"#).unwrap_err();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("ServerError", "invalid api token")
        );
    }
}
