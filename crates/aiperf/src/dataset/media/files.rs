//! Images, audio and video named by an input file's rows (`image`/`images`, `audio`/`audios`,
//! `video`/`videos`): URLs and already encoded contents (`data:` URIs, `wav,<base64>`) are
//! sent as given; anything else is a local file, read and sent as a data URI.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

/// The media of one row.
#[derive(Debug, Default, PartialEq)]
pub struct RowMedia {
    pub images: Vec<String>,
    pub audios: Vec<String>,
    pub videos: Vec<String>,
    /// Length of the first clip in seconds, when it is a WAV file.
    pub audio_secs: Option<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Image,
    Audio,
    Video,
}

/// Reads a row's media fields: `(field name, value)` for each of the six.
pub fn row_media(fields: [(&str, Option<&Value>); 6]) -> Result<RowMedia, String> {
    let mut media = RowMedia::default();
    for (field, value) in fields {
        let Some(value) = value else { continue };
        let kind = match field.trim_end_matches('s') {
            "image" => Kind::Image,
            "audio" => Kind::Audio,
            _ => Kind::Video,
        };
        for content in contents(field, value)? {
            let content = resolve(kind, &content).map_err(|e| format!("field `{field}`: {e}"))?;
            match kind {
                Kind::Image => media.images.push(content),
                Kind::Audio => media.audios.push(content),
                Kind::Video => media.videos.push(content),
            }
        }
    }
    media.audio_secs = media.audios.first().and_then(|a| clip_seconds(a));
    Ok(media)
}

/// The strings of a field: one string, a list of strings, or a list of
/// `{"name": ..., "contents": [...]}` objects.
fn contents(field: &str, value: &Value) -> Result<Vec<String>, String> {
    let bad = || {
        format!(
            "field `{field}`: expected a string, a list of strings or a list of \
             {{\"name\": ..., \"contents\": [...]}} objects"
        )
    };
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    Value::Object(o) => match o.get("contents") {
                        Some(Value::Array(c)) => {
                            for s in c {
                                out.push(s.as_str().ok_or_else(bad)?.to_owned());
                            }
                        }
                        _ => return Err(bad()),
                    },
                    _ => return Err(bad()),
                }
            }
            Ok(out)
        }
        _ => Err(bad()),
    }
}

/// A content as sent: encoded contents and URLs as they are, files read.
fn resolve(kind: Kind, content: &str) -> Result<String, String> {
    let encoded = match kind {
        Kind::Audio => {
            content.starts_with("data:")
                || content
                    .split_once(',')
                    .is_some_and(|(f, _)| matches!(f.to_ascii_lowercase().as_str(), "wav" | "mp3"))
        }
        _ => content.starts_with("data:"),
    };
    if encoded || content.is_empty() {
        return Ok(content.to_owned());
    }
    if let Some((scheme, rest)) = content.split_once("://") {
        if scheme.is_empty() || rest.is_empty() {
            return Err(format!(
                "{content:?} is not a URL (it needs a scheme and a host)"
            ));
        }
        return Ok(content.to_owned());
    }
    let bytes = std::fs::read(Path::new(content)).map_err(|e| {
        format!("{content:?} is neither a URL nor encoded data, and as a file: {e}")
    })?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    match kind {
        Kind::Image => {
            let format = image::guess_format(&bytes)
                .ok()
                .and_then(|f| f.extensions_str().first().copied())
                .ok_or_else(|| format!("{content}: not an image format aiperf recognises"))?;
            let format = if format == "jpg" { "jpeg" } else { format };
            Ok(format!("data:image/{format};base64,{b64}"))
        }
        Kind::Audio => {
            let format = if bytes.starts_with(b"RIFF") {
                "wav"
            } else if bytes.starts_with(b"ID3") || bytes.first() == Some(&0xFF) {
                "mp3"
            } else {
                return Err(format!("{content}: audio files must be WAV or MP3"));
            };
            Ok(format!("{format},{b64}"))
        }
        Kind::Video => {
            let format = if bytes.get(4..8) == Some(b"ftyp") {
                "mp4"
            } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
                "webm"
            } else {
                return Err(format!("{content}: video files must be MP4 or WebM"));
            };
            Ok(format!("data:video/{format};base64,{b64}"))
        }
    }
}

/// The length of a WAV clip (`wav,<base64>` or a `data:audio/wav` URI), in seconds.
fn clip_seconds(clip: &str) -> Option<f64> {
    let (format, data) = super::audio_parts(clip);
    if format != "wav" {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    super::audio::wav_seconds(&bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(fields: &Value) -> Result<RowMedia, String> {
        let get = |k: &str| fields.get(k);
        row_media([
            ("image", get("image")),
            ("images", get("images")),
            ("audio", get("audio")),
            ("audios", get("audios")),
            ("video", get("video")),
            ("videos", get("videos")),
        ])
    }

    #[test]
    fn urls_and_encoded_contents_pass_through() {
        let m = read(&json!({
            "image": "https://example.com/cat.png",
            "audios": [{"name": "input_audio", "contents": ["wav,UklGRg==", "data:audio/mp3;base64,SUQz"]}],
            "videos": ["data:video/mp4;base64,AAAA"],
        }))
        .unwrap();
        assert_eq!(m.images, ["https://example.com/cat.png"]);
        assert_eq!(m.audios, ["wav,UklGRg==", "data:audio/mp3;base64,SUQz"]);
        assert_eq!(m.videos, ["data:video/mp4;base64,AAAA"]);
    }

    #[test]
    fn local_files_become_data_uris() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("dot.png");
        image::RgbImage::from_pixel(2, 2, image::Rgb([1, 2, 3]))
            .save(&png)
            .unwrap();
        let wav = dir.path().join("tone.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav, spec).unwrap();
        for _ in 0..4000 {
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let m = read(&json!({"images": [png], "audio": wav})).unwrap();
        assert!(
            m.images[0].starts_with("data:image/png;base64,iVBOR"),
            "{}",
            m.images[0]
        );
        assert!(m.audios[0].starts_with("wav,UklGR"), "{}", m.audios[0]);
        assert_eq!(m.audio_secs, Some(0.5));
    }

    #[test]
    fn missing_files_and_bad_shapes_name_the_field() {
        let e = read(&json!({"image": "/no/such/picture.png"})).unwrap_err();
        assert!(
            e.contains("field `image`") && e.contains("picture.png"),
            "{e}"
        );
        let e = read(&json!({"videos": [1, 2]})).unwrap_err();
        assert!(e.contains("field `videos`"), "{e}");
        let e = read(&json!({"image": "http://"})).unwrap_err();
        assert!(e.contains("not a URL"), "{e}");
    }
}
