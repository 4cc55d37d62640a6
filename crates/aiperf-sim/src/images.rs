//! Image models: OpenAI's image generation (`/v1/images/generations`, JSON) and edit
//! (`/v1/images/edits`, a form with the image uploaded) as OpenAI and SGLang's diffusion server
//! answer them, and NVIDIA NIM's object detection (`/v1/infer`).
//!
//! Timing ([`crate::form`]): generating an image is `num_inference_steps` (28 by default)
//! steps over its megapixels (`size`, 1024x1024 by default), for each of its `n` images; an
//! edit also encodes the uploaded image; under an engine preset images are made one request at
//! a time. Detection costs one unit per image plus its megapixels, and batches.
//!
//! Generated images are a small fixed PNG (base64, or a URL with `response_format: url`);
//! `stream: true` answers server-sent events, `partial_images` partial images then the
//! completed one, sent together when the image is done. Detection answers seeded bounding
//! boxes per image.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::{Request, Response};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Map, Value, json};

use crate::api::{ApiError, client_request_id, parse_json, read_body};
use crate::form::{Form, image_size, schedule, work_time};
use crate::oneshot::OneShot;
use crate::plan::Fnv;
use crate::server::State;
use crate::stream::SimBody;

pub(crate) const GENERATIONS: &str = "/v1/images/generations";
pub(crate) const EDITS: &str = "/v1/images/edits";
pub(crate) const INFER: &str = "/v1/infer";

/// A 1x1 PNG: every image the simulator makes.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Milliseconds per step over a megapixel under an engine preset (an SDXL-class model on one
/// H100), and per detected image's unit.
const DIFFUSION_MS: f64 = 25.0;
const DETECTION_MS: f64 = 12.0;

/// Image tokens per megapixel of output (OpenAI counts 1056 for a medium 1024x1024 image).
const OUTPUT_TOKENS_PER_MP: f64 = 1007.0;

/// The fields of a request, from JSON or a form.
enum Fields {
    Json(Map<String, Value>),
    Form(Form),
}

impl Fields {
    fn text(&self, name: &str) -> Option<String> {
        match self {
            Self::Json(map) => match map.get(name)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            },
            Self::Form(form) => form.text(name),
        }
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| {
                ApiError::bad_request(format!("{name}: not a valid number: {text}"), Some(name))
            }),
        }
    }
}

/// What an image request asks for.
struct Ask {
    model: String,
    prompt: String,
    n: u32,
    width: u32,
    height: u32,
    steps: u32,
    url: bool,
    stream: bool,
    partial_images: u32,
}

impl Ask {
    fn read(state: &State, f: &Fields) -> Result<Self, ApiError> {
        let model = f.text("model").unwrap_or_default();
        if !state.config().served_models.contains(&model) {
            return Err(ApiError::unknown_model(&model));
        }
        let prompt = f.text("prompt").unwrap_or_default();
        if prompt.trim().is_empty() {
            return Err(ApiError::bad_request("prompt is required", Some("prompt")));
        }
        let n: u32 = f.number("n", 1)?;
        if !(1..=10).contains(&n) {
            return Err(ApiError::bad_request("n must be from 1 to 10", Some("n")));
        }
        let (width, height) = size(f.text("size").as_deref())?;
        let steps: u32 = f.number("num_inference_steps", 28)?;
        if !(1..=500).contains(&steps) {
            return Err(ApiError::bad_request(
                "num_inference_steps must be from 1 to 500",
                Some("num_inference_steps"),
            ));
        }
        let url = match f.text("response_format").as_deref() {
            None | Some("b64_json") => false,
            Some("url") => true,
            Some(other) => {
                return Err(ApiError::bad_request(
                    format!("response_format must be \"b64_json\" or \"url\", got {other:?}"),
                    Some("response_format"),
                ));
            }
        };
        let stream = matches!(f.text("stream").as_deref(), Some("true" | "True" | "1"));
        let partial_images: u32 = f.number("partial_images", 0)?;
        if partial_images > 3 {
            return Err(ApiError::bad_request(
                "partial_images must be from 0 to 3",
                Some("partial_images"),
            ));
        }
        Ok(Self {
            model,
            prompt,
            n,
            width,
            height,
            steps,
            url,
            stream,
            partial_images,
        })
    }

    fn megapixels(&self) -> f64 {
        f64::from(self.width) * f64::from(self.height) / (1024.0 * 1024.0)
    }
}

/// `WxH` (or `auto`: 1024x1024).
fn size(text: Option<&str>) -> Result<(u32, u32), ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| *t != "auto") else {
        return Ok((1024, 1024));
    };
    let parsed = text
        .split_once(['x', 'X', '*'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if (16..=4096).contains(&w) && (16..=4096).contains(&h) => Ok((w, h)),
        _ => Err(ApiError::bad_request(
            format!("size must be WIDTHxHEIGHT, each from 16 to 4096 pixels, got {text:?}"),
            Some("size"),
        )),
    }
}

