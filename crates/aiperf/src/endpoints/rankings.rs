//! What the rankings (rerank) types share: a request is one query and the passages to rank
//! against it, an answer is a list of scored passages. Nothing is generated and answers are
//! never streamed, so only latency and the input (query and passages) are measured.
//!
//! The query and passages come from texts named `query` (or `queries`, the older name) and
//! `passages`: synthetic rankings data, or an input file's `{"texts": [{"name": "query",
//! "contents": [...]}, {"name": "passages", "contents": [...]}]}`. When several queries are
//! given the first is used. A turn without a named query (an input file of plain `texts`)
//! sends its first text as the query and the others as the passages.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::{Decoded, invalid_answer, server_error, snippet, whole};
use crate::dataset::Turn;
use crate::record::ErrorDetails;

/// The query of `turn` and the passages to rank.
pub(super) fn query_and_passages(turn: &Turn) -> (String, Vec<String>) {
    let queries = turn.named(&["query", "queries"]);
    if let Some(query) = queries.first() {
        let passages = turn.named(&["passages"]);
        return (
            (*query).to_owned(),
            passages.into_iter().map(str::to_owned).collect(),
        );
    }
    match turn.texts.split_first() {
        Some((query, passages)) => (query.clone(), passages.to_vec()),
        None => (String::new(), Vec::new()),
    }
}

/// Where an API puts its list of ranked passages.
#[derive(Debug, Clone, Copy)]
pub(super) enum RankingsField {
    /// `{"rankings": [{"index", "logit"}, ...]}` (NVIDIA NIM).
    Rankings,
    /// `{"results": [{"index", "relevance_score"}, ...]}` (Cohere).
    Results,
    /// A bare list `[{"index", "score"}, ...]`, or `{"results": [...]}` (Hugging Face TEI).
    ListOrResults,
}

impl RankingsField {
    fn name(self) -> &'static str {
        match self {
            Self::Rankings => "rankings",
            Self::Results | Self::ListOrResults => "results",
        }
    }
}

/// An answer's fields that matter: the ranked passages (counted, not read) and the error
/// shapes servers use (`error`: OpenAI's object or TEI's string; `detail`: FastAPI's, as NIM
/// answers; `message`: Cohere's).
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    rankings: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    results: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    detail: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
}

/// Decodes a whole rankings answer, `api` naming the API in messages. An answer without
/// rankings is an error: the server ranked nothing.
pub(super) fn decode(
    frames: &[(u64, Bytes)],
    field: RankingsField,
    api: &str,
) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let is_list = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let count = if is_list && matches!(field, RankingsField::ListOrResults) {
        serde_json::from_slice::<Vec<IgnoredAny>>(&body)
            .map_err(|e| invalid(format!("the response is not a {api} rankings list ({e})")))?
            .len()
    } else if is_list {
        return Err(invalid(format!(
            "the response is a list, not a {api} rankings JSON object"
        )));
    } else {
        let answer = serde_json::from_slice::<Answer>(&body).map_err(|e| {
            invalid(format!(
                "the response is not a {api} rankings JSON object ({e})"
            ))
        })?;
        let list = match field {
            RankingsField::Rankings => &answer.rankings,
            RankingsField::Results | RankingsField::ListOrResults => &answer.results,
        };
        let count = list.as_ref().map_or(0, Vec::len);
        if count == 0
            && let Some(error) = (answer.error.as_ref())
                .or(answer.detail.as_ref())
                .or(answer.message.as_ref())
        {
            return Err(server_error(error));
        }
        count
    };
    if count == 0 {
        return Err(ErrorDetails::new(
            None,
            "EmptyResponse",
            format!(
                "the server answered with no rankings (no entries in `{}`): {:?}",
                field.name(),
                snippet(&body)
            ),
        ));
    }
    Ok(Decoded::answered(frames, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(body: &str) -> Vec<(u64, Bytes)> {
        vec![(3, Bytes::from(body.to_owned())), (9, Bytes::new())]
    }

    fn named(texts: &[(&str, &[&str])]) -> Turn {
        Turn {
            named_texts: texts
                .iter()
                .map(|(n, c)| ((*n).to_owned(), c.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
            ..Turn::default()
        }
    }

    #[test]
    fn the_query_and_passages_come_from_named_texts() {
        let turn = named(&[
            ("passages", &["p1"]),
            ("queries", &["q1", "q2"]),
            ("other", &["x"]),
            ("passages", &["p2"]),
        ]);
        assert_eq!(
            query_and_passages(&turn),
            ("q1".to_owned(), vec!["p1".to_owned(), "p2".to_owned()])
        );
        let plain = Turn {
            texts: vec!["q".into(), "a".into(), "b".into()],
            ..Turn::default()
        };
        assert_eq!(
            query_and_passages(&plain),
            ("q".to_owned(), vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn answers_need_rankings() {
        let ok = decode(
            &frames(r#"{"rankings":[{"index":1,"logit":2.5}]}"#),
            RankingsField::Rankings,
            "NIM",
        )
        .unwrap();
        assert_eq!(ok.times, [(9, false)]);
        assert!(ok.finished && ok.output.is_empty());
        let list = frames(r#" [{"index":0,"score":0.9}]"#);
        assert!(decode(&list, RankingsField::ListOrResults, "TEI").is_ok());
        let e = decode(&list, RankingsField::Rankings, "NIM").unwrap_err();
        assert_eq!(e.kind, "InvalidResponse");
        for (body, kind, needle) in [
            (r#"{"rankings":[]}"#, "EmptyResponse", "no rankings"),
            (r#"{"data":[]}"#, "EmptyResponse", "`rankings`"),
            (
                r#"{"rankings":"x"}"#,
                "InvalidResponse",
                "not a NIM rankings",
            ),
            ("<html>bad gateway</html>", "InvalidResponse", "bad gateway"),
            (
                r#"{"error":{"message":"busy","code":503}}"#,
                "ServerError",
                "busy",
            ),
            (r#"{"detail":"query too long"}"#, "ServerError", "too long"),
        ] {
            let e = decode(&frames(body), RankingsField::Rankings, "NIM").unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{body}: {e:?}");
        }
        let e = decode(&frames("[]"), RankingsField::ListOrResults, "TEI").unwrap_err();
        assert_eq!(e.kind, "EmptyResponse");
    }
}
