//! Synthetic images: random pixels, the built-in pictures or a directory's files, at a drawn
//! size, encoded as PNG or JPEG into `data:` URIs.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use image::{ImageOutputFormat, RgbImage};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use rand_pcg::Pcg64Mcg;

use super::positive_normal;
use crate::UsageError;
use crate::settings::{ImageFormat, ImageGen, ImageSource, SourceSampling};

/// JPEG quality of synthetic images (a common server-side default).
const JPEG_QUALITY: u8 = 85;

/// Draws images of one run's settings.
pub(super) struct ImageMaker {
    spec: ImageGen,
    /// The pictures to resize (none for noise).
    pictures: Vec<RgbImage>,
    /// The order pictures are used in (cycles), and where in it the next one is.
    order: Vec<usize>,
    next: usize,
}

impl ImageMaker {
    pub(super) fn new(spec: &ImageGen) -> Result<Self, UsageError> {
        let pictures = match &spec.source {
            ImageSource::Noise => Vec::new(),
            ImageSource::Assets => built_in_pictures(),
            ImageSource::Dir(dir) => load_dir(dir)?,
        };
        Ok(Self {
            spec: spec.clone(),
            order: (0..pictures.len()).collect(),
            pictures,
            next: 0,
        })
    }

    /// One image as a `data:image/<format>;base64,` URI, with its width and height.
    pub(super) fn make(&mut self, rng: &mut Pcg64Mcg) -> (String, u32, u32) {
        let width = positive_normal(rng, self.spec.width);
        let height = positive_normal(rng, self.spec.height);
        let format = match self.spec.format {
            ImageFormat::Random if rng.random_bool(0.5) => ImageFormat::Png,
            ImageFormat::Random => ImageFormat::Jpeg,
            f => f,
        };
        let pixels = if self.pictures.is_empty() {
            let mut raw = vec![0u8; width as usize * height as usize * 3];
            rng.fill_bytes(&mut raw);
            RgbImage::from_raw(width, height, raw).expect("a buffer of the image's size")
        } else {
            let i = self.pick(rng);
            image::imageops::resize(
                &self.pictures[i],
                width,
                height,
                image::imageops::FilterType::Triangle,
            )
        };
        (encode(&pixels, format), width, height)
    }

    fn pick(&mut self, rng: &mut Pcg64Mcg) -> usize {
        let n = self.pictures.len();
        match self.spec.sampling {
            SourceSampling::RandomWithReplacement => rng.random_range(0..n),
            SourceSampling::SequentialCycle => {
                let i = self.next % n;
                self.next += 1;
                i
            }
            SourceSampling::ShuffleCycle => {
                if self.next.is_multiple_of(n) {
                    self.order.shuffle(rng);
                }
                let i = self.order[self.next % n];
                self.next += 1;
                i
            }
        }
    }
}

/// `pixels` as a `data:` URI in `format`.
pub(super) fn encode(pixels: &RgbImage, format: ImageFormat) -> String {
    let mut bytes = Cursor::new(Vec::new());
    let (mime, out) = match format {
        ImageFormat::Jpeg => ("jpeg", ImageOutputFormat::Jpeg(JPEG_QUALITY)),
        _ => ("png", ImageOutputFormat::Png),
    };
    pixels
        .write_to(&mut bytes, out)
        .expect("encoding an in-memory image");
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes.into_inner());
    format!("data:image/{mime};base64,{b64}")
}

/// The PNG and JPEG files of `dir`, in name order.
fn load_dir(dir: &Path) -> Result<Vec<RgbImage>, UsageError> {
    let error = |what: String| UsageError::new(format!("--image-source {}: {what}", dir.display()));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| error(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(error("no .png, .jpg or .jpeg files in it".into()));
    }
    paths
        .iter()
        .map(|p| {
            image::open(p)
                .map(|i| i.to_rgb8())
                .map_err(|e| error(format!("{}: {e}", p.display())))
        })
        .collect()
}

