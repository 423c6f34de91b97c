//! Datasets in memory: u8 pixels plus an affine map applied when a batch is built, so the same
//! bytes serve raw, moment-matched and standardized inputs without copies.

pub mod cifar;
pub mod drawing;
pub mod idx;

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

pub use idx::IdxError;

/// Names of the IDX files in a dataset folder, in the order (train images, train labels, test
/// images, test labels).
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// `x ↦ scale·x + shift` on pixels in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub scale: f32,
    pub shift: f32,
}

impl Affine {
    pub const IDENTITY: Affine = Affine { scale: 1.0, shift: 0.0 };

    /// Standardizes with the given statistics: `(x − mean) / std`.
    pub fn standardize(stats: Moments) -> Self {
        Affine { scale: 1.0 / stats.std, shift: -stats.mean / stats.std }
    }

    /// Maps a raw pixel byte to the model's input value.
    pub fn apply(self, pixel: u8) -> f32 {
        pixel as f32 / 255.0 * self.scale + self.shift
    }

    /// Gives data with moments `from` the moments `to`: `(x − μ_from) / σ_from · σ_to + μ_to`.
    pub fn match_moments(from: Moments, to: Moments) -> Self {
        let scale = to.std / from.std;
        Affine { scale, shift: to.mean - from.mean * scale }
    }
}

/// Mean and standard deviation of all pixels of a set, in [0, 1] units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub mean: f32,
    pub std: f32,
}

impl Moments {
    /// From a count, a sum and a sum of squares (see [`ImageSet::pixel_sums`]).
    pub fn from_sums([n, sum, sq]: [f64; 3]) -> Self {
        let n = n.max(1.0);
        let mean = sum / n;
        let std = (sq / n - mean * mean).max(1e-12).sqrt();
        Moments { mean: mean as f32, std: std as f32 }
    }
}

/// Random shifts (and mirrors) of training images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Pixels an image may be shifted by, each way.
    pub pad: usize,
    /// Mirror half of the images left to right (not for digits: a mirrored 7 is no digit).
    pub mirror: bool,
}

impl Augment {
    /// The standard CIFAR-10 augmentation: crops of the image padded by 4, and mirrors.
    pub const CIFAR: Augment = Augment { pad: 4, mirror: true };
}

/// A labelled image set: `len` images of `channels` planes of `side`×`side` pixels (MNIST: 1,
/// CIFAR-10: 3). The one container for every dataset.
///
/// The pixels are shared: a set is a view of stored images (which of them, in which order) with
/// labels and an affine map of its own, so a subset, a relabelling or a new normalization copies
/// no pixel, only labels and indices.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub side: usize,
    pub channels: usize,
    store: Arc<Vec<u8>>,
    /// Which stored images this set holds, in order; `None`: the first `labels.len()`.
    order: Option<Arc<[u32]>>,
    pub labels: Vec<u8>,
    pub affine: Affine,
}

impl PartialEq for ImageSet {
    fn eq(&self, other: &Self) -> bool {
        (self.side, self.channels, &self.labels, self.affine) == (other.side, other.channels, &other.labels, other.affine)
            && (0..self.len()).all(|i| self.image(i) == other.image(i))
    }
}

impl ImageSet {
    /// A set of `labels.len()` images whose planes follow each other in `pixels`.
    pub fn new(channels: usize, side: usize, pixels: Vec<u8>, labels: Vec<u8>) -> Self {
        assert_eq!(pixels.len(), labels.len() * channels * side * side, "one label per image");
        Self { side, channels, store: Arc::new(pixels), order: None, labels, affine: Affine::IDENTITY }
    }

    /// Builds a set from the bytes of an images file and a labels file (raw or gzip).
    pub fn from_idx(images_file: &str, images: &[u8], labels_file: &str, labels: &[u8]) -> Result<Self, IdxError> {
        let images_idx = idx::parse_images(images_file, images)?;
        let labels = idx::parse_labels(labels_file, labels, 10)?;
        idx::check_counts(images_file, &images_idx, labels_file, &labels)?;
        if images_idx.rows != images_idx.cols {
            return Err(IdxError::AbsurdDimensions { file: images_file.into(), rows: images_idx.rows, cols: images_idx.cols });
        }
        Ok(Self::new(1, images_idx.rows, images_idx.pixels, labels))
    }

