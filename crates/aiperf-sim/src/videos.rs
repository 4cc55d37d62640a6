//! Video generation jobs, as OpenAI's and SGLang's `/v1/videos` run them: `POST /v1/videos`
//! (a form, or JSON) submits a job and answers it `queued`; `GET /v1/videos/{id}` tells its
//! status (`queued`, `in_progress` with its progress, then `completed` with the server's
//! `inference_time_s` and `peak_memory_mb`, or `failed` with an `error`); `GET
//! /v1/videos/{id}/content` downloads the finished video (`video/mp4`).
//!
//! Timing ([`crate::form`]): a job is its frames (`num_frames`, else `seconds` × `fps`: 4 × 24
//! by default) over their megapixels (`size`, 1280x720 by default), times
//! `num_inference_steps` / 50; under an engine preset jobs run one at a time. An injected
//! malformed or dropped answer makes the job fail instead.
//!
//! Jobs are kept in their ids: an id encodes when the job was submitted, starts and ends, and
//! what it makes, so any request can tell a job's status without a store.

use std::sync::Arc;
use std::time::Instant;

use http::header;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Map, Value, json};

use crate::api::{ApiError, client_request_id, parse_json, read_body};
use crate::form::{Form, schedule, work_time};
use crate::oneshot::OneShot;
use crate::plan::Fault;
use crate::record::Ending;
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const PATH: &str = "/v1/videos";
/// Where a job's status and content are.
pub(crate) const JOB_PREFIX: &str = "/v1/videos/";

/// Milliseconds per frame-megapixel at 50 steps under an engine preset (a Wan-class model).
const ENGINE_MS: f64 = 100.0;

/// A job, as its id encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Job {
    /// Unix milliseconds of the submission.
    created_ms: u64,
    /// Milliseconds from the submission to the start and the end of the work.
    start_ms: u32,
    done_ms: u32,
    width: u16,
    height: u16,
    frames: u32,
    fps: u16,
    model: u8,
    failed: bool,
}

impl Job {
    fn id(&self) -> String {
        let mut b = Vec::with_capacity(28);
        b.extend_from_slice(&self.created_ms.to_be_bytes());
        b.extend_from_slice(&self.start_ms.to_be_bytes());
        b.extend_from_slice(&self.done_ms.to_be_bytes());
        b.extend_from_slice(&self.width.to_be_bytes());
        b.extend_from_slice(&self.height.to_be_bytes());
        b.extend_from_slice(&self.frames.to_be_bytes());
        b.extend_from_slice(&self.fps.to_be_bytes());
        b.push(self.model);
        b.push(u8::from(self.failed));
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("video_{hex}")
    }

    fn parse(id: &str) -> Option<Self> {
        let hex = id.strip_prefix("video_")?;
        if hex.len() != 56 || !hex.is_ascii() {
            return None;
        }
        let b: Vec<u8> = (0..28)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<_>>()?;
        let n = |at: usize, len: usize| {
            b[at..at + len]
                .iter()
                .fold(0u64, |v, x| (v << 8) | u64::from(*x))
        };
        Some(Self {
            created_ms: n(0, 8),
            start_ms: n(8, 4) as u32,
            done_ms: n(12, 4) as u32,
            width: n(16, 2) as u16,
            height: n(18, 2) as u16,
            frames: n(20, 4) as u32,
            fps: n(24, 2) as u16,
            model: b[26],
            failed: b[27] == 1,
        })
    }

    fn megapixels(&self) -> f64 {
        f64::from(self.width) * f64::from(self.height) / (1024.0 * 1024.0)
    }

    /// Its status at unix millisecond `now`.
    fn status(&self, state: &State, now_ms: u64) -> Value {
        let model = state.config().served_models.get(usize::from(self.model));
        let seconds = (f64::from(self.frames) / f64::from(self.fps.max(1))).round() as u64;
        let mut v = json!({
            "id": self.id(), "object": "video", "model": model, "status": "queued",
            "progress": 0, "created_at": self.created_ms / 1000,
            "size": format!("{}x{}", self.width, self.height),
            "seconds": seconds.to_string(), "quality": "standard",
        });
        let (start, done) = (
            self.created_ms + u64::from(self.start_ms),
            self.created_ms + u64::from(self.done_ms),
        );
        if now_ms >= done {
            let fields = if self.failed {
                json!({"status": "failed",
                       "error": {"message": "video generation failed (simulated)"}})
            } else {
                let secs = f64::from(self.done_ms - self.start_ms) / 1e3;
                let peak = 24_576.0 + 160.0 * f64::from(self.frames) * self.megapixels();
                json!({"status": "completed", "progress": 100, "completed_at": done / 1000,
                       "inference_time_s": secs, "peak_memory_mb": peak.round()})
            };
            merge(&mut v, fields);
        } else if now_ms >= start {
            let progress = (100 * (now_ms - start) / (done - start).max(1)).min(99);
            merge(
                &mut v,
                json!({"status": "in_progress", "progress": progress}),
            );
        }
        v
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

fn now_ms(state: &State) -> u64 {
    state.clock().ns(Instant::now()) / 1_000_000
}

/// `POST /v1/videos`.
pub(crate) async fn submit(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    let client = client_request_id(&req);
    let answer = async {
        let boundary = crate::form::boundary(&req);
        let body = read_body(req).await?;
        let fields = match boundary {
            Some(boundary) => form_fields(crate::form::parse(&boundary, &body)?),
            None => parse_json::<Map<String, Value>>(&body)?,
        };
        start_job(&state, &fields, client, arrival)
    };
    answer.await.unwrap_or_else(ApiError::into_response)
}

/// A form's text fields as JSON strings.
fn form_fields(form: Form) -> Map<String, Value> {
    form.parts
        .into_iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name,
                Value::String(String::from_utf8_lossy(&p.data).into_owned()),
            )
        })
        .collect()
}

