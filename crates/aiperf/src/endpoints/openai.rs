//! Decoding of OpenAI-style generation responses, shared by chat and completions: a JSON
//! body, or a server-sent-events stream of chunks ending with `data: [DONE]`.

use aiperf_openai::view::ResponseView;
use bytes::Bytes;

use super::{
    Decoded, add_extra_inputs, empty_stream, invalid_answer, malformed_event, sse_events, whole,
};
use crate::record::ErrorDetails;

/// Decodes a chat or completions response.
pub(super) fn decode(frames: &[(u64, Bytes)], streaming: bool) -> Result<Decoded, ErrorDetails> {
    let mut out = Decoded::default();
    if !streaming {
        let body = whole(frames);
        let at = frames.last().map_or(0, |f| f.0);
        let parsed: ResponseView<'_> = serde_json::from_slice(&body).map_err(|e| {
            invalid_answer(
                format!("the response is not a completion JSON object ({e})"),
                &body,
            )
        })?;
        content(parsed, at, &mut out)?;
        return Ok(out);
    }
    let mut done = false;
    sse_events(frames, |data, at| {
        if data == "[DONE]" {
            done = true;
            return Ok(());
        }
        if data.trim().is_empty() {
            return Ok(());
        }
        let chunk: ResponseView<'_> =
            serde_json::from_str(data).map_err(|e| malformed_event(&e, data))?;
        content(chunk, at, &mut out)
    })?;
    if frames.is_empty() {
        return Err(empty_stream());
    }
    // OpenAI-compatible streams end with `data: [DONE]`; a stream that stops without it and
    // without any finish_reason was cut short, even if the connection closed cleanly.
    if !done && !out.finished && !out.times.is_empty() {
        return Err(ErrorDetails::new(
            None,
            "IncompleteStream",
            format!(
                "the stream ended after {} content events without a finish_reason or data: [DONE]",
                out.times.len()
            ),
        ));
    }
    Ok(out)
}

/// Adds what one body or chunk carried, arrived at `at`.
fn content(view: ResponseView<'_>, at: u64, out: &mut Decoded) -> Result<(), ErrorDetails> {
    if let Some((code, message)) = view.error() {
        return Err(ErrorDetails::new(code, "ServerError", message));
    }
    if let Some(choice) = view.choices {
        out.finished |= choice.finish_reason.is_some();
        let (content, reasoning) = choice.into_texts();
        if !content.is_empty() || !reasoning.is_empty() {
            out.times.push((at, !content.is_empty()));
            out.output.push_str(&content);
            out.reasoning.push_str(&reasoning);
        }
    }
    if view.usage.is_some() {
        out.usage = view.usage;
    }
    Ok(())
}

/// The rest of a generation request after its input, in the reference tool's key order:
/// `model`, `stream`, the output cap, `stream_options`, then `--extra-inputs`.
pub(super) fn finish_body(
    body: &mut serde_json::Map<String, serde_json::Value>,
    settings: &crate::settings::EndpointConfig,
    model: &str,
    max_tokens: Option<u32>,
    cap_key: &str,
) {
    use serde_json::{Value, json};
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert("stream".into(), Value::Bool(settings.streaming));
    if let Some(max) = max_tokens {
        body.insert(cap_key.into(), Value::from(max));
    }
    if settings.streaming {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    add_extra_inputs(body, settings);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::frames;

    #[test]
    fn streaming_chunks_become_timed_contents() {
        let f = frames(&[
            (
                10,
                "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            ),
            (
                20,
                "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            ),
            (
                30,
                "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n",
            ),
        ]);
        let p = decode(&f, true).unwrap();
        let times: Vec<u64> = p.times.iter().map(|c| c.0).collect();
        assert_eq!(times, [20, 20, 30]);
        assert_eq!(p.reasoning, "hmm");
        assert_eq!(p.times[0], (20, false), "a reasoning-only event");
        assert_eq!(p.usage.unwrap().total_tokens, Some(5));
        assert_eq!(p.output, "Hi there");
    }

    #[test]
    fn truncated_streams_are_errors_unless_finished() {
        let cut = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        )]);
        assert_eq!(decode(&cut, true).unwrap_err().kind, "IncompleteStream");
        let finished = frames(&[(
            1,
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
        )]);
        assert!(
            decode(&finished, true).is_ok(),
            "a finish_reason without [DONE] is complete"
        );
        let no_choices = frames(&[(1, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n")]);
        assert!(decode(&no_choices, true).unwrap().times.is_empty());
    }

    #[test]
    fn bad_responses_are_typed_errors() {
        let html = frames(&[(1, "<html><body>Bad Gateway</body></html>")]);
        assert_eq!(decode(&html, false).unwrap_err().kind, "InvalidResponse");
        assert_eq!(decode(&html, true).unwrap_err().kind, "StreamError");
        let bad = frames(&[(1, "data: {not json\n\n")]);
        let e = decode(&bad, true).unwrap_err();
        assert!(e.message.contains("malformed JSON"), "{e:?}");
        let e = super::super::http_error(
            429,
            &frames(&[(
                1,
                r#"{"error":{"message":"slow down","type":"rate_limit"}}"#,
            )]),
        );
        assert_eq!(
            (e.code, e.kind.as_str(), e.message.as_str()),
            (Some(429), "Too Many Requests", "slow down")
        );
        let e = super::super::http_error(502, &frames(&[(1, "<html>bad gateway</html>")]));
        assert_eq!(e.message, "<html>bad gateway</html>");
    }
}

#[cfg(test)]
mod fuzz {
    //! Fuzzing response decoding: whatever a server sends, the result is measurements or a
    //! typed error, never a panic.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_response_decodes_or_fails_cleanly(
            frames in proptest::collection::vec(
                prop_oneof![
                    Just(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n".to_vec()),
                    Just(b"data: [DONE]\n\n".to_vec()),
                    Just(b"data: {\"choices\":null,\"usage\":{\"prompt_tokens\":-1}}\n\n".to_vec()),
                    Just(b"data: {\"error\":{\"message\":7}}\n\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..24),
                ],
                0..6,
            ),
            streaming in any::<bool>(),
        ) {
            let frames: Vec<(u64, Bytes)> = frames.into_iter().enumerate().map(|(i, b)| (i as u64, Bytes::from(b))).collect();
            match decode(&frames, streaming) {
                Ok(p) => prop_assert!(p.times.windows(2).all(|w| w[0].0 <= w[1].0)),
                Err(e) => prop_assert!(!e.kind.is_empty() && !e.message.is_empty()),
            }
        }
    }
}
