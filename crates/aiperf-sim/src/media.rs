//! What images, audio and video in a chat request cost the simulated model, in prompt tokens,
//! the way vision-language and speech models count them: an image is a grid of 28×28-pixel
//! patches (Qwen2-VL's merged 14-pixel patches), audio is 25 tokens per second (Whisper-style
//! encoders after pooling), a video is its sampled frames as images. Sizes are read from the
//! files' headers (as [`crate::form`] reads uploads); what cannot be read (URLs, unknown
//! formats) counts as a 512×512 image, a 10-second clip or a 16-frame 448×448 video.

use aiperf_openai::chat::{ContentPart, MessageContent};
use base64::Engine;
use serde_json::Value;

use crate::form::{image_size, mp3_secs, wav_secs};

/// Pixels per side of one image token.
const PATCH: u32 = 28;
const AUDIO_TOKENS_PER_SEC: f64 = 25.0;
const DEFAULT_IMAGE: (u32, u32) = (512, 512);
const DEFAULT_AUDIO_SECS: f64 = 10.0;
/// Frames a video model samples, and their size.
const VIDEO_FRAMES: u32 = 16;
const VIDEO_FRAME: (u32, u32) = (448, 448);

/// The prompt tokens of the non-text parts of `content`.
pub(crate) fn tokens(content: &MessageContent) -> u32 {
    let MessageContent::Parts(parts) = content else {
        return 0;
    };
    parts
        .iter()
        .map(|part| match part {
            ContentPart::Text { .. } => 0,
            ContentPart::ImageUrl { image_url } => {
                let (w, h) = url(image_url)
                    .and_then(data_uri)
                    .and_then(|b| image_size(&b))
                    .unwrap_or(DEFAULT_IMAGE);
                image_tokens(w, h)
            }
            ContentPart::InputAudio { input_audio } => {
                let secs = (input_audio.get("data").and_then(Value::as_str))
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                    .and_then(|b| audio_secs(&b))
                    .unwrap_or(DEFAULT_AUDIO_SECS);
                (secs * AUDIO_TOKENS_PER_SEC).ceil() as u32
            }
            ContentPart::VideoUrl { .. } => {
                VIDEO_FRAMES * image_tokens(VIDEO_FRAME.0, VIDEO_FRAME.1)
            }
        })
        .fold(0u32, u32::saturating_add)
}

fn image_tokens(w: u32, h: u32) -> u32 {
    w.div_ceil(PATCH).max(1) * h.div_ceil(PATCH).max(1)
}

/// `{"url": ...}` or a bare string.
fn url(v: &Value) -> Option<&str> {
    v.get("url").and_then(Value::as_str).or_else(|| v.as_str())
}

/// The bytes of a base64 `data:` URI.
fn data_uri(uri: &str) -> Option<Vec<u8>> {
    let (_, b64) = uri.strip_prefix("data:")?.split_once(";base64,")?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// The length of an audio clip: a WAV's from its header, an MP3's from its size at 128 kbit/s.
fn audio_secs(b: &[u8]) -> Option<f64> {
    let mp3 = b.starts_with(b"ID3") || b.first() == Some(&0xFF);
    wav_secs(b).or_else(|| mp3.then(|| mp3_secs(b)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parts(v: Value) -> MessageContent {
        serde_json::from_value(v).unwrap()
    }

    fn png(w: u32, h: u32) -> String {
        // A PNG signature and IHDR are all the size reader needs.
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(b);
        format!("data:image/png;base64,{b64}")
    }

    fn wav(secs: u32, rate: u32) -> String {
        let data = secs * rate * 2;
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&(36 + data).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * 2).to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data.to_le_bytes());
        b.resize(b.len() + data as usize, 0);
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn images_cost_their_patches_and_audio_its_seconds() {
        let c = parts(json!([
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": png(280, 56)}},
            {"type": "input_audio", "input_audio": {"data": wav(2, 8000), "format": "wav"}},
        ]));
        assert_eq!(tokens(&c), 10 * 2 + 50);
    }

    #[test]
    fn unreadable_media_get_default_sizes() {
        let c = parts(json!([
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "video_url", "video_url": {"url": "data:video/webm;base64,GkXfow=="}},
        ]));
        assert_eq!(tokens(&c), 19 * 19 + 16 * 16 * 16);
        assert_eq!(tokens(&MessageContent::Text("hi".into())), 0);
    }
}
