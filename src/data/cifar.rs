//! CIFAR-10 in its official binary format (`data_batch_1..5.bin`, `test_batch.bin`: records of one
//! label byte and 3,072 pixel bytes, the R, G and B planes of a 32×32 image), and the conversion of
//! an image-folder tree (`train/<class>/*.jpg`, `test/<class>/*.jpg`) into that format, so the rest
//! of the code sees one format whichever copy of the dataset a machine has.
//!
//! As with the IDX reader, every failure is a typed [`CifarError`] naming the file.

use thiserror::Error;

use super::ImageSet;

pub const CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
pub const TRAIN_FILES: [&str; 5] = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
pub const TEST_FILE: &str = "test_batch.bin";
pub const SIDE: usize = 32;
pub const CHANNELS: usize = 3;
pub const IMAGE_BYTES: usize = CHANNELS * SIDE * SIDE;
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CifarError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: truncated or not a CIFAR-10 batch: {len} bytes is not a whole number of {RECORD_BYTES}-byte records")]
    Truncated { file: String, len: usize },
    #[error("{file}: label {label} of record {index} is out of range (expected 0..10)")]
    LabelOutOfRange { file: String, index: usize, label: u8 },
    #[error("{file}: cannot read it: {detail}")]
    Io { file: String, detail: String },
    #[error("{file}: not a usable image: {detail}")]
    Image { file: String, detail: String },
    #[error("{dir}: {detail}")]
    Layout { dir: String, detail: String },
}

/// An empty set of CIFAR-10's shape (3 planes of 32×32).
pub fn empty() -> ImageSet {
    ImageSet::empty(CHANNELS, SIDE)
}

/// Records `range` of `set` in the binary format.
pub fn to_batch_bytes(set: &ImageSet, range: std::ops::Range<usize>) -> Vec<u8> {
    range.flat_map(|i| std::iter::once(set.labels[i]).chain(set.image(i).iter().copied())).collect()
}

/// Parses one batch file's bytes.
pub fn parse_batch(file: &str, bytes: &[u8]) -> Result<ImageSet, CifarError> {
    if bytes.is_empty() {
        return Err(CifarError::Empty { file: file.into() });
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(CifarError::Truncated { file: file.into(), len: bytes.len() });
    }
    let mut set = empty();
    for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if label >= 10 {
            return Err(CifarError::LabelOutOfRange { file: file.into(), index, label });
        }
        set.push(label, &record[1..]);
    }
    Ok(set)
}

