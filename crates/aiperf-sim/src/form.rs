//! What the image, speech and video routes share: `multipart/form-data` bodies parsed into
//! fields and files, the sizes of uploaded media (a PNG's or JPEG's pixels, a WAV's seconds),
//! and the timing model of media work.
//!
//! Media work is measured in units (a megapixel denoised for one step, a second of audio);
//! under the `fixed` timing a request takes its time to first token plus its inter-token time
//! per unit, independently of the load; under an engine preset it takes a per-unit cost of its
//! own, and work that occupies the accelerator whole (diffusion) waits for the work before it,
//! one request at a time, as diffusion servers run.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header;
use hyper::Request;
use hyper::body::Incoming;

use crate::api::ApiError;
use crate::config::Timing;
use crate::server::State;

/// One part of a form: a field's text, or an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Bytes,
}

/// A parsed form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub(crate) parts: Vec<Part>,
}

impl Form {
    /// The text of field `name`.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    }

    /// The file uploaded as `name`.
    pub(crate) fn file(&self, name: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_some())
    }
}

/// The boundary of `req`'s `multipart/form-data` body (from its `Content-Type`), or `None`
/// when the request is not a form.
pub(crate) fn boundary(req: &Request<Incoming>) -> Option<String> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Parses a form body delimited by `boundary`.
pub(crate) fn parse(boundary: &str, body: &Bytes) -> Result<Form, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("invalid multipart body: {why}"), None);
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut at = find(body, delimiter, 0).ok_or_else(|| bad("no boundary"))? + delimiter.len();
    let mut form = Form::default();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(form);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(bad("a boundary is not followed by a line break"));
        }
        let head_start = at + 2;
        let head_end =
            find(body, b"\r\n\r\n", head_start).ok_or_else(|| bad("a part has no headers' end"))?;
        let head = std::str::from_utf8(&body[head_start..head_end])
            .map_err(|_| bad("part headers are not text"))?;
        let data_start = head_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let data_end =
            find(body, &closing, data_start).ok_or_else(|| bad("a part is not closed"))?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: body.slice(data_start..data_end),
        };
        for line in head.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    let Some((key, v)) = param.split_once('=') else {
                        continue;
                    };
                    let v = v.trim().trim_matches('"').to_owned();
                    match key.trim() {
                        "name" => part.name = v,
                        "filename" => part.filename = Some(v),
                        _ => {}
                    }
                }
            } else if name.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        if part.name.is_empty() {
            return Err(bad("a part has no name"));
        }
        form.parts.push(part);
        at = data_end + closing.len();
    }
}

/// The first position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let next = hay[i..].iter().position(|b| *b == first)?;
        i += next;
        if hay.get(i..i + needle.len()) == Some(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The width and height of a PNG, JPEG, GIF or BMP image.
pub(crate) fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let le16 = |i: usize| {
        Some(u32::from(u16::from_le_bytes(
            b.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    let le32 = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"BM") {
        return Some((le32(18)?, le32(22)?.max(1)));
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        // Walk the segments to the frame header (SOF0..SOF15, not DHT/JPG/DAC).
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                return None;
            }
            let marker = b[i + 1];
            let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let h = u32::from(u16::from_be_bytes([b[i + 5], b[i + 6]]));
                let w = u32::from(u16::from_be_bytes([b[i + 7], b[i + 8]]));
                return Some((w, h));
            }
            i += 2 + len;
        }
    }
    None
}

/// The length of a WAV clip in seconds (its data over its byte rate), or of other audio
/// estimated from its size as MP3 at 128 kbit/s.
pub(crate) fn audio_secs(b: &[u8]) -> f64 {
    wav_secs(b).unwrap_or_else(|| mp3_secs(b))
}

/// The length of audio of `b.len()` bytes at 128 kbit/s (MP3's usual rate).
pub(crate) fn mp3_secs(b: &[u8]) -> f64 {
    b.len() as f64 / 16_000.0
}