pub(crate) async fn generations(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    let client = client_request_id(&req);
    let answer = async {
        let body = read_body(req).await?;
        let map: Map<String, Value> = parse_json(&body)?;
        let ask = Ask::read(&state, &Fields::Json(map))?;
        make_images(&state, ask, 0.0, GENERATIONS, client, arrival).await
    };
    answer.await.unwrap_or_else(ApiError::into_response)
}

pub(crate) async fn edits(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    let client = client_request_id(&req);
    let answer = async {
        let Some(boundary) = crate::form::boundary(&req) else {
            return Err(ApiError::bad_request(
                "image edits are multipart/form-data requests (the image is uploaded)",
                None,
            ));
        };
        let body = read_body(req).await?;
        let form = crate::form::parse(&boundary, &body)?;
        let image = form.file("image").or_else(|| form.file("image[]"));
        let encode_mp = match (image, form.text("url")) {
            (Some(image), _) => {
                let (w, h) = image_size(&image.data).ok_or_else(|| {
                    ApiError::bad_request("image: not a PNG, JPEG, GIF or BMP image", Some("image"))
                })?;
                f64::from(w) * f64::from(h) / (1024.0 * 1024.0)
            }
            (None, Some(url)) if url.starts_with("http") => 1.0,
            _ => return Err(ApiError::bad_request("image is required", Some("image"))),
        };
        let ask = Ask::read(&state, &Fields::Form(form))?;
        // Encoding the uploaded image costs a few steps' worth of its pixels.
        make_images(&state, ask, 4.0 * encode_mp, EDITS, client, arrival).await
    };
    answer.await.unwrap_or_else(ApiError::into_response)
}

/// Makes the images `ask` wants (after `extra_units` of other work) and answers them.
async fn make_images(
    state: &Arc<State>,
    ask: Ask,
    extra_units: f64,
    path: &'static str,
    client_request_id: Option<String>,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let prompt_tokens = state.tokenizer().count(&ask.prompt);
    let shot = OneShot::new(state, ("img", path), arrival, client_request_id)
        .model(&ask.model)
        .streamed(ask.stream)
        .prompt_tokens(prompt_tokens);
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    let units = f64::from(ask.n) * f64::from(ask.steps) * ask.megapixels() + extra_units;
    let (_, done) = schedule(state, arrival, work_time(state, units, DIFFUSION_MS));
    shot.work_until(done).await;

    let created = state.started_unix() + arrival.elapsed().as_secs();
    let output_tokens = (OUTPUT_TOKENS_PER_MP * ask.megapixels()).round() as u64 * u64::from(ask.n);
    let usage = json!({
        "total_tokens": u64::from(prompt_tokens) + output_tokens,
        "input_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
    });
    let size = format!("{}x{}", ask.width, ask.height);
    let (content_type, body) = if ask.stream {
        (
            "text/event-stream",
            image_events(&ask, created, &size, &usage),
        )
    } else {
        let data: Vec<Value> = (0..ask.n)
            .map(|i| {
                if ask.url {
                    let id = &shot.request_id;
                    json!({"url": format!("https://aiperf-sim.invalid/images/{id}-{i}.png")})
                } else {
                    json!({"b64_json": PNG})
                }
            })
            .collect();
        let body = json!({
            "created": created, "data": data, "size": size, "output_format": "png",
            "usage": usage,
        });
        ("application/json", body.to_string())
    };
    Ok(shot.answer(content_type, body))
}

/// A streamed answer: per image, its partial images and then the completed one.
fn image_events(ask: &Ask, created: u64, size: &str, usage: &Value) -> String {
    let mut out = String::new();
    let mut event = |kind: &str, data: Value| {
        out.push_str(&format!("event: image_generation.{kind}\ndata: {data}\n\n"));
    };
    for _ in 0..ask.n {
        for k in 0..ask.partial_images {
            event(
                "partial_image",
                json!({"type": "image_generation.partial_image", "b64_json": PNG,
                       "created_at": created, "size": size, "quality": "auto",
                       "background": "auto", "output_format": "png", "partial_image_index": k}),
            );
        }
        event(
            "completed",
            json!({"type": "image_generation.completed", "b64_json": PNG,
                   "created_at": created, "size": size, "quality": "auto",
                   "background": "auto", "output_format": "png", "usage": usage}),
        );
    }
    out
}

