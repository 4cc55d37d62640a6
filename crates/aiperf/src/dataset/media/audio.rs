//! Synthetic audio: Gaussian noise of a drawn length at a picked sample rate and bit depth,
//! encoded as WAV (`hound`) or MP3 (LAME), in the `format,base64` form chat servers take.

use std::io::Cursor;

use base64::Engine;
use rand::RngExt;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64Mcg;

use crate::settings::{AudioFormat, AudioGen};

/// One clip: its `format,base64` text and its length in seconds.
pub(super) struct Clip {
    pub(super) content: String,
    pub(super) seconds: f64,
}

/// Draws one clip of `spec`.
pub(super) fn make(spec: &AudioGen, rng: &mut Pcg64Mcg) -> Clip {
    let seconds = if spec.length.stddev > 0.0 {
        let normal = Normal::new(spec.length.mean, spec.length.stddev).expect("a valid deviation");
        // Redrawn until at least 10 ms long.
        loop {
            let s = normal.sample(rng);
            if s >= 0.01 {
                break s;
            }
        }
    } else {
        spec.length.mean
    };
    let rate = spec.sample_rates[rng.random_range(0..spec.sample_rates.len())];
    let depth = spec.depths[rng.random_range(0..spec.depths.len())];
    let frames = (seconds * f64::from(rate)) as usize;
    let channels = usize::from(spec.channels);
    // Noise of standard deviation 0.3, clipped to full scale.
    let noise = Normal::<f64>::new(0.0, 0.3).expect("a valid deviation");
    let samples: Vec<f64> = (0..frames * channels)
        .map(|_| noise.sample(rng).clamp(-1.0, 1.0))
        .collect();
    let bytes = match spec.format {
        AudioFormat::Wav => wav(&samples, rate, depth, spec.channels),
        AudioFormat::Mp3 => mp3(&samples, rate, spec.channels),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    Clip {
        content: format!("{},{b64}", spec.format.name()),
        seconds,
    }
}

/// Interleaved samples in [-1, 1] as a PCM WAV file of `depth` bits.
fn wav(samples: &[f64], rate: u32, depth: u16, channels: u8) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: u16::from(channels),
        sample_rate: rate,
        bits_per_sample: depth,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut out, spec).expect("a valid WAV header");
        let full = f64::from((1u32 << (depth - 1)) - 1);
        for s in samples {
            let v = (s * full) as i32;
            let written = match depth {
                8 => writer.write_sample(v as i8),
                16 => writer.write_sample(v as i16),
                _ => writer.write_sample(v),
            };
            written.expect("writing to memory");
        }
        writer.finalize().expect("writing to memory");
    }
    out.into_inner()
}

/// Interleaved samples in [-1, 1] as an MP3 (from 16-bit samples).
fn mp3(samples: &[f64], rate: u32, channels: u8) -> Vec<u8> {
    use mp3lame_encoder::{Builder, DualPcm, FlushNoGap, MonoPcm};
    let pcm: Vec<i16> = samples
        .iter()
        .map(|s| (s * f64::from(i16::MAX)) as i16)
        .collect();
    let mut builder = Builder::new().expect("LAME starts");
    builder.set_num_channels(channels).expect("1 or 2 channels");
    builder.set_sample_rate(rate).expect("an MP3 sample rate");
    builder
        .set_brate(mp3lame_encoder::Bitrate::Kbps128)
        .expect("a bitrate");
    builder
        .set_quality(mp3lame_encoder::Quality::Good)
        .expect("a quality");
    let mut encoder = builder.build().expect("LAME accepts the settings");
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(pcm.len()));
    let encoded = if channels == 2 {
        let (left, right): (Vec<i16>, Vec<i16>) = pcm.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
        encoder.encode_to_vec(
            DualPcm {
                left: &left,
                right: &right,
            },
            &mut out,
        )
    } else {
        encoder.encode_to_vec(MonoPcm(&pcm), &mut out)
    };
    encoded.expect("encoding to memory");
    encoder
        .flush_to_vec::<FlushNoGap>(&mut out)
        .expect("encoding to memory");
    out
}

/// The length in seconds of a WAV file, from its header (for clips read from input files).
pub(super) fn wav_seconds(bytes: &[u8]) -> Option<f64> {
    let reader = hound::WavReader::new(Cursor::new(bytes)).ok()?;
    let spec = reader.spec();
    Some(f64::from(reader.duration()) / f64::from(spec.sample_rate))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::settings::LengthDist;

    fn spec_of(format: AudioFormat, depth: u16, channels: u8) -> AudioGen {
        AudioGen {
            length: LengthDist {
                mean: 0.5,
                stddev: 0.0,
            },
            batch: 1,
            format,
            depths: vec![depth],
            sample_rates: vec![16_000],
            channels,
        }
    }

    fn bytes(content: &str, format: &str) -> Vec<u8> {
        let (head, b64) = content.split_once(',').unwrap();
        assert_eq!(head, format);
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    #[test]
    fn wav_clips_have_the_asked_shape() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for depth in [8, 16, 24, 32] {
            for channels in [1, 2] {
                let clip = make(&spec_of(AudioFormat::Wav, depth, channels), &mut rng);
                let wav = bytes(&clip.content, "wav");
                let reader = hound::WavReader::new(Cursor::new(&wav[..])).unwrap();
                let spec = reader.spec();
                assert_eq!(spec.bits_per_sample, depth);
                assert_eq!(spec.channels, u16::from(channels));
                assert_eq!(spec.sample_rate, 16_000);
                assert_eq!(reader.duration(), 8_000);
                assert_eq!(wav_seconds(&wav), Some(0.5));
                assert_eq!(clip.seconds, 0.5);
            }
        }
    }

    #[test]
    fn mp3_clips_are_mpeg_audio_frames() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for channels in [1, 2] {
            let clip = make(&spec_of(AudioFormat::Mp3, 16, channels), &mut rng);
            let mp3 = bytes(&clip.content, "mp3");
            // An MPEG audio frame starts with 11 set sync bits; half a second of 128 kbit/s
            // is about 8 KB.
            assert!(mp3[0] == 0xFF && mp3[1] & 0xE0 == 0xE0, "{:x?}", &mp3[..4]);
            assert!((4_000..16_000).contains(&mp3.len()), "{}", mp3.len());
        }
    }

    #[test]
    fn drawn_lengths_vary_and_stay_positive() {
        let mut g = spec_of(AudioFormat::Wav, 16, 1);
        g.length = LengthDist {
            mean: 0.05,
            stddev: 0.1,
        };
        let mut rng = Pcg64Mcg::seed_from_u64(9);
        let lengths: Vec<f64> = (0..20).map(|_| make(&g, &mut rng).seconds).collect();
        assert!(lengths.iter().all(|s| *s >= 0.01));
        assert!(lengths.iter().any(|s| (s - lengths[0]).abs() > 1e-6));
    }
}
