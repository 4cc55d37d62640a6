//! Synthetic media options, checked in the media of `inputs.json`: image sizes and sources,
//! audio clips per request, lengths, formats and channels, and videos per request with their
//! codecs and audio track (from the container headers, without FFmpeg's tools).

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::payloads;
use crate::common::profile_ok;

fn b64(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

/// The content parts of `kind` of each request.
fn parts(dir: &Path, kind: &str) -> Vec<Vec<Value>> {
    payloads(dir)
        .iter()
        .map(|p| {
            (p["messages"][0]["content"].as_array().unwrap().iter())
                .filter(|c| c["type"] == kind)
                .cloned()
                .collect()
        })
        .collect()
}

/// The bytes of a `data:` URI with `prefix`.
fn data(uri: &Value, prefix: &str) -> Vec<u8> {
    b64(uri.as_str().unwrap().strip_prefix(prefix).unwrap())
}

fn images(dir: &Path) -> Vec<image::RgbImage> {
    parts(dir, "image_url")
        .iter()
        .flatten()
        .map(|p| {
            let png = data(&p["image_url"]["url"], "data:image/png;base64,");
            image::load_from_memory(&png).unwrap().to_rgb8()
        })
        .collect()
}

fn media_run(tmp: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let dir = tmp.join(name);
    let base = [
        "--sim",
        "zero",
        "--request-count",
        "2",
        "--isl",
        "8",
        "--osl",
        "2",
        "--random-seed",
        "7",
    ];
    profile_ok(&dir, &[&base[..], extra].concat());
    dir
}

/// `--image-width-stddev` and `--image-height-stddev`: image sizes vary around the means.
#[test]
fn image_size_stddevs_vary_the_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = media_run(
        tmp.path(),
        "sizes",
        &[
            "--num-dataset-entries",
            "8",
            "--image-format",
            "png",
            "--image-width-mean",
            "64",
            "--image-width-stddev",
            "16",
            "--image-height-mean",
            "48",
            "--image-height-stddev",
            "12",
        ],
    );
    let sizes: Vec<(u32, u32)> = images(&dir).iter().map(|i| i.dimensions()).collect();
    assert_eq!(sizes.len(), 8);
    let widths: BTreeSet<u32> = sizes.iter().map(|s| s.0).collect();
    let heights: BTreeSet<u32> = sizes.iter().map(|s| s.1).collect();
    assert!(widths.len() >= 3 && heights.len() >= 3, "{sizes:?}");
    assert!(sizes.iter().all(|s| s.0 >= 1 && s.1 >= 1), "{sizes:?}");
}

/// `--image-source` and `--image-source-sampling`: noise never repeats; the four built-in
/// pictures recur every four images in order (sequential-cycle); a directory's pictures (here
/// three solid colours) are used in name order, or in a new order each cycle (shuffle-cycle).
#[test]
fn image_source_and_sampling_pick_the_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let pictures = tmp.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    let colours = [[200u8, 0, 0], [0, 200, 0], [0, 0, 200]];
    for (name, c) in ["a.png", "b.png", "c.png"].iter().zip(colours) {
        image::RgbImage::from_pixel(40, 30, image::Rgb(c))
            .save(pictures.join(name))
            .unwrap();
    }
    let run = |name: &str, extra: &[&str]| -> Vec<image::RgbImage> {
        let base = [
            "--num-dataset-entries",
            "9",
            "--image-format",
            "png",
            "--image-width-mean",
            "16",
            "--image-height-mean",
            "12",
        ];
        images(&media_run(tmp.path(), name, &[&base[..], extra].concat()))
    };
    let noise = run("noise", &["--image-source", "noise"]);
    let distinct: BTreeSet<&[u8]> = noise.iter().map(|i| i.as_raw().as_slice()).collect();
    assert_eq!(distinct.len(), 9, "noise never repeats");

    let assets = run(
        "assets",
        &[
            "--image-source",
            "assets",
            "--image-source-sampling",
            "sequential-cycle",
        ],
    );
    for (i, img) in assets.iter().enumerate() {
        assert_eq!(img.dimensions(), (16, 12));
        for (j, other) in assets.iter().enumerate().skip(i + 1) {
            assert_eq!(img == other, (j - i) % 4 == 0, "images {i} and {j}");
        }
    }

    let dir_source = pictures.to_str().unwrap();
    let colour = |imgs: &[image::RgbImage]| -> Vec<usize> {
        imgs.iter()
            .map(|i| {
                let p = i.get_pixel(8, 6).0;
                colours
                    .iter()
                    .position(|c| *c == p)
                    .unwrap_or_else(|| panic!("{p:?}"))
            })
            .collect()
    };
    let sequential = colour(&run(
        "sequential",
        &[
            "--image-source",
            dir_source,
            "--image-source-sampling",
            "sequential-cycle",
        ],
    ));
    assert_eq!(sequential, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    let shuffled = colour(&run(
        "shuffled",
        &[
            "--image-source",
            dir_source,
            "--image-source-sampling",
            "shuffle-cycle",
        ],
    ));
    for cycle in shuffled.chunks(3) {
        let seen: BTreeSet<usize> = cycle.iter().copied().collect();
        assert_eq!(seen.len(), 3, "each cycle uses every picture: {shuffled:?}");
    }
    assert_ne!(shuffled, sequential, "seed 7 shuffles");
}