/// NIM object detection: bounding boxes for each inline image.
pub(crate) async fn infer(
    state: Arc<State>,
    req: Request<Incoming>,
    arrival: Instant,
) -> Response<SimBody> {
    let client = client_request_id(&req);
    let answer = async {
        let body = read_body(req).await?;
        let map: Map<String, Value> = parse_json(&body)?;
        let images = inline_images(&map)?;
        detect(&state, &images, client, arrival).await
    };
    answer.await.unwrap_or_else(ApiError::into_response)
}

/// The images of a detection request: `(megapixels, seed)` of each.
fn inline_images(map: &Map<String, Value>) -> Result<Vec<(f64, u64)>, ApiError> {
    let Some(Value::Array(input)) = map.get("input") else {
        return Err(ApiError::bad_request(
            "input must be a list of images",
            Some("input"),
        ));
    };
    if input.is_empty() {
        return Err(ApiError::bad_request(
            "input must not be empty",
            Some("input"),
        ));
    }
    let mut images = Vec::with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let param = format!("input.{i}");
        let bad = |why: &str| ApiError::bad_request(format!("{param}: {why}"), Some(&param));
        if item.get("type").and_then(Value::as_str) != Some("image_url") {
            return Err(bad("the only supported type is image_url"));
        }
        let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
        let Some((_, data)) = url
            .strip_prefix("data:image/")
            .and_then(|rest| rest.split_once(";base64,"))
        else {
            return Err(bad(
                "each image must be a base64 data URI (data:image/png;base64,...)",
            ));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| bad("the image is not valid base64"))?;
        let (w, h) =
            image_size(&bytes).ok_or_else(|| bad("supported image formats are png and jpeg"))?;
        let mut seed = Fnv::new(0);
        seed.write(&bytes);
        images.push((f64::from(w) * f64::from(h) / 1e6, seed.finish()));
    }
    Ok(images)
}

async fn detect(
    state: &Arc<State>,
    images: &[(f64, u64)],
    client_request_id: Option<String>,
    arrival: Instant,
) -> Result<Response<SimBody>, ApiError> {
    let model = state.config().served_models.first().cloned();
    let shot = OneShot::new(state, ("infer", INFER), arrival, client_request_id)
        .model(&model.unwrap_or_default());
    if let Some(refused) = shot.injected_error() {
        return Ok(refused);
    }
    let units: f64 = images.iter().map(|(mp, _)| 1.0 + mp).sum();
    shot.work_until(arrival + work_time(state, units, DETECTION_MS))
        .await;
    let data: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, (_, seed))| json!({"index": i, "bounding_boxes": boxes(*seed)}))
        .collect();
    let size_mb: f64 = images.iter().map(|(mp, _)| mp * 3.0).sum();
    let body = json!({"data": data, "usage": {"images_size_mb": size_mb}}).to_string();
    Ok(shot.answer("application/json", body))
}

/// Seeded page elements: up to two boxes of each kind, coordinates relative to the image.
fn boxes(seed: u64) -> Value {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut out = Map::new();
    for label in ["table", "chart", "title"] {
        let found: Vec<Value> = (0..rng.random_range(0..=2u32))
            .map(|_| {
                let (x, y): (f64, f64) = (rng.random_range(0.0..0.6), rng.random_range(0.0..0.6));
                let (w, h): (f64, f64) = (rng.random_range(0.1..0.4), rng.random_range(0.05..0.4));
                let round = |v: f64| (v * 1e4).round() / 1e4;
                json!({"x_min": round(x), "y_min": round(y), "x_max": round(x + w),
                       "y_max": round(y + h), "confidence": round(rng.random_range(0.3..0.99))})
            })
            .collect();
        out.insert(label.into(), Value::Array(found));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_boxes() {
        assert_eq!(size(None).unwrap(), (1024, 1024));
        assert_eq!(size(Some("auto")).unwrap(), (1024, 1024));
        assert_eq!(size(Some("512x768")).unwrap(), (512, 768));
        assert_eq!(size(Some("8x8")).unwrap_err().status, 400);
        assert_eq!(
            size(Some("big")).unwrap_err().param.as_deref(),
            Some("size")
        );
        let b = boxes(7);
        assert_eq!(b, boxes(7));
        for label in ["table", "chart", "title"] {
            for bx in b[label].as_array().unwrap() {
                assert!(bx["x_min"].as_f64() < bx["x_max"].as_f64());
            }
        }
        let events = image_events(
            &Ask {
                model: "m".into(),
                prompt: "p".into(),
                n: 1,
                width: 64,
                height: 64,
                steps: 1,
                url: false,
                stream: true,
                partial_images: 2,
            },
            1,
            "64x64",
            &json!({}),
        );
        assert_eq!(
            events.matches("image_generation.partial_image\n").count(),
            2
        );
        assert!(events.ends_with("}\n\n") && events.contains("event: image_generation.completed"));
    }
}
