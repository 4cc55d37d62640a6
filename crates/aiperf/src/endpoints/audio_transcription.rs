//! `audio_transcription`: OpenAI's speech-to-text API, `/v1/audio/transcriptions` (Whisper-style
//! servers: OpenAI, NIM, vLLM, SGLang). A form (`multipart/form-data`): the turn's first audio
//! clip uploaded as `file` (`audio.wav`, `audio/wav`; from `wav,<base64>` or a `data:audio/`
//! URI), and `model`; `--extra-inputs` add fields (`language`, `response_format`,
//! `temperature`, ...) but cannot replace `file`. No text is sent.
//!
//! The answer is the transcript: JSON (`{"text": ...}`, `json` and `verbose_json`) or the body
//! itself (`text`, `srt`, `vtt`). Nothing is generated as tokens: request latency is measured,
//! and with the clip's length known, the audio duration and how many times faster than real
//! time it was transcribed (RTFx).

use std::borrow::Cow;
use std::sync::Arc;

use aiperf_openai::view::UsageView;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::multipart::{add_extra_fields, file_field, warn_reserved};
use super::{Decoded, Endpoint, Inputs, Media, Shared, invalid_answer, server_error, whole};
use crate::UsageError;
use crate::dataset::Turn;
use crate::dataset::media::audio_parts;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

/// The field the endpoint type fills itself, which `--extra-inputs` cannot replace.
const RESERVED: [&str; 1] = ["file"];

#[derive(Debug, Clone)]
pub(super) struct AudioTranscription;

impl Endpoint for AudioTranscription {
    fn name(&self) -> &'static str {
        "audio_transcription"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/audio/transcriptions"
    }

    fn generates(&self) -> bool {
        false
    }

    fn streams(&self) -> bool {
        false
    }

    fn form_data(&self) -> bool {
        true
    }

    fn configure(&self, settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
        warn_reserved(settings, &RESERVED);
        Ok(self.shared())
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            tokenized: false,
            images_counted: true,
            needs: Some(Media::Audio),
        }
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let mut body = Map::new();
        if let Some(clip) = turn.audios.first().filter(|a| !a.is_empty()) {
            let (format, b64) = audio_parts(clip);
            let format = format.to_ascii_lowercase();
            body.insert(
                "file".into(),
                file_field(b64, &format!("audio.{format}"), &mime(&format)),
            );
        }
        body.insert("model".into(), Value::String(model.to_owned()));
        add_extra_fields(&mut body, settings, &RESERVED);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "transcripts have no output length to ask for"
    }

    fn usage_hint(&self) -> &'static str {
        "transcription servers report usage in JSON answers when they count tokens"
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        let body = whole(frames);
        let at = frames.last().map_or(0, |f| f.0);
        let (text, usage) = match serde_json::from_slice::<Answer<'_>>(&body) {
            Ok(Answer::Object(answer)) => {
                if let Some(error) = answer.error.filter(|e| !e.is_null()) {
                    return Err(server_error(&error));
                }
                let Some(text) = answer.text else {
                    return Err(invalid_answer("the response has no text", &body));
                };
                (text.into_owned(), answer.usage.map(|u| u.view()))
            }
            Ok(Answer::Text(text)) => (text.into_owned(), None),
            // `text`, `srt` and `vtt` answers are the transcript itself.
            Err(_) => (String::from_utf8_lossy(&body).into_owned(), None),
        };
        Ok(Decoded {
            times: vec![(at, false)],
            output: text,
            usage,
            finished: true,
            ..Decoded::default()
        })
    }
}

