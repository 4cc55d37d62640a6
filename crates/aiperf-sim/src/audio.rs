//! Speech to text: OpenAI's `/v1/audio/transcriptions`, as Whisper-style servers answer it. The
//! request is a form with the clip uploaded as `file` and the `model`; `response_format` is
//! `json` (the default), `verbose_json`, `text`, `srt` or `vtt`.
//!
//! Timing ([`crate::form`]): one unit per second of audio (a WAV's length from its header,
//! other formats estimated from their size); transcription servers batch, so requests do not
//! wait for each other. The transcript is words of the simulator's vocabulary, about two and a
//! half a second, seeded by the clip (the same clip, the same words).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::json;

use crate::api::{ApiError, client_request_id, read_body};
use crate::form::{audio_secs, work_time};
use crate::oneshot::OneShot;
use crate::plan::Fnv;
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const TRANSCRIPTIONS: &str = "/v1/audio/transcriptions";

/// Milliseconds per second of audio under an engine preset (Whisper large on one H100), and
/// the cost of any request.
const MS_PER_SECOND: f64 = 6.0;
const BASE_UNITS: f64 = 5.0;

/// Words spoken per second.
const WORDS_PER_SECOND: f64 = 2.5;

pub(crate) async fn transcriptions(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    let client = client_request_id(&req);
    let answer = async {
        let Some(boundary) = crate::form::boundary(&req) else {
            return Err(ApiError::bad_request(
                "transcriptions are multipart/form-data requests (the audio is uploaded as file)",
                None,
            ));
        };
        let body = read_body(req).await?;
        let form = crate::form::parse(&boundary, &body)?;
        let Some(file) = form.file("file") else {
            return Err(ApiError::bad_request("file is required", Some("file")));
        };
        if file.data.is_empty() {
            return Err(ApiError::bad_request("file is empty", Some("file")));
        }
        let model = form.text("model").unwrap_or_default();
        if model.is_empty() {
            return Err(ApiError::bad_request("model is required", Some("model")));
        }
        if !state.config().served_models.contains(&model) {
            return Err(ApiError::unknown_model(&model));
        }
        let format = form
            .text("response_format")
            .unwrap_or_else(|| "json".into());
        if !["json", "verbose_json", "text", "srt", "vtt"].contains(&format.as_str()) {
            return Err(ApiError::bad_request(
                format!(
                    "response_format must be json, verbose_json, text, srt or vtt, got {format:?}"
                ),
                Some("response_format"),
            ));
        }
        let secs = audio_secs(&file.data);
        let mut seed = Fnv::new(state.config().seed);
        seed.write(&file.data);
        let clip = Clip {
            model,
            format,
            secs,
            seed: seed.finish(),
        };
        transcribe(&state, &clip, client, arrival).await
    };
    answer.await.unwrap_or_else(ApiError::into_response)
}

/// An uploaded clip and how its transcript is wanted.
struct Clip {
    model: String,
    format: String,
    secs: f64,
    seed: u64,
}

async fn transcribe(
    state: &Arc<State>,
    clip: &Clip,
    client_request_id: Option<String>,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let shot =
        OneShot::new(state, ("asr", TRANSCRIPTIONS), arrival, client_request_id).model(&clip.model);
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    let took = work_time(state, BASE_UNITS + clip.secs, MS_PER_SECOND);
    shot.work_until(arrival + took).await;
    let text = words(state, clip);
    let (content_type, body) = transcript(clip, &text);
    Ok(shot.answer(content_type, body))
}

/// The clip's words, seeded by its bytes.
fn words(state: &State, clip: &Clip) -> String {
    let mut rng = Pcg64Mcg::seed_from_u64(clip.seed);
    let n = (clip.secs * WORDS_PER_SECOND).round().max(1.0) as usize;
    let text: String = (0..n).map(|_| state.vocab().sample(&mut rng)).collect();
    text.trim().to_owned()
}

/// The transcript in the format asked for.
fn transcript(clip: &Clip, text: &str) -> (&'static str, String) {
    let secs = clip.secs;
    let stamp = |sep: char| {
        let ms = (secs * 1e3).round() as u64;
        let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
    };
    match clip.format.as_str() {
        "text" => ("text/plain; charset=utf-8", format!("{text}\n")),
        "srt" => (
            "text/plain; charset=utf-8",
            format!("1\n00:00:00,000 --> {}\n{text}\n\n", stamp(',')),
        ),
        "vtt" => {
            let mut out = String::from("WEBVTT\n\n");
            let _ = write!(out, "00:00:00.000 --> {}\n{text}\n\n", stamp('.'));
            ("text/vtt; charset=utf-8", out)
        }
        "verbose_json" => (
            "application/json",
            json!({
                "task": "transcribe", "language": "english", "duration": secs, "text": text,
                "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": secs, "text": text,
                              "temperature": 0.0, "avg_logprob": -0.2,
                              "compression_ratio": 1.2, "no_speech_prob": 0.01}],
                "usage": {"type": "duration", "seconds": secs.ceil() as u64},
            })
            .to_string(),
        ),
        _ => (
            "application/json",
            json!({"text": text, "usage": {"type": "duration", "seconds": secs.ceil() as u64}})
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_in_each_format() {
        let clip = |format: &str| Clip {
            model: "m".into(),
            format: format.into(),
            secs: 61.5,
            seed: 1,
        };
        let (kind, body) = transcript(&clip("json"), "hi there");
        assert_eq!(kind, "application/json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["text"], "hi there");
        assert_eq!(v["usage"]["seconds"], 62);
        let (_, body) = transcript(&clip("srt"), "hi");
        assert_eq!(body, "1\n00:00:00,000 --> 00:01:01,500\nhi\n\n");
        let (kind, body) = transcript(&clip("vtt"), "hi");
        assert_eq!(kind, "text/vtt; charset=utf-8");
        assert!(body.starts_with("WEBVTT\n\n00:00:00.000 --> 00:01:01.500\nhi"));
        let (_, body) = transcript(&clip("verbose_json"), "hi");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["duration"].as_f64(), v["segments"][0]["end"].as_f64()),
            (Some(61.5), Some(61.5))
        );
        assert_eq!(transcript(&clip("text"), "hi").1, "hi\n");
    }
}