/// A whole number field (a JSON number or its text), within `range`.
fn whole(
    fields: &Map<String, Value>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    let value = match fields.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    value.filter(|v| range.contains(v)).ok_or_else(|| {
        ApiError::bad_request(
            format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
            Some(name),
        )
    })
}

fn start_job(
    state: &Arc<State>,
    fields: &Map<String, Value>,
    client_request_id: Option<String>,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::trim);
    let prompt = text("prompt").unwrap_or_default();
    if prompt.is_empty() {
        return Err(ApiError::bad_request("prompt is required", Some("prompt")));
    }
    let served = &state.config().served_models;
    let model = match text("model").filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => served
            .iter()
            .position(|s| s == m)
            .ok_or_else(|| ApiError::unknown_model(m))?,
    };
    let (width, height) = match text("size") {
        None | Some("") => (1280, 720),
        Some(size) => size
            .split_once(['x', 'X'])
            .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
            .filter(|(w, h)| (16..=4096).contains(w) && (16..=4096).contains(h))
            .ok_or_else(|| {
                ApiError::bad_request(
                    format!("size must be WIDTHxHEIGHT, each from 16 to 4096, got {size:?}"),
                    Some("size"),
                )
            })?,
    };
    let seconds = whole(fields, "seconds", 4, 1..=60)?;
    let fps = whole(fields, "fps", 24, 1..=120)?;
    let frames = whole(fields, "num_frames", seconds * fps, 1..=2000)?;
    let steps = whole(fields, "num_inference_steps", 50, 1..=500)?;

    let shot = OneShot::new(state, ("videojob", PATH), arrival, client_request_id)
        .model(served.get(model).map_or("", String::as_str))
        .prompt_tokens(state.tokenizer().count(prompt));
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    let mp = f64::from(width) * f64::from(height) / (1024.0 * 1024.0);
    let units = frames as f64 * mp * steps as f64 / 50.0;
    let took = work_time(state, units, ENGINE_MS) + shot.stall();
    let (start, done) = schedule(state, arrival, took);
    let ms = |at: Instant| {
        u32::try_from(at.saturating_duration_since(arrival).as_millis()).unwrap_or(u32::MAX)
    };
    let job = Job {
        created_ms: state.clock().ns(arrival) / 1_000_000,
        start_ms: ms(start),
        done_ms: ms(done),
        width,
        height,
        frames: u32::try_from(frames).unwrap_or(u32::MAX),
        fps: u16::try_from(fps).unwrap_or(24),
        model: u8::try_from(model).unwrap_or(0),
        failed: matches!(
            shot.fault,
            Fault::Malformed { .. } | Fault::Disconnect { .. }
        ),
    };
    shot.record(200, Ending::Completed, Instant::now());
    let mut answer = job.status(state, job.created_ms);
    merge(&mut answer, json!({"status": "queued", "progress": 0}));
    Ok(crate::server::json_response(200, answer.to_string()))
}

/// `GET /v1/videos/{id}` and `GET /v1/videos/{id}/content`.
pub(crate) fn get(state: &State, path: &str) -> Response<SimBody> {
    let rest = path.strip_prefix(JOB_PREFIX).unwrap_or_default();
    let (id, content) = match rest.strip_suffix("/content") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let Some(job) = Job::parse(id) else {
        return ApiError::new(404, "NotFoundError", "Video not found").into_response();
    };
    let status = job.status(state, now_ms(state));
    if !content {
        return crate::server::json_response(200, status.to_string());
    }
    if status["status"] != "completed" {
        return ApiError::new(404, "NotFoundError", "Generation is still in-progress")
            .into_response();
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}.mp4\""),
        )
        .body(SimBody::full(mp4(&job)))
        .expect("static headers are valid")
}

/// An MP4's boxes: its file type, then media data of a size that grows with the frames and
/// their pixels (4 KiB per frame-megapixel, at most 8 MiB).
fn mp4(job: &Job) -> Vec<u8> {
    let data = ((4096.0 * f64::from(job.frames) * job.megapixels()) as usize).clamp(1024, 8 << 20);
    let mut out = Vec::with_capacity(data + 32);
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    out.extend_from_slice(&u32::try_from(data + 8).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.resize(out.len() + data, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_lives_in_its_id() {
        let job = Job {
            created_ms: 1_700_000_000_123,
            start_ms: 10,
            done_ms: 2_010,
            width: 1280,
            height: 720,
            frames: 96,
            fps: 24,
            model: 0,
            failed: false,
        };
        let id = job.id();
        assert!(id.starts_with("video_") && id.len() == 62, "{id}");
        assert_eq!(Job::parse(&id), Some(job));
        assert_eq!(Job::parse("video_zz"), None);
        assert_eq!(Job::parse("nope"), None);
        let failed = Job {
            failed: true,
            ..job
        };
        assert_eq!(Job::parse(&failed.id()), Some(failed));
        let data = mp4(&job);
        assert_eq!(&data[4..8], b"ftyp");
        assert_eq!(&data[28..32], b"mdat");
    }
}