/// The MIME type of an audio format, as OpenAI's API lists them.
fn mime(format: &str) -> String {
    match format {
        "wav" => "audio/wav".into(),
        "mp3" | "mpga" | "mpeg" => "audio/mpeg".into(),
        "flac" => "audio/flac".into(),
        "ogg" => "audio/ogg".into(),
        "m4a" | "mp4" => "audio/mp4".into(),
        "webm" => "audio/webm".into(),
        other => format!("audio/{other}"),
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Answer<'a> {
    Object(#[serde(borrow)] Transcript<'a>),
    Text(#[serde(borrow)] Cow<'a, str>),
}

#[derive(Debug, Deserialize)]
struct Transcript<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

/// Token usage (`gpt-4o-transcribe`); Whisper's `{"type": "duration", "seconds"}` has none.
#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default, alias = "prompt_tokens")]
    input_tokens: Option<u64>,
    #[serde(default, alias = "completion_tokens")]
    output_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl Usage {
    fn view(self) -> UsageView {
        UsageView {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            ..UsageView::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::settings;

    fn turn(clip: &str) -> Turn {
        Turn {
            texts: vec!["not sent".into()],
            audios: vec![clip.into()],
            audio_secs: Some(1.5),
            ..Turn::default()
        }
    }

    #[test]
    fn the_clip_is_uploaded_as_the_file() {
        let body = AudioTranscription
            .body(
                &settings(
                    "audio_transcription",
                    false,
                    json!({"language": "en", "file": "x"}),
                ),
                "whisper-1",
                &turn("wav,UklGRiQAAABXQVZF"),
                &[],
            )
            .unwrap();
        assert_eq!(
            Value::Object(body.clone()),
            json!({
                "file": {"b64_data": "UklGRiQAAABXQVZF", "filename": "audio.wav",
                         "content_type": "audio/wav"},
                "model": "whisper-1",
                "language": "en"
            })
        );
        let form = super::super::multipart::encode(&body);
        let text = String::from_utf8_lossy(&form);
        assert!(
            text.contains("name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF$\0\0\0WAVE\r\n"),
            "{text}"
        );
        let body = AudioTranscription
            .body(
                &settings("audio_transcription", false, json!({})),
                "m",
                &turn("data:audio/mp3;base64,SUQz"),
                &[],
            )
            .unwrap();
        assert_eq!(
            body["file"],
            json!({"b64_data": "SUQz", "filename": "audio.mp3", "content_type": "audio/mpeg"})
        );
        assert!(AudioTranscription.form_data() && !AudioTranscription.streams());
        assert_eq!(AudioTranscription.inputs().needs, Some(Media::Audio));
        assert!(!AudioTranscription.inputs().tokenized);
    }

    #[test]
    fn transcripts_are_json_or_the_body_itself() {
        let frames = |body: &str| vec![(3u64, Bytes::from(body.to_owned()))];
        let d = AudioTranscription
            .decode(
                &frames(r#"{"text":"hello there","usage":{"type":"tokens","input_tokens":14,"output_tokens":3,"total_tokens":17}}"#),
                false,
            )
            .unwrap();
        assert_eq!(
            (d.output.as_str(), d.times.as_slice()),
            ("hello there", &[(3, false)][..])
        );
        assert_eq!(d.usage.unwrap().total_tokens, Some(17));
        let d = AudioTranscription
            .decode(&frames(r#"{"task":"transcribe","language":"english","duration":1.5,"text":"hi","segments":[]}"#), false)
            .unwrap();
        assert_eq!(d.output, "hi");
        let d = AudioTranscription
            .decode(&frames("1\n00:00:00,000 --> 00:00:01,500\nhello\n"), false)
            .unwrap();
        assert!(d.output.contains("hello"));
        let d = AudioTranscription
            .decode(&frames("\"hello\""), false)
            .unwrap();
        assert_eq!(d.output, "hello");
        let e = AudioTranscription
            .decode(
                &frames(r#"{"error":{"message":"Invalid file format.","code":400}}"#),
                false,
            )
            .unwrap_err();
        assert_eq!((e.kind.as_str(), e.code), ("ServerError", Some(400)));
        let e = AudioTranscription
            .decode(&frames(r#"{"transcript":"hi"}"#), false)
            .unwrap_err();
        assert_eq!(e.kind, "InvalidResponse");
    }
}
