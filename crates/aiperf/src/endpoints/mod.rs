//! Endpoint types as plug-ins. Each file implements [`Endpoint`]: the request body of a turn,
//! how a response (a body or a stream) decodes into content, reasoning, usage or an error, and
//! which metrics apply. Nothing else in the program knows an endpoint's wire format: the load
//! generator sends what [`Endpoint::body`] builds, the collector measures what
//! [`Endpoint::decode`] finds.
//!
//! A run holds its endpoint type configured for it ([`configure`]): what the type prepares once
//! from the run's settings (a compiled template, a response field) lives in that instance, not in
//! the process.
//!
//! A new endpoint type is a new file here and one line in [`ALL`].

mod audio_transcription;
mod chat;
mod chat_embeddings;
mod cohere_rankings;
mod completions;
mod embeddings;
mod hf_tei_rankings;
mod hooks;
mod huggingface_generate;
mod image_edit;
mod image_generation;
mod image_retrieval;
mod messages;
pub mod multipart;
mod nim_embeddings;
mod nim_rankings;
mod openai;
mod rankings;
mod raw;
mod responses;
mod solido_rag;
mod template;
#[cfg(test)]
mod test_support;
mod video_generation;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

pub use self::chat::message;
pub use self::hooks::{FollowUp, Inputs, Location, Media, ServerFigures};
pub use self::template::check_body_template;
use crate::UsageError;
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::{EndpointConfig, Polling};

/// Every endpoint type, by `--endpoint-type` name.
pub const ALL: &[&dyn Endpoint] = &[
    &chat::Chat,
    &completions::Completions,
    &embeddings::Embeddings,
    &huggingface_generate::HuggingFaceGenerate,
    &nim_rankings::NimRankings,
    &hf_tei_rankings::HfTeiRankings,
    &cohere_rankings::CohereRankings,
    &chat_embeddings::ChatEmbeddings,
    &nim_embeddings::NimEmbeddings,
    &template::Template::UNCONFIGURED,
    &raw::Raw::UNCONFIGURED,
    &solido_rag::SolidoRag,
    &responses::Responses,
    &messages::Messages,
    &image_generation::ImageGeneration,
    &image_edit::ImageEdit,
    &image_retrieval::ImageRetrieval,
    &audio_transcription::AudioTranscription,
    &video_generation::VideoGeneration,
];

/// The endpoint type named `name` (as `--endpoint-type` spells it).
pub fn by_name(name: &str) -> Option<&'static dyn Endpoint> {
    ALL.iter().copied().find(|e| e.name() == name)
}

/// The names `--endpoint-type` accepts.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|e| e.name())
}

