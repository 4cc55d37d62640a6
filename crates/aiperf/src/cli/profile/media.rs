//! Synthetic images, audio and video added to every synthetic turn, with the reference tool's
//! flags. Each kind is off until its size is given (`--image-width-mean` and
//! `--image-height-mean`, `--audio-length-mean`, `--video-width` and `--video-height`).

use clap::Args;

use super::list_number;
use crate::settings::{AudioFormat, ImageFormat, SourceSampling, VideoFormat, VideoSynth};

#[derive(Debug, Args)]
#[command(next_help_heading = "Image input")]
pub struct ImageArgs {
    /// Mean width of synthetic images, in pixels (0: no images).
    #[arg(long, default_value_t = 0.0)]
    pub image_width_mean: f64,

    /// Standard deviation of the image width, in pixels.
    #[arg(long, default_value_t = 0.0)]
    pub image_width_stddev: f64,

    /// Mean height of synthetic images, in pixels (0: no images).
    #[arg(long, default_value_t = 0.0)]
    pub image_height_mean: f64,

    /// Standard deviation of the image height, in pixels.
    #[arg(long, default_value_t = 0.0)]
    pub image_height_stddev: f64,

    /// Images per request.
    #[arg(long, visible_alias = "batch-size-image", default_value_t = 1)]
    pub image_batch_size: u32,

    /// Encoding of synthetic images (random: PNG or JPEG, picked per image).
    #[arg(long, value_enum, default_value_t = ImageFormat::Png)]
    pub image_format: ImageFormat,

    /// Where pixels come from: `noise` (random pixels, never the same image twice),
    /// `assets` (a few built-in pictures, resized) or a directory of PNG/JPEG files (resized).
    #[arg(long, default_value = "noise", value_name = "noise|assets|DIR")]
    pub image_source: String,

    /// How pictures are picked from `assets` or a directory.
    #[arg(long, value_enum, default_value_t = SourceSampling::RandomWithReplacement)]
    pub image_source_sampling: SourceSampling,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Audio input")]
pub struct AudioArgs {
    /// Audio clips per request.
    #[arg(long, visible_alias = "batch-size-audio", default_value_t = 1)]
    pub audio_batch_size: u32,

    /// Mean length of synthetic audio clips, in seconds (0: no audio).
    #[arg(long, default_value_t = 0.0)]
    pub audio_length_mean: f64,

    /// Standard deviation of the clip length, in seconds.
    #[arg(long, default_value_t = 0.0)]
    pub audio_length_stddev: f64,

    /// Encoding of synthetic clips.
    #[arg(long, value_enum, default_value_t = AudioFormat::Wav)]
    pub audio_format: AudioFormat,

    /// Bit depths to pick from per clip (8, 16, 24, 32).
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [16u16])]
    pub audio_depths: Vec<u16>,

    /// Sample rates to pick from per clip, in kHz.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_parser = list_number, default_values_t = [16.0])]
    pub audio_sample_rates: Vec<f64>,

    /// Channels: 1 (mono) or 2 (stereo).
    #[arg(long, default_value_t = 1)]
    pub audio_num_channels: u8,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Video input")]
pub struct VideoArgs {
    /// Videos per request.
    #[arg(long, visible_alias = "batch-size-video", default_value_t = 1)]
    pub video_batch_size: u32,

    /// Length of each synthetic video, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub video_duration: f64,

    /// Frames per second.
    #[arg(long, default_value_t = 4)]
    pub video_fps: u32,

    /// Frame width in pixels (with --video-height; neither: no videos).
    #[arg(long)]
    pub video_width: Option<u32>,

    /// Frame height in pixels (with --video-width).
    #[arg(long)]
    pub video_height: Option<u32>,

    /// What the frames show.
    #[arg(long, value_enum, default_value_t = VideoSynth::MovingShapes)]
    pub video_synth_type: VideoSynth,

    /// Container of synthetic videos.
    #[arg(long, value_enum, default_value_t = VideoFormat::Webm)]
    pub video_format: VideoFormat,

    /// Video codec FFmpeg encodes with.
    #[arg(long, default_value = "libvpx-vp9")]
    pub video_codec: String,

    /// Sample rate of the embedded audio track, in Hz (values below 1000 are kHz).
    #[arg(long, default_value_t = 44100.0)]
    pub video_audio_sample_rate: f64,

    /// Channels of the embedded audio track (0: no audio track).
    #[arg(long, default_value_t = 0)]
    pub video_audio_num_channels: u8,

    /// Codec of the embedded audio track (default: libvorbis for webm, libopus for mp4).
    #[arg(long, value_parser = ["aac", "libvorbis", "libopus"])]
    pub video_audio_codec: Option<String>,

    /// Bit depth of the embedded audio track.
    #[arg(long, default_value_t = 16, value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["8", "16", "24", "32"]), |s: String| s.parse::<u16>().unwrap_or(16)))]
    pub video_audio_depth: u16,
}