    /// A set with no images yet.
    pub fn empty(channels: usize, side: usize) -> Self {
        Self::new(channels, side, Vec::new(), Vec::new())
    }

    /// Adds an image (its planes, one after the other) with its label.
    pub fn push(&mut self, label: u8, image: &[u8]) {
        debug_assert_eq!(image.len(), self.image_len());
        self.pixels_mut().extend_from_slice(image);
        self.labels.push(label);
    }

    /// Adds the images of `other`, a set of the same shape.
    pub fn append(&mut self, other: ImageSet) {
        debug_assert_eq!((other.channels, other.side), (self.channels, self.side));
        let pixels = self.pixels_mut();
        (0..other.len()).for_each(|i| pixels.extend_from_slice(other.image(i)));
        self.labels.extend(other.labels);
    }

    /// This set's images as a store of their own, to grow (copied only when shared or a view).
    fn pixels_mut(&mut self) -> &mut Vec<u8> {
        if self.order.is_some() || self.store.len() != self.len() * self.image_len() {
            *self = self.compacted();
        }
        Arc::make_mut(&mut self.store)
    }

    /// The same set with its images copied into a store of their own: what a shard handed to
    /// another worker, or kept while the whole set is dropped, should be.
    pub fn compacted(&self) -> Self {
        Self { store: Arc::new(self.pixel_bytes().into_owned()), order: None, labels: self.labels.clone(), ..*self }
    }

    /// The images' bytes, one after the other (borrowed when they lie so in the store).
    pub fn pixel_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.order {
            None => self.store[..self.len() * self.image_len()].into(),
            Some(_) => (0..self.len()).flat_map(|i| self.image(i).iter().copied()).collect::<Vec<_>>().into(),
        }
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.channels * self.side * self.side
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        let stored = self.order.as_ref().map_or(i, |order| order[i] as usize);
        &self.store[stored * n..(stored + 1) * n]
    }

    /// The first `limit` examples (all of them when `limit` is `None` or larger than the set).
    pub fn head(&self, limit: Option<usize>) -> Self {
        let len = limit.map_or(self.len(), |l| l.min(self.len()));
        let order = self.order.as_ref().map(|order| order[..len].into());
        Self { store: self.store.clone(), order, labels: self.labels[..len].to_vec(), ..*self }
    }

    /// The images at `indices`, with new `labels` (one per index).
    pub fn subset(&self, indices: &[usize], labels: Vec<u8>) -> Self {
        assert_eq!(labels.len(), indices.len(), "one label per image");
        let stored = |i: usize| self.order.as_ref().map_or(i, |order| order[i] as usize) as u32;
        Self { store: self.store.clone(), order: Some(indices.iter().map(|&i| stored(i)).collect()), labels, ..*self }
    }

    /// The same images with new labels (one per image).
    pub fn with_labels(&self, labels: Vec<u8>) -> Self {
        assert_eq!(labels.len(), self.len(), "one label per image");
        Self { store: self.store.clone(), order: self.order.clone(), labels, ..*self }
    }

    /// The same images and labels, mapped by `affine` when a batch is built.
    pub fn with_affine(&self, affine: Affine) -> Self {
        Self { affine, ..self.clone() }
    }

    /// Pixel moments of the raw images (before the affine map).
    pub fn moments(&self) -> Moments {
        Moments::from_sums(self.pixel_sums())
    }

    /// Count, sum and sum of squares of the raw pixels in [0, 1]: what moments are made of, and
    /// what shards of a set add up.
    pub fn pixel_sums(&self) -> [f64; 3] {
        let pixels = (0..self.len()).flat_map(|i| self.image(i));
        let (sum, sq) = pixels.fold((0.0f64, 0.0f64), |(s, q), &p| {
            let x = p as f64 / 255.0;
            (s + x, q + x * x)
        });
        [(self.len() * self.image_len()) as f64, sum, sq]
    }

    /// `len` images of uniformly random pixels and labels (for timing a model).
    pub fn random(len: usize, channels: usize, side: usize, seed: u64) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let pixels = (0..len * channels * side * side).map(|_| rng.random()).collect();
        let labels = (0..len).map(|_| rng.random_range(0..10)).collect();
        Self::new(channels, side, pixels, labels)
    }

    /// Count of each label.
    pub fn histogram(&self) -> [usize; 10] {
        histogram(&self.labels)
    }

    /// The images at `indices` as a `[n, channels, side, side]` tensor with the affine map applied.
    pub fn images_tensor(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        self.batch_tensor(self.values(indices, None), device)
    }

    /// A batch's `values` (see [`Self::values`]) as a `[n, channels, side, side]` tensor.
    pub fn batch_tensor(&self, values: Vec<f32>, device: &Device) -> Tensor<4> {
        let len = values.len() / self.image_len();
        Tensor::from_data(TensorData::new(values, [len, self.channels, self.side, self.side]), device)
    }

    /// The values of the images at `indices`, `[n, channels, side, side]` flattened, with the
    /// affine map applied. With `augment`, each image is shifted by up to `pad` pixels each way (a
    /// random crop of the zero-padded image) and, where `mirror`, mirrored half the time, drawn
    /// from the generator given.
    pub fn values(&self, indices: &[usize], augment: Option<(Augment, &mut dyn rand::RngCore)>) -> Vec<f32> {
        use rand::Rng;
        let Some((augment, rng)) = augment else {
            return indices.iter().flat_map(|&i| self.image(i).iter().map(|&p| self.affine.apply(p))).collect();
        };
        let (side, plane, pad) = (self.side as i32, self.side * self.side, augment.pad as i32);
        let mut values = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            let image = self.image(i);
            let (dx, dy) = (rng.random_range(-pad..=pad), rng.random_range(-pad..=pad));
            let flip = augment.mirror && rng.random_bool(0.5);
            for c in 0..self.channels {
                for y in 0..side {
                    for x in 0..side {
                        let sx = if flip { side - 1 - x } else { x } + dx;
                        let sy = y + dy;
                        let inside = (0..side).contains(&sx) && (0..side).contains(&sy);
                        let p = if inside { image[c * plane + (sy * side + sx) as usize] } else { 0 };
                        values.push(self.affine.apply(p));
                    }
                }
            }
        }
        values
    }

    pub fn labels_tensor(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let values: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_data(TensorData::new(values, [indices.len()]), device)
    }
}