/// The length of a WAV clip: its data over its byte rate.
pub(crate) fn wav_secs(b: &[u8]) -> Option<f64> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut i = 12;
    let mut byte_rate = None;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        if id == b"fmt " {
            byte_rate = Some(u32::from_le_bytes(b.get(i + 16..i + 20)?.try_into().ok()?));
        } else if id == b"data" {
            let rate = f64::from(byte_rate.filter(|r| *r > 0)?);
            // A streamed WAV may say 0 or more than it has: count what came.
            let len = if len == 0 || len > b.len() - i - 8 {
                b.len() - i - 8
            } else {
                len
            };
            return Some(len as f64 / rate);
        }
        i += 8 + len + (len & 1);
    }
    None
}

/// How long `units` of media work take, and how much per unit under an engine preset.
pub(crate) fn work_time(state: &State, units: f64, engine_ms_per_unit: f64) -> Duration {
    let config = state.config();
    let units = units.max(0.0);
    let real = match &config.timing {
        Timing::Zero => Duration::ZERO,
        Timing::Fixed { ttft, itl } => *ttft + itl.mul_f64(units),
        Timing::Engine(_) => Duration::from_secs_f64(engine_ms_per_unit * units / 1e3),
    };
    config.scaled(real)
}

/// When work of `took` that arrived at `arrival` starts and ends: at once under the `fixed`
/// and zero timings, else after the work before it on this server's accelerator.
pub(crate) fn schedule(state: &State, arrival: Instant, took: Duration) -> (Instant, Instant) {
    if !matches!(state.config().timing, Timing::Engine(_)) {
        return (arrival, arrival + took);
    }
    let mut free_at =
        (state.accelerator_free_at().lock()).unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = free_at.map_or(arrival, |free| free.max(arrival));
    let end = start + took;
    *free_at = Some(end);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Bytes {
        let mut out = Vec::new();
        for (name, filename, data) in parts {
            out.extend_from_slice(b"--xyz\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
            if let Some(f) = filename {
                out.extend_from_slice(
                    format!("; filename=\"{f}\"\r\nContent-Type: audio/wav").as_bytes(),
                );
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--xyz--\r\n");
        Bytes::from(out)
    }

    #[test]
    fn a_form_is_fields_and_files() {
        let body = form(&[
            ("model", None, b"whisper"),
            ("file", Some("a.wav"), b"RIFF\r\n--xy\r\n\0\x01"),
            ("empty", None, b""),
        ]);
        let f = parse("xyz", &body).unwrap();
        assert_eq!(f.text("model").as_deref(), Some("whisper"));
        assert_eq!(f.text("empty").as_deref(), Some(""));
        let file = f.file("file").unwrap();
        assert_eq!(file.filename.as_deref(), Some("a.wav"));
        assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
        assert_eq!(file.data.as_ref(), b"RIFF\r\n--xy\r\n\0\x01");
        assert!(f.text("file").is_none() && f.file("model").is_none());
        for bad in [
            &b"no boundary"[..],
            b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunclosed",
        ] {
            let e = parse("xyz", &Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn media_sizes_from_their_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0x00, 0x02, 0x00, 0x03,
        ];
        assert_eq!(image_size(&jpeg), Some((512, 256)));
        assert_eq!(image_size(b"nothing"), None);
        // Half a second of 16 kHz mono 16-bit audio.
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        wav.extend_from_slice(&16_000u32.to_le_bytes());
        wav.extend_from_slice(&32_000u32.to_le_bytes());
        wav.extend_from_slice(b"\x02\0\x10\0data");
        wav.extend_from_slice(&16_000u32.to_le_bytes());
        wav.extend_from_slice(&[0; 16_000]);
        assert_eq!(audio_secs(&wav), 0.5);
        assert_eq!(audio_secs(&[0; 32_000]), 2.0);
    }
}
