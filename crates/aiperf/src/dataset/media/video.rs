//! Synthetic videos: frames drawn here (moving shapes, a grid with a clock hand, or noise),
//! encoded by FFmpeg into WebM or MP4 (no Rust crate encodes VP9 or H.264), optionally with a
//! noise audio track, as `data:video/<format>;base64,` URIs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use rand::{Rng, RngExt};
use rand_pcg::Pcg64Mcg;

use crate::UsageError;
use crate::settings::{AudioFormat, AudioGen, LengthDist, VideoFormat, VideoGen, VideoSynth};

/// One video of `spec` as a `data:` URI.
pub(super) fn make(spec: &VideoGen, rng: &mut Pcg64Mcg) -> Result<String, UsageError> {
    let frames = ((spec.duration_secs * f64::from(spec.fps)).round() as u32).max(1);
    let raw = draw(spec, frames, rng);
    let dir = TempDir::new()?;
    let out = dir.0.join(format!("video.{}", spec.format.name()));
    let mut cmd = Command::new(&spec.ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"]);
    cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24"]);
    cmd.args(["-s", &format!("{}x{}", spec.width, spec.height)]);
    cmd.args(["-r", &spec.fps.to_string(), "-i", "pipe:0"]);
    if let Some(track) = &spec.audio {
        let clip = super::audio::make(
            &AudioGen {
                length: LengthDist {
                    mean: f64::from(frames) / f64::from(spec.fps),
                    stddev: 0.0,
                },
                batch: 1,
                format: AudioFormat::Wav,
                depths: vec![track.depth],
                sample_rates: vec![track.sample_rate],
                channels: track.channels,
            },
            rng,
        );
        let wav = dir.0.join("audio.wav");
        let b64 = clip.content.split_once(',').map_or("", |c| c.1);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("our own base64");
        std::fs::write(&wav, bytes).map_err(|e| io_error(&wav, &e))?;
        cmd.arg("-i").arg(&wav);
        // The channel count as an output option gives the track FFmpeg's default layout for
        // it: WAV files of 24 and 32 bits name mono as front-left, which AAC refuses.
        let channels = track.channels.to_string();
        cmd.args(["-c:a", &track.codec, "-ac", &channels, "-shortest"]);
    }
    cmd.args(["-c:v", &spec.codec, "-pix_fmt", "yuv420p"]);
    if spec.format == VideoFormat::Mp4 {
        cmd.args(["-movflags", "faststart"]);
    }
    cmd.args(["-f", spec.format.name()]).arg(&out);
    run(cmd, &raw, spec)?;
    let video = std::fs::read(&out).map_err(|e| io_error(&out, &e))?;
    if video.is_empty() {
        return Err(ffmpeg_error(spec, "it wrote an empty file"));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(video);
    Ok(format!("data:video/{};base64,{b64}", spec.format.name()))
}

fn run(mut cmd: Command, raw: &[u8], spec: &VideoGen) -> Result<(), UsageError> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ffmpeg_error(spec, &e.to_string()))?;
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // FFmpeg reads the frames while it writes the file; a failed write means it stopped early,
    // and its error message says why.
    let _ = stdin.write_all(raw);
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| ffmpeg_error(spec, &e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(ffmpeg_error(spec, stderr.trim()))
    }
}

fn ffmpeg_error(spec: &VideoGen, why: &str) -> UsageError {
    UsageError::new(format!(
        "--video-*: FFmpeg ({}) could not encode a {} video with --video-codec {}: {why}",
        spec.ffmpeg.display(),
        spec.format.name(),
        spec.codec
    ))
}

fn io_error(path: &Path, e: &std::io::Error) -> UsageError {
    UsageError::new(format!("synthetic video: {}: {e}", path.display()))
}

/// The RGB frames of one video, back to back.
fn draw(spec: &VideoGen, frames: u32, rng: &mut Pcg64Mcg) -> Vec<u8> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut raw = vec![0u8; w * h * 3 * frames as usize];
    if spec.synth == VideoSynth::Noise {
        rng.fill_bytes(&mut raw);
        return raw;
    }
    // Shapes: a position, a velocity and a colour each, bouncing off the edges.
    let mut shapes: Vec<([f64; 2], [f64; 2], [u8; 3])> = (0..3)
        .map(|_| {
            (
                [
                    rng.random_range(0.0..w as f64),
                    rng.random_range(0.0..h as f64),
                ],
                [rng.random_range(-4.0..4.0), rng.random_range(-4.0..4.0)],
                [rng.random(), rng.random(), rng.random()],
            )
        })
        .collect();
    let radius = (w.min(h) as f64 / 8.0).max(2.0);
    for (f, frame) in raw.chunks_exact_mut(w * h * 3).enumerate() {
        let angle = f as f64 / f64::from(spec.fps.max(1)) * std::f64::consts::TAU / 4.0;
        for (i, px) in frame.chunks_exact_mut(3).enumerate() {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let mut colour = match spec.synth {
                VideoSynth::GridClock if (i % w) % 32 == 0 || (i / w) % 32 == 0 => [200; 3],
                VideoSynth::GridClock => [20, 20, 40],
                _ => [
                    (x * 255.0 / w as f64) as u8 / 4,
                    30,
                    (y * 255.0 / h as f64) as u8 / 4,
                ],
            };
            if spec.synth == VideoSynth::GridClock {
                // A hand from the centre, one turn every four seconds.
                let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
                let (dx, dy) = (x - cx, y - cy);
                let along = dx * angle.sin() - dy * angle.cos();
                let across = dx * angle.cos() + dy * angle.sin();
                if along > 0.0 && along < radius * 3.0 && across.abs() < 2.0 {
                    colour = [255, 60, 60];
                }
            } else {
                for (pos, _, c) in &shapes {
                    if (x - pos[0]).powi(2) + (y - pos[1]).powi(2) < radius * radius {
                        colour = *c;
                    }
                }
            }
            px.copy_from_slice(&colour);
        }
        for (pos, vel, _) in &mut shapes {
            for k in 0..2 {
                let limit = if k == 0 { w } else { h } as f64;
                pos[k] += vel[k];
                if pos[k] < 0.0 || pos[k] > limit {
                    vel[k] = -vel[k];
                    pos[k] = pos[k].clamp(0.0, limit);
                }
            }
        }
    }
    raw
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, UsageError> {
        let dir = std::env::temp_dir().join(format!("aiperf-video-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, &e))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
