//! `video_generation`: OpenAI's and SGLang's video API, `/v1/videos` (Sora, Wan, HunyuanVideo).
//! A job: the request submits it as a form (`multipart/form-data`: the turn's first text as
//! `prompt`, `model`, and `--extra-inputs` such as `size`, `seconds`, `fps`, `num_frames`,
//! `num_inference_steps`), the answer names the job (`{"id", "status": "queued"}`), and its
//! status is asked for (`GET /v1/videos/{id}`, every `AIPERF_HTTP_VIDEO_POLL_INTERVAL` seconds,
//! 0.1 by default) until it is `completed` or `failed`; with `--download-video-content` the
//! video is then downloaded (`GET` the job's `url`, or `/v1/videos/{id}/content`).
//!
//! All of it is one request, as in the Python AIPerf: its latency runs from the submission to
//! the answer that the job completed (or to the end of the download), within
//! `--request-timeout-seconds`. A failed job is an error with the server's message. The
//! server's own figures of a completed job are reported: `inference_time_s` as the video
//! inference time, `peak_memory_mb` as the video peak memory.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Decoded, Endpoint, FollowUp, Inputs, Location, ServerFigures, add_extra_inputs, server_error,
    snippet, whole,
};
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::{EndpointConfig, Polling};

#[derive(Debug, Clone)]
pub(super) struct VideoGeneration;

impl Endpoint for VideoGeneration {
    fn name(&self) -> &'static str {
        "video_generation"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        "/v1/videos"
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

    fn inputs(&self) -> Inputs {
        Inputs {
            images_counted: false,
            ..Inputs::TEXT
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
        let prompt = turn.texts.first().cloned().unwrap_or_default();
        body.insert("prompt".into(), Value::String(prompt));
        body.insert("model".into(), Value::String(model.to_owned()));
        add_extra_inputs(&mut body, settings);
        Ok(body)
    }

    fn exact_length_hint(&self) -> &'static str {
        "video generation has no output length in tokens; ask for seconds or num_frames with \
         --extra-inputs"
    }

    fn usage_hint(&self) -> &'static str {
        "video servers report no token usage"
    }

    fn follow_up(&self, polling: &Polling, answer: &[(u64, Bytes)]) -> FollowUp {
        let body = whole(answer);
        let Ok(job) = serde_json::from_slice::<Job<'_>>(&body) else {
            return FollowUp::Done;
        };
        let Some(id) = job.id() else {
            return FollowUp::Done;
        };
        match job.state() {
            State::Completed if polling.download_content => {
                let at = match job.url.as_deref().map(str::trim) {
                    Some(url)
                        if url.starts_with('/')
                            || url.starts_with("http://")
                            || url.starts_with("https://") =>
                    {
                        Location::Url(url.to_owned())
                    }
                    _ => Location::Below(format!("{id}/content")),
                };
                FollowUp::Fetch { at }
            }
            State::Completed | State::Ended => FollowUp::Done,
            State::Running => FollowUp::Poll {
                at: Location::Below(id),
                wait: polling.interval(),
            },
        }
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        let body = whole(frames);
        let failed = |message: String| ErrorDetails::new(None, "VideoGenerationError", message);
        let job: Job<'_> = serde_json::from_slice(&body).map_err(|e| {
            failed(format!(
                "the response is not a video job JSON object ({e}): {:?}",
                snippet(&body)
            ))
        })?;
        let status = job.status.as_deref().unwrap_or_default();
        match job.state() {
            State::Completed => Ok(Decoded {
                // The request ends with the last answer read (the download's, when asked).
                times: Vec::new(),
                finished: true,
                ..Decoded::default()
            }),
            _ if job.id().is_none() => {
                if let Some(error) = job.error.as_ref().filter(|e| !e.is_null()) {
                    return Err(server_error(error));
                }
                Err(failed(format!("no job id returned: {:?}", snippet(&body))))
            }
            _ if status.eq_ignore_ascii_case("failed") => {
                let message = match job.error.as_ref() {
                    Some(Value::Object(e)) => e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("Unknown error")
                        .to_owned(),
                    Some(Value::Null) | None => "Unknown error".to_owned(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                Err(failed(format!("Video generation failed: {message}")))
            }
            _ => Err(failed(format!(
                "the video job ended {status:?} without completing"
            ))),
        }
    }

    fn server_figures(&self, frames: &[(u64, Bytes)]) -> ServerFigures {
        let body = whole(frames);
        serde_json::from_slice::<Job<'_>>(&body).map_or_else(
            |_| ServerFigures::default(),
            |job| ServerFigures {
                inference_secs: job.inference_time_s,
                peak_memory_mb: job.peak_memory_mb,
            },
        )
    }
}

/// A video job, as submitting, polling and the finished job answer it.
#[derive(Debug, Deserialize)]
struct Job<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    inference_time_s: Option<f64>,
    #[serde(default)]
    peak_memory_mb: Option<f64>,
}

/// Where a job stands.
enum State {
    Completed,
    /// Failed, cancelled or deleted: it will not complete.
    Ended,
    /// Queued, in progress, or a status not known here (asked again, until the timeout).
    Running,
}

