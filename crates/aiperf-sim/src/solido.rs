//! Solido's retrieval-augmented generation API, `POST /rag/api/prompt`: `{"query": [texts],
//! "filters": {...}, "inference_model": model}`. The answer is generated like any completion
//! (the engine's timing, faults and records); whole, it is `{"content": text, "sources":
//! [...]}`; streamed (when the client accepts `text/event-stream`, or the body says
//! `"stream": true`), one event per token with its piece of `content`, then a last event with
//! an empty `content` and the `sources`. The body carries no output cap; a `max_tokens` in it
//! (from `--extra-inputs`) is honoured, as are `min_tokens` and `ignore_eos`.

use http::header;
use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, parse_json};
use crate::stream::Job;
use crate::wire::{Events, Wire, WireRequest, json_string};

pub(crate) const PATH: &str = "/rag/api/prompt";

/// The API, answering whole or streamed.
#[derive(Debug)]
pub(crate) struct Solido {
    stream: bool,
}

static WHOLE: Solido = Solido { stream: false };
static STREAMED: Solido = Solido { stream: true };

/// The API for `req`: streamed when the client accepts server-sent events (the body has no
/// switch for it).
pub(crate) fn for_request(req: &Request<Incoming>) -> &'static dyn Wire {
    let accepts_events = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    if accepts_events { &STREAMED } else { &WHOLE }
}

#[derive(Debug, Deserialize)]
struct PromptRequest {
    query: Query,
    inference_model: String,
    #[serde(default)]
    filters: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    min_tokens: Option<u64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Query {
    One(String),
    Many(Vec<String>),
}

impl Wire for Solido {
    fn path(&self) -> &'static str {
        PATH
    }

    fn id_prefix(&self) -> &'static str {
        "rag"
    }

    fn parse(&self, body: &[u8]) -> Result<WireRequest, ApiError> {
        let req: PromptRequest = parse_json(body)?;
        let texts = match req.query {
            Query::One(text) => vec![text],
            Query::Many(texts) => texts,
        };
        if texts.iter().all(|t| t.trim().is_empty()) {
            return Err(ApiError::bad_request(
                "query: at least one non-empty text is required",
                Some("query"),
            ));
        }
        if req.filters.as_ref().is_some_and(|f| !f.is_object()) {
            return Err(ApiError::bad_request(
                "filters must be an object, e.g. {\"family\": \"Solido\", \"tool\": \"SDE\"}",
                Some("filters"),
            ));
        }
        if req.max_tokens == Some(0) {
            return Err(ApiError::bad_request(
                "max_tokens must be at least 1",
                Some("max_tokens"),
            ));
        }
        Ok(WireRequest {
            model: req.inference_model,
            stream: self.stream || req.stream.unwrap_or(false),
            texts,
            seed: None,
            cap: req.max_tokens.map(|cap| (cap, "max_tokens")),
            min_tokens: req.min_tokens,
            ignore_eos: req.ignore_eos.unwrap_or(false),
        })
    }

    fn opening(&self, _job: &Job, _out: &mut Events) {}

    fn token(&self, _job: &Job, _index: u32, text: &str, _reasoning: &str, out: &mut Events) {
        out.push("message", format!("{{\"content\":{}}}", json_string(text)));
    }

    fn closing(&self, job: &Job, _reasoning: &str, _content: &str, out: &mut Events) {
        out.push(
            "message",
            json!({"content": "", "sources": sources(job)}).to_string(),
        );
    }

    fn whole(&self, job: &Job, reasoning: &str, content: &str) -> String {
        json!({"content": format!("{reasoning}{content}"), "sources": sources(job)}).to_string()
    }
}

/// The documents the answer cites (stand-ins, the same for the same prompt length).
fn sources(job: &Job) -> Value {
    let page = 1 + job.prompt_tokens % 300;
    json!([
        {"document": "SDE_User_Guide.pdf", "page": page, "score": 0.82},
        {"document": "Solido_Variation_Designer.pdf", "page": page / 2 + 1, "score": 0.67},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testing;

    #[test]
    fn a_query_list_or_text_with_an_optional_cap() {
        let r = WHOLE
            .parse(br#"{"query":["How?","In SDE"],"filters":{"family":"Solido","tool":"SDE"},"inference_model":"m"}"#)
            .unwrap();
        assert_eq!((r.model.as_str(), r.stream, r.cap), ("m", false, None));
        assert_eq!(r.texts, ["How?", "In SDE"]);
        let r = STREAMED
            .parse(br#"{"query":"How?","inference_model":"m","max_tokens":5}"#)
            .unwrap();
        assert_eq!((r.stream, r.cap), (true, Some((5, "max_tokens"))));
        for (body, param) in [
            (&br#"{"query":[],"inference_model":"m"}"#[..], "query"),
            (
                br#"{"query":["a"],"inference_model":"m","filters":[1]}"#,
                "filters",
            ),
        ] {
            let e = WHOLE.parse(body).unwrap_err();
            assert_eq!((e.status, e.param.as_deref()), (400, Some(param)));
        }
        assert_eq!(WHOLE.parse(br#"{"query":["a"]}"#).unwrap_err().status, 400);
    }

    #[test]
    fn one_content_event_per_token_then_the_sources() {
        let job = testing::job(&STREAMED, 3, 0, false);
        let events = testing::stream(&job);
        let contents: Vec<&str> = events
            .iter()
            .map(|(_, d)| d["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, [" w0", " w1", " w2", ""]);
        assert!(events[3].1["sources"].is_array());
        let whole: Value = serde_json::from_str(&WHOLE.whole(&job, "", "Use it.")).unwrap();
        assert_eq!(whole["content"], "Use it.");
        assert_eq!(whole["sources"].as_array().unwrap().len(), 2);
    }
}
