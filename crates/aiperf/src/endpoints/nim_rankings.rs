//! `nim_rankings`: NVIDIA NIM reranking (`/v1/ranking`). The body is `{"model", "query":
//! {"text"}, "passages": [{"text"}, ...]}` and `--extra-inputs` (such as `truncate:END`); the
//! answer's `rankings` list (`{"index", "logit"}` per passage) must not be empty.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::rankings::{self, RankingsField};
use super::{Decoded, Endpoint, add_extra_inputs};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct NimRankings;

impl Endpoint for NimRankings {
    fn name(&self) -> &'static str {
        "nim_rankings"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/ranking"
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
        body.insert("query".into(), json!({ "text": query }));
        body.insert(
            "passages".into(),
            passages.into_iter().map(|p| json!({ "text": p })).collect(),
        );
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        rankings::decode(frames, RankingsField::Rankings, "NIM")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::by_name;

    #[test]
    fn the_body_is_a_query_object_and_passage_objects() {
        let turn = Turn {
            named_texts: vec![
                ("query".into(), vec!["what is a GPU?".into()]),
                ("passages".into(), vec!["a chip".into(), "a fish".into()]),
            ],
            max_tokens: Some(5),
            ..Turn::default()
        };
        let mut settings =
            crate::endpoints::test_support::settings("nim_rankings", false, Value::Null);
        settings
            .extra_inputs
            .insert("truncate".into(), Value::from("END"));
        let body = NimRankings
            .body(&settings, "nvidia/rerank", &turn, &[])
            .unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"nvidia/rerank","query":{"text":"what is a GPU?"},"passages":[{"text":"a chip"},{"text":"a fish"}],"truncate":"END"}"#
        );
        let e = by_name("nim_rankings").unwrap();
        assert_eq!(e.default_path(false), "/v1/ranking");
        assert!(!e.generates() && !e.streams() && !e.batches());
    }

    #[test]
    fn answers_are_read_from_rankings() {
        let ok = |body: &str| NimRankings.decode(&[(4, Bytes::from(body.to_owned()))], false);
        let d = ok(r#"{"rankings":[{"index":1,"logit":3.2},{"index":0,"logit":-1.5}]}"#).unwrap();
        assert_eq!(d.times, [(4, false)]);
        assert_eq!(
            ok(r#"{"results":[{"index":0}]}"#).unwrap_err().kind,
            "EmptyResponse"
        );
        assert_eq!(ok("[]").unwrap_err().kind, "InvalidResponse");
    }
}
