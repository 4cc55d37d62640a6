//! Synthetic images, audio and video: which kinds are on, their sizes and encodings, checked
//! before anything runs.

use std::path::PathBuf;

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::settings::*;

/// Sample rates an MP3 can have, in Hz.
const MP3_RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

pub(super) fn resolve_media(args: &ProfileArgs) -> Result<MediaConfig, UsageError> {
    let media = MediaConfig {
        image: resolve_image(args)?,
        audio: resolve_audio(args)?,
        video: resolve_video(args, find_program)?,
    };
    if !media.is_empty() && args.input.input_file.is_some() {
        return Err(UsageError::new(
            "synthetic images, audio and video (--image-*, --audio-*, --video-*) go with \
             synthetic prompts; with --input-file give each row's `image`, `audio` or `video` \
             instead",
        ));
    }
    Ok(media)
}

fn nonnegative(flag: &str, value: f64) -> Result<f64, UsageError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(UsageError::new(format!(
            "{flag} must be a non-negative number, got {value}"
        )))
    }
}

fn resolve_image(args: &ProfileArgs) -> Result<Option<ImageGen>, UsageError> {
    let a = &args.image;
    let width = nonnegative("--image-width-mean", a.image_width_mean)?;
    let height = nonnegative("--image-height-mean", a.image_height_mean)?;
    let width_stddev = nonnegative("--image-width-stddev", a.image_width_stddev)?;
    let height_stddev = nonnegative("--image-height-stddev", a.image_height_stddev)?;
    if width == 0.0 || height == 0.0 || a.image_batch_size == 0 {
        if (width > 0.0) != (height > 0.0) {
            return Err(UsageError::new(
                "give both --image-width-mean and --image-height-mean (in pixels) to send images",
            ));
        }
        return Ok(None);
    }
    let source = match a.image_source.as_str() {
        "noise" => ImageSource::Noise,
        "assets" => ImageSource::Assets,
        dir => {
            let path = PathBuf::from(dir);
            if !path.is_dir() {
                return Err(UsageError::new(format!(
                    "--image-source {dir}: not `noise`, `assets` or a directory of PNG/JPEG files"
                )));
            }
            ImageSource::Dir(path)
        }
    };
    if source == ImageSource::Noise
        && a.image_source_sampling != SourceSampling::RandomWithReplacement
    {
        return Err(UsageError::new(
            "--image-source-sampling picks among pictures; noise images are all different, so \
             only random-with-replacement applies (drop the flag or choose --image-source assets)",
        ));
    }
    Ok(Some(ImageGen {
        width: LengthDist {
            mean: width,
            stddev: width_stddev,
        },
        height: LengthDist {
            mean: height,
            stddev: height_stddev,
        },
        batch: a.image_batch_size,
        format: a.image_format,
        source,
        sampling: a.image_source_sampling,
    }))
}

