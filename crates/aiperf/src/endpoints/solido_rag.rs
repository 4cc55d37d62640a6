//! `solido_rag`: Solido's retrieval-augmented generation API, `POST /rag/api/prompt`. The body
//! is `{"query": [texts], "filters": {"family": "Solido", "tool": "SDE"}, "inference_model":
//! model}`, with `--extra-inputs` merged over it (other `filters`, say); no output cap is sent,
//! as the Python AIPerf sends none. Each turn stands alone.
//!
//! The answer is `{"content": text, "sources": ...}`, whole, or streamed as server-sent events
//! that each carry a piece of `content` (events without content, such as a last one with only
//! the `sources`, carry no output). It is read as the server sends it, whatever `--streaming`
//! asked for. The sources are not measured; the API reports no usage.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::raw::is_event_stream;
use super::template::all_texts;
use super::{
    Decoded, Endpoint, add_extra_inputs, invalid_answer, malformed_event, server_error, sse_events,
    whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

#[derive(Debug, Clone)]
pub(super) struct SolidoRag;

impl Endpoint for SolidoRag {
    fn name(&self) -> &'static str {
        "solido_rag"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/rag/api/prompt"
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let query: Vec<String> = all_texts(turn)
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect();
        let mut body = Map::new();
        body.insert("query".into(), json!(query));
        body.insert("filters".into(), json!({"family": "Solido", "tool": "SDE"}));
        body.insert("inference_model".into(), Value::String(model.to_owned()));
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "the Solido RAG body carries no output cap, so lengths are the model's own; compare \
         output_sequence_length rather than --osl"
    }

    fn usage_hint(&self) -> &'static str {
        "the Solido RAG API reports no usage: output lengths come from the tokenizer"
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        if is_event_stream(frames) {
            decode_stream(frames)
        } else {
            decode_whole(frames)
        }
    }
}

/// A whole answer, or one event of a stream.
#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
}

impl Answer<'_> {
    fn check(&self) -> Result<(), ErrorDetails> {
        match self.error.as_ref().filter(|e| !e.is_null()) {
            Some(error) => Err(server_error(error)),
            None => Ok(()),
        }
    }
}

fn decode_whole(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let body = whole(frames);
    let invalid = |why: String| invalid_answer(why, &body);
    let answer: Answer<'_> = serde_json::from_slice(&body).map_err(|e| {
        invalid(format!(
            "the response is not a Solido RAG JSON object ({e})"
        ))
    })?;
    answer.check()?;
    let Some(content) = answer.content else {
        return Err(invalid("the response has no content".into()));
    };
    Ok(Decoded::whole(
        frames,
        content.into_owned(),
        String::new(),
        None,
    ))
}

fn decode_stream(frames: &[(u64, Bytes)]) -> Result<Decoded, ErrorDetails> {
    let mut out = Decoded::default();
    sse_events(frames, |data, at| {
        if data.trim().is_empty() || data.trim() == "[DONE]" {
            out.finished |= data.trim() == "[DONE]";
            return Ok(());
        }
        let event: Answer<'_> =
            serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        event.check()?;
        if let Some(content) = event.content.filter(|c| !c.is_empty()) {
            out.times.push((at, true));
            out.output.push_str(&content);
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::frames;

    #[test]
    fn the_body_is_query_filters_and_model_with_extra_inputs_over_them() {
        let settings = EndpointConfig {
            urls: vec!["http://localhost:8000".into()],
            kind: crate::settings::EndpointKind("solido_rag".into()),
            path: "/rag/api/prompt".into(),
            streaming: true,
            timeout_secs: 10.0,
            api_key: None,
            headers: vec![],
            extra_inputs: [(
                "filters".to_owned(),
                json!({"family": "Solido", "tool": "SPICE"}),
            )]
            .into_iter()
            .collect(),
            use_server_token_count: false,
            use_legacy_max_tokens: false,
            connection_warmup: true,
            connection_reuse: Default::default(),
        };
        let turn = Turn {
            texts: vec![
                "How do I run a sweep?".into(),
                String::new(),
                "In SDE".into(),
            ],
            role: "user".into(),
            max_tokens: Some(64),
            system: Some("ignored".into()),
            ..Turn::default()
        };
        let body = SolidoRag.body(&settings, "llama", &turn, &[]).unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"query":["How do I run a sweep?","In SDE"],"filters":{"family":"Solido","tool":"SPICE"},"inference_model":"llama"}"#
        );
        assert_eq!(SolidoRag.default_path(true), "/rag/api/prompt");
    }

    #[test]
    fn whole_and_streamed_answers() {
        let d = SolidoRag
            .decode(
                &frames(&[(
                    7,
                    r#"{"content":"Use the sweep tool.","sources":[{"page":3}]}"#,
                )]),
                false,
            )
            .unwrap();
        assert_eq!(
            (d.output.as_str(), d.times.as_slice()),
            ("Use the sweep tool.", &[(7, true)][..])
        );
        let f = frames(&[
            (10, "data: {\"content\":\"Use\"}\n\n"),
            (
                20,
                "data: {\"content\":\" it\"}\n\ndata: {\"content\":\"\",\"sources\":[]}\n\n",
            ),
        ]);
        // Streamed whatever --streaming said.
        for streaming in [true, false] {
            let d = SolidoRag.decode(&f, streaming).unwrap();
            assert_eq!(d.output, "Use it");
            assert_eq!(d.times, [(10, true), (20, true)]);
        }
    }

    #[test]
    fn bad_answers_are_typed_errors() {
        for (body, kind, needle) in [
            (r#"{"sources":[]}"#, "InvalidResponse", "no content"),
            (
                "<html>502</html>",
                "InvalidResponse",
                "not a Solido RAG JSON object",
            ),
            (
                r#"{"content":"Use"#,
                "InvalidResponse",
                "not a Solido RAG JSON object",
            ),
            (
                r#"{"error":"retriever down"}"#,
                "ServerError",
                "retriever down",
            ),
            (
                "data: {\"content\":\"Us\n\n",
                "StreamError",
                "malformed JSON",
            ),
            (
                "data: {\"error\":{\"message\":\"boom\"}}\n\n",
                "ServerError",
                "boom",
            ),
        ] {
            let e = SolidoRag.decode(&frames(&[(1, body)]), true).unwrap_err();
            assert_eq!(e.kind, kind, "{body}");
            assert!(e.message.contains(needle), "{e:?}");
        }
    }
}