/// Count of each of ten labels.
pub fn histogram(labels: &[u8]) -> [usize; 10] {
    let mut h = [0; 10];
    labels.iter().for_each(|&l| h[l as usize] += 1);
    h
}

/// A dataset's train and test splits.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: ImageSet,
    pub test: ImageSet,
}

impl Splits {
    /// Parses the four files named as in [`IDX_FILES`]; `files` holds (name, bytes) in that order.
    pub fn from_idx_files(files: [(&str, &[u8]); 4]) -> Result<Self, IdxError> {
        let [ti, tl, vi, vl] = files;
        Ok(Self {
            train: ImageSet::from_idx(ti.0, ti.1, tl.0, tl.1)?,
            test: ImageSet::from_idx(vi.0, vi.1, vl.0, vl.1)?,
        })
    }
}

/// Errors of loading a dataset from disk: a missing file, or a bad one.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source} (run scripts/fetch-data to download the datasets)")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Idx(#[from] IdxError),
}

/// Loads a dataset folder holding the four [`IDX_FILES`].
#[cfg(not(target_family = "wasm"))]
pub fn load_dir(dir: &std::path::Path) -> Result<Splits, LoadError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })
    };
    let bytes: Vec<Vec<u8>> = IDX_FILES.iter().map(|n| read(n)).collect::<Result<_, _>>()?;
    let names: Vec<String> = IDX_FILES.iter().map(|n| dir.join(n).display().to_string()).collect();
    let files = std::array::from_fn(|i| (names[i].as_str(), bytes[i].as_slice()));
    Ok(Splits::from_idx_files(files)?)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn moments_and_their_maps() {
        // Pixels 0, ½, ½, 1: mean ½, variance ⅛.
        let m = Moments::from_sums([4.0, 2.0, 1.5]);
        assert!((m.mean - 0.5).abs() < 1e-6 && (m.std - 0.125f32.sqrt()).abs() < 1e-6, "{m:?}");
        let (from, to) = (Moments { mean: 0.29, std: 0.35 }, Moments { mean: 0.13, std: 0.31 });
        let map = |a: Affine, x: f32| a.scale * x + a.shift;
        // Matching sends the mean to the mean and one deviation above it to one above the other.
        let matched = Affine::match_moments(from, to);
        assert!((map(matched, from.mean) - to.mean).abs() < 1e-6);
        assert!((map(matched, from.mean + from.std) - (to.mean + to.std)).abs() < 1e-6);
        // Standardizing sends them to 0 and 1.
        let standard = Affine::standardize(from);
        assert!(map(standard, from.mean).abs() < 1e-6 && (map(standard, from.mean + from.std) - 1.0).abs() < 1e-6);
        assert_eq!(Affine::IDENTITY.apply(255), 1.0);
    }

    /// Heads, subsets and relabellings are views of the same stored pixels, and read the images
    /// they name; growing a view copies it first, leaving the original as it was.
    #[test]
    fn views_share_the_pixels() {
        let set = ImageSet::new(1, 2, (0..24).collect(), vec![0, 1, 2, 3, 4, 5]);
        let head = set.head(Some(4));
        let picked = head.subset(&[3, 1], vec![7, 8]);
        let relabeled = picked.with_labels(vec![9, 9]).with_affine(Affine { scale: 2.0, shift: 0.0 });
        for view in [&head, &picked, &relabeled] {
            assert!(Arc::ptr_eq(&view.store, &set.store));
        }
        assert_eq!((head.len(), head.image(3)), (4, &[12, 13, 14, 15][..]));
        assert_eq!((picked.image(0), picked.image(1)), (&[12, 13, 14, 15][..], &[4, 5, 6, 7][..]));
        assert_eq!(picked.head(Some(1)).pixel_bytes(), &[12, 13, 14, 15][..]);
        assert_eq!(relabeled.pixel_bytes(), picked.compacted().pixel_bytes());
        // Moments are the view's: the first image alone is 0, 1, 2, 3.
        let [n, sum, sq] = set.head(Some(1)).pixel_sums();
        assert!(n == 4.0 && (sum - 6.0 / 255.0).abs() < 1e-12 && (sq - 14.0 / 255.0 / 255.0).abs() < 1e-12);
        let mut grown = picked.clone();
        grown.push(5, &[1, 1, 1, 1]);
        assert_eq!((grown.len(), grown.image(2), picked.len()), (3, &[1, 1, 1, 1][..], 2));
        assert_eq!(set.image(5), &[20, 21, 22, 23]);
        assert_eq!(grown.compacted(), grown);
    }

    /// A crop-and-flip draws one shift within the padding and one mirroring for the whole image,
    /// every channel alike, and fills what it shifts in with zeros; without `mirror`, only shifts.
    #[test]
    fn augmentation_shifts_and_mirrors_whole_images() {
        for mirror in [true, false] {
            let seen = augmentations_seen(mirror);
            assert_eq!(seen.iter().any(|s| s.2), mirror);
            assert!(seen.iter().any(|s| !s.2));
            // Most of the 25 shifts occur (of 50 transforms with mirrors).
            assert!(seen.len() > if mirror { 25 } else { 18 }, "{} transforms seen", seen.len());
        }
    }

    /// The (dx, dy, mirrored) transforms that 200 augmentations of one image turn out to be.
    fn augmentations_seen(mirror: bool) -> std::collections::HashSet<(i32, i32, bool)> {
        let (side, channels, pad) = (6usize, 2usize, 2i32);
        let pixels: Vec<u8> = (1..=(channels * side * side) as u8).collect();
        let set = ImageSet::new(channels, side, pixels.clone(), vec![0]);
        let source = |c: usize, x: i32, y: i32| {
            let inside = (0..side as i32).contains(&x) && (0..side as i32).contains(&y);
            if inside { pixels[c * side * side + y as usize * side + x as usize] } else { 0 }
        };
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let out: Vec<u8> = set.values(&[0], Some((Augment { pad: pad as usize, mirror }, &mut rng))).iter().map(|v| (v * 255.0).round() as u8).collect();
            let fits = |dx: i32, dy: i32, flip: bool| {
                (0..channels).all(|c| {
                    (0..side as i32).all(|y| {
                        (0..side as i32).all(|x| {
                            let sx = if flip { side as i32 - 1 - x } else { x } + dx;
                            out[c * side * side + y as usize * side + x as usize] == source(c, sx, y + dy)
                        })
                    })
                })
            };
            let found = (-pad..=pad).flat_map(|dx| (-pad..=pad).flat_map(move |dy| [(dx, dy, false), (dx, dy, true)])).find(|&(dx, dy, f)| fits(dx, dy, f));
            seen.insert(found.expect("the output is a shifted, possibly mirrored copy"));
        }
        seen
    }
}