impl Job<'_> {
    fn id(&self) -> Option<String> {
        match self.id.as_ref()? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn state(&self) -> State {
        let status = self.status.as_deref().unwrap_or_default();
        let is = |s: &str| status.eq_ignore_ascii_case(s);
        if is("completed") {
            State::Completed
        } else if ["failed", "cancelled", "canceled", "deleted", "expired"]
            .iter()
            .any(|s| is(s))
        {
            State::Ended
        } else {
            State::Running
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn frames(body: &str) -> Vec<(u64, Bytes)> {
        vec![(5, Bytes::from(body.to_owned()))]
    }

    fn polling(download: bool) -> Polling {
        Polling {
            interval_secs: 0.25,
            download_content: download,
        }
    }

    #[test]
    fn the_body_is_a_prompt_form_with_extra_inputs() {
        let extra = json!({"size": "1280x720", "seconds": 4});
        let settings = crate::endpoints::test_support::settings("video_generation", false, extra);
        let turn = Turn {
            texts: vec!["a cat surfing".into()],
            ..Turn::default()
        };
        let body = VideoGeneration.body(&settings, "wan", &turn, &[]).unwrap();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"prompt":"a cat surfing","model":"wan","size":"1280x720","seconds":4}"#
        );
        let form = super::super::multipart::encode(&body);
        let text = String::from_utf8_lossy(&form);
        assert!(text.contains("name=\"seconds\"\r\n\r\n4\r\n"), "{text}");
        assert!(VideoGeneration.form_data() && !VideoGeneration.streams());
        assert_eq!(VideoGeneration.default_path(false), "/v1/videos");
    }

    #[test]
    fn a_job_is_polled_until_it_ends_then_maybe_downloaded() {
        let queued = frames(r#"{"id":"video_1","object":"video","status":"queued","progress":0}"#);
        let poll = FollowUp::Poll {
            at: Location::Below("video_1".into()),
            wait: Duration::from_millis(250),
        };
        assert_eq!(VideoGeneration.follow_up(&polling(false), &queued), poll);
        let running = frames(r#"{"id":"video_1","status":"IN_PROGRESS","progress":40}"#);
        assert_eq!(VideoGeneration.follow_up(&polling(true), &running), poll);
        let done = frames(r#"{"id":"video_1","status":"completed","progress":100}"#);
        assert_eq!(
            VideoGeneration.follow_up(&polling(false), &done),
            FollowUp::Done
        );
        assert_eq!(
            VideoGeneration.follow_up(&polling(true), &done),
            FollowUp::Fetch {
                at: Location::Below("video_1/content".into())
            }
        );
        let at_url = frames(r#"{"id":"v","status":"completed","url":"/files/v.mp4"}"#);
        assert_eq!(
            VideoGeneration.follow_up(&polling(true), &at_url),
            FollowUp::Fetch {
                at: Location::Url("/files/v.mp4".into())
            }
        );
        for ended in [
            r#"{"id":"v","status":"failed","error":{"message":"OOM"}}"#,
            r#"{"status":"queued"}"#,
            "not json",
        ] {
            assert_eq!(
                VideoGeneration.follow_up(&polling(true), &frames(ended)),
                FollowUp::Done,
                "{ended}"
            );
        }
    }

    #[test]
    fn the_last_answer_is_the_result() {
        let done = r#"{"id":"video_1","status":"completed","progress":100,"inference_time_s":12.5,"peak_memory_mb":40960.0}"#;
        let d = VideoGeneration.decode(&frames(done), false).unwrap();
        assert!(d.times.is_empty() && d.finished);
        assert_eq!(
            VideoGeneration.server_figures(&frames(done)),
            ServerFigures {
                inference_secs: Some(12.5),
                peak_memory_mb: Some(40960.0)
            }
        );
        assert_eq!(
            VideoGeneration.server_figures(&frames("{}")),
            ServerFigures::default()
        );
        for (body, kind, message) in [
            (
                r#"{"id":"v","status":"failed","error":{"message":"CUDA out of memory"}}"#,
                "VideoGenerationError",
                "Video generation failed: CUDA out of memory",
            ),
            (
                r#"{"id":"v","status":"failed"}"#,
                "VideoGenerationError",
                "Video generation failed: Unknown error",
            ),
            (
                r#"{"id":"v","status":"cancelled"}"#,
                "VideoGenerationError",
                "the video job ended \"cancelled\" without completing",
            ),
            (
                r#"{"status":"queued"}"#,
                "VideoGenerationError",
                "no job id returned: \"{\\\"status\\\":\\\"queued\\\"}\"",
            ),
            (
                r#"{"error":{"message":"model not loaded","code":503}}"#,
                "ServerError",
                "model not loaded",
            ),
        ] {
            let e = VideoGeneration.decode(&frames(body), false).unwrap_err();
            assert_eq!(
                (e.kind.as_str(), e.message.as_str()),
                (kind, message),
                "{body}"
            );
        }
        let e = VideoGeneration
            .decode(&frames("<html>"), false)
            .unwrap_err();
        assert!(e.message.contains("not a video job"), "{e:?}");
    }
}