/// Four drawn pictures with the smooth areas and edges of photographs (so they compress like
/// real images, unlike noise): a sky gradient over hills, concentric rings, a checkerboard
/// under a diagonal shade, and soft colour blobs.
fn built_in_pictures() -> Vec<RgbImage> {
    const SIZE: u32 = 256;
    let draw = |f: &dyn Fn(f32, f32) -> [f32; 3]| {
        RgbImage::from_fn(SIZE, SIZE, |x, y| {
            let (u, v) = (x as f32 / SIZE as f32, y as f32 / SIZE as f32);
            image::Rgb(f(u, v).map(|c| (c.clamp(0.0, 1.0) * 255.0) as u8))
        })
    };
    vec![
        draw(&|u, v| {
            let hill = 0.6 + 0.1 * (u * 9.0).sin() + 0.05 * (u * 23.0).cos();
            if v > hill {
                [0.2, 0.5 - 0.3 * (v - hill), 0.15]
            } else {
                [0.4 + 0.4 * v, 0.6 + 0.3 * v, 0.95]
            }
        }),
        draw(&|u, v| {
            let r = ((u - 0.5).powi(2) + (v - 0.5).powi(2)).sqrt();
            let ring = (r * 40.0).sin() * 0.5 + 0.5;
            [ring, 0.3 + 0.4 * u, 1.0 - ring * v]
        }),
        draw(&|u, v| {
            let check = ((u * 8.0) as u32 + (v * 8.0) as u32).is_multiple_of(2);
            let shade = 0.5 + 0.5 * (u + v) / 2.0;
            if check {
                [0.9 * shade, 0.85 * shade, 0.7 * shade]
            } else {
                [0.2 * shade, 0.25 * shade, 0.4 * shade]
            }
        }),
        draw(&|u, v| {
            let blob = |cx: f32, cy: f32| (-((u - cx).powi(2) + (v - cy).powi(2)) * 18.0).exp();
            [
                blob(0.3, 0.3) + 0.1,
                blob(0.7, 0.4) + 0.1,
                blob(0.5, 0.75) + 0.1,
            ]
        }),
    ]
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::settings::LengthDist;

    fn spec_of(format: ImageFormat, source: ImageSource) -> ImageGen {
        ImageGen {
            width: LengthDist {
                mean: 64.0,
                stddev: 0.0,
            },
            height: LengthDist {
                mean: 32.0,
                stddev: 0.0,
            },
            batch: 1,
            format,
            source,
            sampling: SourceSampling::RandomWithReplacement,
        }
    }

    fn decode(uri: &str) -> (String, image::DynamicImage) {
        let (head, b64) = uri.split_once(";base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        (head.to_owned(), image::load_from_memory(&bytes).unwrap())
    }

    #[test]
    fn images_decode_at_the_drawn_size_in_their_format() {
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        for (format, mime) in [(ImageFormat::Png, "png"), (ImageFormat::Jpeg, "jpeg")] {
            for source in [ImageSource::Noise, ImageSource::Assets] {
                let mut maker = ImageMaker::new(&spec_of(format, source)).unwrap();
                let (uri, w, h) = maker.make(&mut rng);
                let (head, img) = decode(&uri);
                assert_eq!(head, format!("data:image/{mime}"));
                assert_eq!((img.width(), img.height(), w, h), (64, 32, 64, 32));
            }
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_images() {
        let g = spec_of(ImageFormat::Random, ImageSource::Noise);
        let draw = |seed| {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            let mut maker = ImageMaker::new(&g).unwrap();
            (0..4).map(|_| maker.make(&mut rng).0).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn directory_pictures_cycle_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for (name, colour) in [("b.png", [0, 0, 255]), ("a.png", [255, 0, 0])] {
            RgbImage::from_pixel(8, 8, image::Rgb(colour))
                .save(dir.path().join(name))
                .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "not a picture").unwrap();
        let mut g = spec_of(ImageFormat::Png, ImageSource::Dir(dir.path().into()));
        g.sampling = SourceSampling::SequentialCycle;
        let mut maker = ImageMaker::new(&g).unwrap();
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let reds: Vec<u8> = (0..3)
            .map(|_| decode(&maker.make(&mut rng).0).1.to_rgb8().get_pixel(3, 3)[0])
            .collect();
        assert_eq!(reds, [255, 0, 255]);
    }

    #[test]
    fn an_empty_directory_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let g = spec_of(ImageFormat::Png, ImageSource::Dir(dir.path().into()));
        let e = ImageMaker::new(&g).err().unwrap().to_string();
        assert!(e.contains("--image-source") && e.contains("no .png"), "{e}");
    }
}