/// The endpoint type of `settings`, configured for a run with them.
pub fn configure(settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
    let name = settings.kind.name();
    let kind = by_name(name).ok_or_else(|| {
        UsageError::new(format!(
            "--endpoint-type {name:?} is not known (known: {})",
            names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    kind.configure(settings)
}

/// One endpoint type.
pub trait Endpoint: Send + Sync + std::fmt::Debug + Shared {
    /// Its `--endpoint-type` name.
    fn name(&self) -> &'static str;

    /// This type set up for a run with `settings`: what it prepares once for the run (a
    /// compiled template, a response field) and what it says once (a flag it ignores), or why
    /// `settings` cannot work (exit 2). By default the type as it is.
    fn configure(&self, _settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
        Ok(self.shared())
    }

    /// The path appended to the server's URL (some APIs stream from another path).
    fn default_path(&self, streaming: bool) -> &'static str;

    /// Its answers are generated text, measured per token (time to first token, inter-token
    /// latency, output lengths); otherwise only latency and the input are measured.
    fn generates(&self) -> bool {
        true
    }

    /// Its answers can be streamed.
    fn streams(&self) -> bool {
        true
    }

    /// A request may carry several texts (`--prompt-batch-size`).
    fn batches(&self) -> bool {
        false
    }

    /// The request body of `turn` for `model`, with `history` (the messages of the
    /// conversation's earlier turns, see [`Endpoint::history`]) and `--extra-inputs`; or why
    /// the turn cannot be sent (media the API does not take, a template that does not render
    /// it). Such a turn is not sent: it counts as a failed request with that error.
    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails>;

    /// What a later turn of the conversation resends of `turn` and of the server's answer to
    /// it (chat: the messages; by default nothing: each turn stands alone).
    fn history(&self, _turn: &Turn, _answer: &[(u64, Bytes)], _streaming: bool) -> Vec<Value> {
        Vec::new()
    }

    /// The headers that carry `--api-key` (`key`, when given) and any this API wants on every
    /// request; `--header`s are added after them and win. By default `Authorization: Bearer`.
    fn auth_headers(&self, key: Option<&str>) -> Vec<(http::HeaderName, String)> {
        key.map(|k| (http::header::AUTHORIZATION, format!("Bearer {k}")))
            .into_iter()
            .collect()
    }

    /// How to make the server generate exactly `--osl` tokens, for the warning when it did not.
    fn exact_length_hint(&self) -> &'static str {
        "add --extra-inputs ignore_eos:true (or min_tokens:N) so it honours --osl"
    }

    /// How to get the server's own token counts, for `--use-server-token-count`.
    fn usage_hint(&self) -> &'static str {
        "ask the server for usage (streamed answers need stream_options.include_usage, which \
         aiperf sends)"
    }

    /// Decodes a whole 2xx response: its frames with their arrival times.
    fn decode(&self, frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails>;

    /// Its bodies are sent as `multipart/form-data` (files uploaded), encoded from the JSON
    /// body by [`multipart::encode`] when sent; what the exports show stays the JSON.
    fn form_data(&self) -> bool {
        false
    }

    /// What to request after the 2xx answer `answer`, for APIs that answer with a job to
    /// poll: the client follows until [`FollowUp::Done`] (or a failed request, or the request
    /// timeout), all of it one request whose answer is the last one polled.
    fn follow_up(&self, _polling: &Polling, _answer: &[(u64, Bytes)]) -> FollowUp {
        FollowUp::Done
    }

    /// What of a request's input is measured, and which media each request must carry.
    fn inputs(&self) -> Inputs {
        Inputs::TEXT
    }

    /// What the server reported of its work in a whole 2xx answer, for the metrics of this
    /// type (nothing by default).
    fn server_figures(&self, _frames: &[(u64, Bytes)]) -> ServerFigures {
        ServerFigures::default()
    }
}

/// An endpoint type as a run holds it.
pub trait Shared {
    /// A copy of it, to share.
    fn shared(&self) -> Arc<dyn Endpoint>;
}

impl<T: Endpoint + Clone + 'static> Shared for T {
    fn shared(&self) -> Arc<dyn Endpoint> {
        Arc::new(self.clone())
    }
}

/// What a response carried.
#[derive(Debug, Default)]
pub struct Decoded {
    /// When each content-bearing event arrived, and whether it carried output (not only
    /// reasoning).
    pub times: Vec<(u64, bool)>,
    pub output: String,
    pub reasoning: String,
    pub usage: Option<aiperf_openai::view::UsageView>,
    /// A choice said why it finished (`finish_reason`).
    pub finished: bool,
}

impl Decoded {
    /// A whole answer (`frames`, read at once) of generated `output` and `reasoning`: one
    /// content event, when its last frame arrived, unless it holds no text at all.
    pub(crate) fn whole(
        frames: &[(u64, Bytes)],
        output: String,
        reasoning: String,
        usage: Option<aiperf_openai::view::UsageView>,
    ) -> Self {
        let at = frames.last().map_or(0, |f| f.0);
        let times = if output.is_empty() && reasoning.is_empty() {
            Vec::new()
        } else {
            vec![(at, !output.is_empty())]
        };
        Self {
            times,
            output,
            reasoning,
            usage,
            finished: true,
        }
    }

    /// An answer of a type that generates nothing (embeddings, rankings, images): one event,
    /// when its last frame arrived.
    pub(crate) fn answered(
        frames: &[(u64, Bytes)],
        usage: Option<aiperf_openai::view::UsageView>,
    ) -> Self {
        Self {
            times: frames.last().map(|f| (f.0, false)).into_iter().collect(),
            usage,
            finished: true,
            ..Self::default()
        }
    }

    /// The answer's text as a later turn resends it: the output, or the reasoning when it
    /// has no output.
    pub(crate) fn answer_text(self) -> String {
        if self.output.is_empty() {
            self.reasoning
        } else {
            self.output
        }
    }
}

/// The message of a non-2xx response: the server's own words when it gave any.
pub fn http_error(status: u16, frames: &[(u64, Bytes)]) -> ErrorDetails {
    let body: Vec<u8> = frames.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP Error");
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            let e = v.get("error").unwrap_or(&v);
            e.get("message")
                .or_else(|| e.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| e.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| snippet(&body));
    ErrorDetails::new(Some(status), reason, message)
}

/// A turn holding what the API cannot take (audio or video where it takes none): not sent,
/// and counted as the Python AIPerf counts it, a `NotImplementedError`.
pub(crate) fn unsupported_input(message: impl Into<String>) -> ErrorDetails {
    ErrorDetails::new(None, "NotImplementedError", message)
}

/// A turn whose content cannot make a request body (a template that does not render it, texts
/// and images that do not pair up): not sent, and counted as a `ValueError`, as the Python
/// AIPerf counts it.
pub(crate) fn invalid_turn(message: impl Into<String>) -> ErrorDetails {
    ErrorDetails::new(None, "ValueError", message)
}

/// A malformed or cut-short stream.
pub(crate) fn stream_error(message: String) -> ErrorDetails {
    ErrorDetails::new(None, "StreamError", message)
}

/// A stream that ended before its first byte.
pub(crate) fn empty_stream() -> ErrorDetails {
    stream_error("the server closed the stream without sending anything".into())
}

/// An event of a stream whose data is not the JSON it should be.
pub(crate) fn malformed_event(error: &serde_json::Error, data: &str) -> ErrorDetails {
    stream_error(format!(
        "malformed JSON in an event ({error}): {:?}",
        snippet(data.as_bytes())
    ))
}

/// An answer that is not what the API answers: why, and the start of the body.
pub(crate) fn invalid_answer(why: impl std::fmt::Display, body: &[u8]) -> ErrorDetails {
    ErrorDetails::new(
        None,
        "InvalidResponse",
        format!("{why}: {:?}", snippet(body)),
    )
}

/// The error object a server answered with, in any of the shapes APIs use (see
/// [`aiperf_openai::view::error_parts`]).
pub(crate) fn server_error(error: &Value) -> ErrorDetails {
    let (code, message) = aiperf_openai::view::error_parts(error);
    ErrorDetails::new(code, "ServerError", message)
}

/// Adds `--extra-inputs` to `body`, over what the endpoint type set.
pub(crate) fn add_extra_inputs(body: &mut Map<String, Value>, settings: &EndpointConfig) {
    let extra = settings.extra_inputs.iter();
    body.extend(extra.map(|(key, value)| (key.clone(), value.clone())));
}

/// Decodes a streamed answer's server-sent events and hands each event's data to `handle`
/// with the arrival time of the frame that completed it (a last event left without its
/// closing blank line gets the last frame's time).
pub(crate) fn sse_events(
    frames: &[(u64, Bytes)],
    mut handle: impl FnMut(&str, u64) -> Result<(), ErrorDetails>,
) -> Result<(), ErrorDetails> {
    let mut decoder = aiperf_openai::sse::SseDecoder::new();
    for (at, bytes) in frames {
        decoder.feed(bytes);
        while let Some(event) = decoder
            .next_event()
            .map_err(|e| stream_error(e.to_string()))?
        {
            handle(&event.data, *at)?;
        }
    }
    let last = frames.last().map_or(0, |f| f.0);
    if let Some(event) = decoder.finish().map_err(|e| stream_error(e.to_string()))? {
        handle(&event.data, last)?;
    }
    Ok(())
}

/// The start of a body, on one line, for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The frames of a response as one body.
fn whole(frames: &[(u64, Bytes)]) -> Vec<u8> {
    frames.iter().flat_map(|(_, b)| b.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_support::turn;
    use super::*;

    /// The body `settings` builds for `turn`.
    fn build(
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        history: &[Value],
    ) -> Map<String, Value> {
        by_name(settings.kind.name())
            .unwrap()
            .body(settings, model, turn, history)
            .unwrap()
    }

    fn endpoint(kind: &str, streaming: bool) -> EndpointConfig {
        test_support::settings(kind, streaming, Value::Null)
    }

    #[test]
    fn a_system_prompt_comes_first() {
        let mut t = turn(&[" question"], None);
        t.system = Some("Be brief.".into());
        let history = [message("user", &["earlier".into()])];
        let chat = build(&endpoint("chat", false), "m", &t, &history);
        let roles: Vec<&str> = chat["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "user"]);
        let completion = build(&endpoint("completions", false), "m", &t, &[]);
        assert_eq!(completion["prompt"], "Be brief. question");
    }

    #[test]
    fn chat_body_matches_the_reference_key_order() {
        let body = build(&endpoint("chat", true), "m", &turn(&["hi"], Some(32)), &[]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"messages":[{"role":"user","content":"hi"}],"model":"m","stream":true,"max_completion_tokens":32,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn completions_legacy_cap_and_extra_inputs() {
        let mut ep = endpoint("completions", false);
        ep.extra_inputs
            .insert("ignore_eos".into(), Value::Bool(true));
        ep.extra_inputs.insert("stream".into(), Value::Bool(false));
        let body = build(&ep, "m", &turn(&["a", "b"], Some(8)), &[]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"prompt":["a","b"],"model":"m","stream":false,"max_tokens":8,"ignore_eos":true}"#
        );
        let mut chat = endpoint("chat", false);
        chat.use_legacy_max_tokens = true;
        let body = build(&chat, "m", &turn(&["x"], Some(4)), &[]);
        assert_eq!(body["max_tokens"], 4);
        assert!(!body.contains_key("max_completion_tokens"));
    }

    #[test]
    fn chat_history_and_content_parts() {
        let history = vec![
            message("user", &["q".into()]),
            message("assistant", &["a".into()]),
        ];
        let body = build(
            &endpoint("chat", false),
            "m",
            &turn(&["x", "y"], None),
            &history,
        );
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[2]["content"][1],
            json!({"type": "text", "text": "y"})
        );
        assert!(!body.contains_key("max_completion_tokens"));
        // Empty texts are left out of the parts; no content at all is an empty string.
        let chat = endpoint("chat", false);
        let body = build(&chat, "m", &turn(&["x", "", "y"], None), &[]);
        assert_eq!(body["messages"][0]["content"].as_array().unwrap().len(), 2);
        let body = build(&chat, "m", &turn(&[], None), &[]);
        assert_eq!(body["messages"][0]["content"], "");
    }
}