/// `--audio-batch-size`, `--audio-length-stddev` and `--audio-num-channels`: two stereo clips
/// per request whose lengths vary; `--audio-format mp3`: MPEG audio frames, stereo.
#[test]
fn audio_batch_length_spread_format_and_channels() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = media_run(
        tmp.path(),
        "wav",
        &[
            "--num-dataset-entries",
            "3",
            "--audio-length-mean",
            "1",
            "--audio-length-stddev",
            "0.4",
            "--audio-batch-size",
            "2",
            "--audio-num-channels",
            "2",
            "--audio-format",
            "wav",
        ],
    );
    let clips = parts(&dir, "input_audio");
    assert_eq!(clips.len(), 3);
    let mut lengths = BTreeSet::new();
    for request in &clips {
        assert_eq!(request.len(), 2, "two clips per request");
        for clip in request {
            assert_eq!(clip["input_audio"]["format"], "wav");
            let wav = b64(clip["input_audio"]["data"].as_str().unwrap());
            let reader = hound::WavReader::new(&wav[..]).unwrap();
            let spec = reader.spec();
            assert_eq!(spec.channels, 2);
            lengths.insert(reader.duration() * 1000 / spec.sample_rate);
        }
    }
    assert!(lengths.len() >= 3, "clip lengths (ms) {lengths:?}");

    let dir = media_run(
        tmp.path(),
        "mp3",
        &[
            "--num-dataset-entries",
            "2",
            "--audio-length-mean",
            "1",
            "--audio-num-channels",
            "2",
            "--audio-format",
            "mp3",
        ],
    );
    for request in parts(&dir, "input_audio") {
        let clip = &request[0]["input_audio"];
        assert_eq!(clip["format"], "mp3");
        let mp3 = b64(clip["data"].as_str().unwrap());
        let frame = mpeg_frame(&mp3).expect("an MPEG audio frame");
        // Channel mode 3 is mono.
        assert_ne!(mp3[frame + 3] >> 6, 3, "stereo");
    }
}

/// Where the first MPEG audio frame header starts (after an ID3v2 tag, if any).
fn mpeg_frame(bytes: &[u8]) -> Option<usize> {
    let start = if bytes.starts_with(b"ID3") {
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7f));
        10 + size
    } else {
        0
    };
    (start..bytes.len().saturating_sub(4))
        .find(|&i| bytes[i] == 0xFF && bytes[i + 1] & 0xE0 == 0xE0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ffmpeg_available() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("AIPERF_REQUIRE_FFMPEG").is_err(),
            "AIPERF_REQUIRE_FFMPEG is set but ffmpeg is not on the PATH"
        );
    }
    found
}

/// `--video-batch-size`, `--video-codec`, `--video-audio-codec`, `--video-audio-sample-rate`
/// and `--video-audio-depth`: two videos per request, with the codecs asked for (Matroska
/// codec IDs, MP4 sample entries) and the audio track's sample rate.
#[test]
fn video_batch_codecs_and_audio_track() {
    if !ffmpeg_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let video = [
        "--num-dataset-entries",
        "2",
        "--video-width",
        "32",
        "--video-height",
        "32",
        "--video-duration",
        "0.5",
        "--video-fps",
        "4",
        "--video-audio-num-channels",
        "1",
    ];
    let webm = media_run(
        tmp.path(),
        "webm",
        &[
            &video[..],
            &[
                "--video-format",
                "webm",
                "--video-batch-size",
                "2",
                "--video-codec",
                "libvpx",
                "--video-audio-codec",
                "libvorbis",
                "--video-audio-sample-rate",
                "22050",
                "--video-audio-depth",
                "8",
            ],
        ]
        .concat(),
    );
    for request in parts(&webm, "video_url") {
        assert_eq!(request.len(), 2, "two videos per request");
        for v in &request {
            let bytes = data(&v["video_url"]["url"], "data:video/webm;base64,");
            assert!(find(&bytes, b"V_VP8").is_some(), "VP8 video");
            assert!(find(&bytes, b"A_VORBIS").is_some(), "Vorbis audio");
            // SamplingFrequency (0xB5), an 8-byte float.
            let mut rate = vec![0xB5, 0x88];
            rate.extend(22050f64.to_be_bytes());
            assert!(find(&bytes, &rate).is_some(), "22050 Hz audio");
        }
    }
    let mp4 = media_run(
        tmp.path(),
        "mp4",
        &[
            &video[..],
            &[
                "--video-format",
                "mp4",
                "--video-codec",
                "libx264",
                "--video-audio-codec",
                "aac",
                "--video-audio-sample-rate",
                "16000",
                "--video-audio-depth",
                "32",
            ],
        ]
        .concat(),
    );
    for request in parts(&mp4, "video_url") {
        assert_eq!(request.len(), 1);
        let bytes = data(&request[0]["video_url"]["url"], "data:video/mp4;base64,");
        assert!(find(&bytes, b"avc1").is_some(), "H.264 video");
        let entry = find(&bytes, b"mp4a").expect("an AAC sample entry");
        // AudioSampleEntry: after its type, 24 bytes then the sample rate (16.16).
        let field = |at: usize, n: usize| {
            bytes[entry + at..entry + at + n]
                .iter()
                .fold(0u32, |v, b| (v << 8) | u32::from(*b))
        };
        assert_eq!(field(28, 4) >> 16, 16000, "16 kHz audio");
    }
}