#[cfg(not(target_family = "wasm"))]
pub use native::{ConvertSummary, convert_tree, load_dir};

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::path::{Path, PathBuf};

    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use rand::seq::SliceRandom;

    use super::*;
    use crate::data::Splits;

    fn read(path: &Path) -> Result<Vec<u8>, CifarError> {
        std::fs::read(path).map_err(|e| CifarError::Io { file: path.display().to_string(), detail: e.to_string() })
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<(), CifarError> {
        std::fs::write(path, bytes).map_err(|e| CifarError::Io { file: path.display().to_string(), detail: e.to_string() })
    }

    /// Loads the six batch files of a `cifar-10-batches-bin` folder.
    pub fn load_dir(dir: &Path) -> Result<Splits, CifarError> {
        let load = |name: &str| {
            let path = dir.join(name);
            parse_batch(&path.display().to_string(), &read(&path)?)
        };
        let mut train = empty();
        for name in TRAIN_FILES {
            train.append(load(name)?);
        }
        Ok(Splits { train, test: load(TEST_FILE)? })
    }

    /// What a conversion wrote.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ConvertSummary {
        pub train: usize,
        pub test: usize,
    }

    /// Converts `root/{train,test}/<class>/*.{jpg,jpeg,png}` (class folders named as in
    /// [`CLASSES`]) into the binary format in `out`: the training images spread over the five
    /// `data_batch_*.bin` files, the test images in `test_batch.bin`, each split shuffled in a
    /// fixed order drawn from `seed`.
    pub fn convert_tree(root: &Path, out: &Path, seed: u64) -> Result<ConvertSummary, CifarError> {
        let train = read_split(&root.join("train"), seed)?;
        let test = read_split(&root.join("test"), seed.wrapping_add(1))?;
        std::fs::create_dir_all(out).map_err(|e| CifarError::Io { file: out.display().to_string(), detail: e.to_string() })?;
        let per_file = train.len().div_ceil(TRAIN_FILES.len());
        for (k, name) in TRAIN_FILES.iter().enumerate() {
            let range = (k * per_file).min(train.len())..((k + 1) * per_file).min(train.len());
            write(&out.join(name), &to_batch_bytes(&train, range))?;
        }
        write(&out.join(TEST_FILE), &to_batch_bytes(&test, 0..test.len()))?;
        write(&out.join("batches.meta.txt"), format!("{}\n", CLASSES.join("\n")).as_bytes())?;
        Ok(ConvertSummary { train: train.len(), test: test.len() })
    }

    /// Every image of one split, shuffled with `seed` (files are listed in sorted order first,
    /// so the result does not depend on the file system).
    fn read_split(dir: &Path, seed: u64) -> Result<ImageSet, CifarError> {
        let layout = |detail: String| CifarError::Layout { dir: dir.display().to_string(), detail };
        let mut files: Vec<(u8, PathBuf)> = Vec::new();
        for (label, class) in CLASSES.iter().enumerate() {
            let class_dir = dir.join(class);
            let entries = std::fs::read_dir(&class_dir).map_err(|e| layout(format!("no folder '{class}' ({e})")))?;
            let mut images: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().and_then(|x| x.to_str()).is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png")))
                .collect();
            if images.is_empty() {
                return Err(layout(format!("folder '{class}' holds no .jpg or .png images")));
            }
            images.sort();
            files.extend(images.into_iter().map(|p| (label as u8, p)));
        }
        files.shuffle(&mut SmallRng::seed_from_u64(seed));
        let mut set = empty();
        for (label, path) in files {
            set.push(label, &decode_planes(&path)?);
        }
        Ok(set)
    }

    /// A 32×32 image file as R, G, B planes.
    fn decode_planes(path: &Path) -> Result<Vec<u8>, CifarError> {
        let bad = |detail: String| CifarError::Image { file: path.display().to_string(), detail };
        let image = image::ImageReader::new(std::io::Cursor::new(read(path)?))
            .with_guessed_format()
            .map_err(|e| bad(e.to_string()))?
            .decode()
            .map_err(|e| bad(e.to_string()))?
            .into_rgb8();
        if image.dimensions() != (SIDE as u32, SIDE as u32) {
            let (w, h) = image.dimensions();
            return Err(bad(format!("{w}x{h} pixels, expected {SIDE}x{SIDE}")));
        }
        let mut planes = vec![0u8; IMAGE_BYTES];
        for (i, pixel) in image.pixels().enumerate() {
            for c in 0..CHANNELS {
                planes[c * SIDE * SIDE + i] = pixel.0[c];
            }
        }
        Ok(planes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        std::iter::once(label).chain(std::iter::repeat_n(fill, IMAGE_BYTES)).collect()
    }

    #[test]
    fn parses_records_and_round_trips() {
        let bytes = [record(3, 7), record(9, 200)].concat();
        let set = parse_batch("b.bin", &bytes).unwrap();
        assert_eq!(set.labels, vec![3, 9]);
        assert!(set.image(1).iter().all(|&p| p == 200));
        assert_eq!(to_batch_bytes(&set, 0..2), bytes);
    }

    #[test]
    fn empty_file_is_an_error() {
        assert_eq!(parse_batch("b.bin", &[]), Err(CifarError::Empty { file: "b.bin".into() }));
    }

    #[test]
    fn truncated_record_is_an_error() {
        let mut bytes = record(1, 0);
        bytes.pop();
        let err = parse_batch("b.bin", &bytes).unwrap_err();
        assert_eq!(err, CifarError::Truncated { file: "b.bin".into(), len: RECORD_BYTES - 1 });
        assert!(err.to_string().starts_with("b.bin: truncated"));
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let bytes = [record(1, 0), record(10, 0)].concat();
        assert_eq!(parse_batch("b.bin", &bytes), Err(CifarError::LabelOutOfRange { file: "b.bin".into(), index: 1, label: 10 }));
    }
}
