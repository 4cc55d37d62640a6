//! Synthetic images, audio and video for synthetic turns (`--image-*`, `--audio-*`,
//! `--video-*`), and media named by input files (URLs and data URIs as given, local files read
//! into data URIs).

mod audio;
mod files;
mod image;
mod video;

pub use files::{RowMedia, row_media};

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

use super::Conversation;
use crate::UsageError;
use crate::settings::{LengthDist, MediaConfig};

/// Adds the configured media to every turn, drawn from `seed` (the same seed, the same
/// media).
pub fn attach(
    conversations: &mut [Conversation],
    media: &MediaConfig,
    seed: u64,
) -> Result<(), UsageError> {
    if media.is_empty() {
        return Ok(());
    }
    // One stream per kind, so turning one kind on does not change the others.
    let mut image_rng = Pcg64Mcg::seed_from_u64(seed ^ 0x0069_6d61_6765);
    let mut audio_rng = Pcg64Mcg::seed_from_u64(seed ^ 0x0061_7564_696f);
    let mut video_rng = Pcg64Mcg::seed_from_u64(seed ^ 0x0076_6964_656f);
    let mut images = media
        .image
        .as_ref()
        .map(image::ImageMaker::new)
        .transpose()?;
    for turn in conversations.iter_mut().flat_map(|c| c.turns.iter_mut()) {
        if let (Some(maker), Some(spec)) = (images.as_mut(), &media.image) {
            turn.images = (0..spec.batch)
                .map(|_| maker.make(&mut image_rng).0)
                .collect();
        }
        if let Some(spec) = &media.audio {
            let clips: Vec<audio::Clip> = (0..spec.batch)
                .map(|_| audio::make(spec, &mut audio_rng))
                .collect();
            turn.audio_secs = clips.first().map(|c| c.seconds);
            turn.audios = clips.into_iter().map(|c| c.content).collect();
        }
        if let Some(spec) = &media.video {
            turn.videos = (0..spec.batch)
                .map(|_| video::make(spec, &mut video_rng))
                .collect::<Result<_, _>>()?;
        }
    }
    Ok(())
}

/// A whole number of pixels drawn from `dist` (at least 1; the mean itself without spread).
fn positive_normal(rng: &mut Pcg64Mcg, dist: LengthDist) -> u32 {
    if dist.stddev <= 0.0 {
        return dist.mean.round().max(1.0) as u32;
    }
    let normal = Normal::new(dist.mean, dist.stddev).expect("a valid deviation");
    normal.sample(rng).ceil().clamp(1.0, f64::from(u16::MAX)) as u32
}

/// An audio clip's format and base64 data, from `format,base64` or a `data:audio/` URI.
pub fn audio_parts(clip: &str) -> (&str, &str) {
    match clip.strip_prefix("data:audio/") {
        Some(rest) => {
            let (head, data) = rest.split_once(',').unwrap_or((rest, ""));
            let format = head.split(';').next().filter(|f| !f.is_empty());
            (format.unwrap_or("wav"), data)
        }
        None => clip.split_once(',').unwrap_or(("wav", clip)),
    }
}