fn resolve_audio(args: &ProfileArgs) -> Result<Option<AudioGen>, UsageError> {
    let a = &args.audio;
    let mean = nonnegative("--audio-length-mean", a.audio_length_mean)?;
    let stddev = nonnegative("--audio-length-stddev", a.audio_length_stddev)?;
    if mean == 0.0 || a.audio_batch_size == 0 {
        return Ok(None);
    }
    if mean < 0.01 {
        return Err(UsageError::new(format!(
            "--audio-length-mean {mean}: clips must be at least 0.01 seconds long"
        )));
    }
    if let Some(d) = a
        .audio_depths
        .iter()
        .find(|d| ![8, 16, 24, 32].contains(*d))
    {
        return Err(UsageError::new(format!(
            "--audio-depths {d}: bit depths are 8, 16, 24 or 32"
        )));
    }
    if !(1..=2).contains(&a.audio_num_channels) {
        return Err(UsageError::new(format!(
            "--audio-num-channels {}: 1 (mono) or 2 (stereo)",
            a.audio_num_channels
        )));
    }
    let mut sample_rates = Vec::new();
    for &khz in &a.audio_sample_rates {
        let hz = (khz * 1000.0).round();
        if !(1000.0..=384_000.0).contains(&hz) {
            return Err(UsageError::new(format!(
                "--audio-sample-rates {khz}: sample rates are in kHz, e.g. 16 or 44.1"
            )));
        }
        let hz = hz as u32;
        if a.audio_format == AudioFormat::Mp3 && !MP3_RATES.contains(&hz) {
            return Err(UsageError::new(format!(
                "--audio-sample-rates {khz}: MP3 takes 8, 11.025, 12, 16, 22.05, 24, 32, 44.1 or \
                 48 kHz; pick one of those or --audio-format wav"
            )));
        }
        sample_rates.push(hz);
    }
    if a.audio_format == AudioFormat::Mp3 && a.audio_depths.iter().any(|d| *d != 16) {
        tracing::warn!(
            "--audio-depths: MP3 stores no bit depth; clips are encoded from 16-bit samples"
        );
    }
    Ok(Some(AudioGen {
        length: LengthDist { mean, stddev },
        batch: a.audio_batch_size,
        format: a.audio_format,
        depths: a.audio_depths.clone(),
        sample_rates,
        channels: a.audio_num_channels,
    }))
}

/// `name` on the `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn resolve_video(
    args: &ProfileArgs,
    find: impl Fn(&str) -> Option<PathBuf>,
) -> Result<Option<VideoGen>, UsageError> {
    let a = &args.video;
    let (width, height) = match (a.video_width, a.video_height) {
        (None, None) => return Ok(None),
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        (Some(_), Some(_)) => {
            return Err(UsageError::new(
                "--video-width and --video-height must be at least 1 pixel",
            ));
        }
        _ => {
            return Err(UsageError::new(
                "give both --video-width and --video-height (in pixels) to send videos",
            ));
        }
    };
    if a.video_batch_size == 0 {
        return Ok(None);
    }
    let duration = nonnegative("--video-duration", a.video_duration)?;
    if duration == 0.0 || a.video_fps == 0 {
        return Err(UsageError::new(
            "--video-duration and --video-fps must be positive (frames = duration × fps)",
        ));
    }
    if width % 2 == 1 || height % 2 == 1 {
        return Err(UsageError::new(format!(
            "--video-width {width} / --video-height {height}: video encoders need even sizes"
        )));
    }
    let ffmpeg = find("ffmpeg").ok_or_else(|| {
        UsageError::new(
            "--video-width/--video-height: synthetic videos are encoded with FFmpeg, which is not \
             on the PATH; install it (e.g. `apt install ffmpeg`) or drop the video flags",
        )
    })?;
    let audio = match a.video_audio_num_channels {
        0 => None,
        1 | 2 => {
            let rate = if a.video_audio_sample_rate < 1000.0 {
                a.video_audio_sample_rate * 1000.0
            } else {
                a.video_audio_sample_rate
            };
            let codec = a.video_audio_codec.clone().unwrap_or_else(|| {
                match a.video_format {
                    VideoFormat::Webm => "libvorbis",
                    VideoFormat::Mp4 => "libopus",
                }
                .to_owned()
            });
            Some(VideoAudio {
                sample_rate: rate.round() as u32,
                channels: a.video_audio_num_channels,
                codec,
                depth: a.video_audio_depth,
            })
        }
        n => {
            return Err(UsageError::new(format!(
                "--video-audio-num-channels {n}: 0 (no audio track), 1 or 2"
            )));
        }
    };
    Ok(Some(VideoGen {
        batch: a.video_batch_size,
        duration_secs: duration,
        fps: a.video_fps,
        width,
        height,
        synth: a.video_synth_type,
        format: a.video_format,
        codec: a.video_codec.clone(),
        audio,
        ffmpeg,
    }))
}
