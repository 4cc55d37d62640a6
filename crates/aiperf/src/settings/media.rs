//! Synthetic images, audio and video sent with every synthetic turn.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::LengthDist;

/// The media each synthetic turn carries; a kind left `None` is not generated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaConfig {
    pub image: Option<ImageGen>,
    pub audio: Option<AudioGen>,
    pub video: Option<VideoGen>,
}

impl MediaConfig {
    pub fn is_empty(&self) -> bool {
        self.image.is_none() && self.audio.is_none() && self.video.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageGen {
    pub width: LengthDist,
    pub height: LengthDist,
    pub batch: u32,
    pub format: ImageFormat,
    pub source: ImageSource,
    pub sampling: SourceSampling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Jpeg,
    Random,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSource {
    /// Random pixels at the drawn size.
    Noise,
    /// The built-in pictures, resized.
    Assets,
    /// The PNG and JPEG files of a directory, resized.
    Dir(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SourceSampling {
    /// Each picture drawn independently.
    RandomWithReplacement,
    /// Every picture once per shuffled round.
    ShuffleCycle,
    /// The pictures in name order, over and over.
    SequentialCycle,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioGen {
    /// Clip length in seconds.
    pub length: LengthDist,
    pub batch: u32,
    pub format: AudioFormat,
    /// Bit depths to pick from.
    pub depths: Vec<u16>,
    /// Sample rates to pick from, in Hz.
    pub sample_rates: Vec<u32>,
    pub channels: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AudioFormat {
    Wav,
    Mp3,
}

impl AudioFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoGen {
    pub batch: u32,
    pub duration_secs: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub synth: VideoSynth,
    pub format: VideoFormat,
    pub codec: String,
    /// The embedded audio track, if any.
    pub audio: Option<VideoAudio>,
    /// The FFmpeg program that encodes the videos.
    pub ffmpeg: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoAudio {
    pub sample_rate: u32,
    pub channels: u8,
    pub codec: String,
    pub depth: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "kebab-case")]
pub enum VideoSynth {
    #[value(alias = "moving_shapes")]
    MovingShapes,
    #[value(alias = "grid_clock")]
    GridClock,
    Noise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum VideoFormat {
    Mp4,
    Webm,
}

impl VideoFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::Webm => "webm",
        }
    }
}
