//! Reader for the IDX format of MNIST and FashionMNIST, raw or gzip-compressed.
//!
//! Every failure is a typed [`IdxError`] naming the file: in wasm a panic kills the module, so bad
//! bytes must never reach an `unwrap`.

use std::io::Read;

use thiserror::Error;

/// Magic numbers: two zero bytes, the element type (0x08 = u8), then the number of dimensions.
const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
/// No real IDX image side comes close; larger values mean a corrupt header.
const MAX_SIDE: usize = 4096;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdxError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: not a gzip file ({detail})")]
    NotGzip { file: String, detail: String },
    #[error("{file}: wrong magic number {found:#010x}, expected {expected:#010x} ({what})")]
    WrongMagic { file: String, found: u32, expected: u32, what: &'static str },
    #[error("{file}: truncated: {what} needs {needed} bytes but the file has {found}")]
    Truncated { file: String, what: &'static str, needed: usize, found: usize },
    #[error("{file}: absurd dimensions {rows}x{cols} (each side must be 1..={MAX_SIDE})")]
    AbsurdDimensions { file: String, rows: usize, cols: usize },
    #[error("{images_file} holds {images} images but {labels_file} holds {labels} labels")]
    CountMismatch { images_file: String, images: usize, labels_file: String, labels: usize },
    #[error("{file}: label {label} at index {index} is out of range (expected 0..{classes})")]
    LabelOutOfRange { file: String, index: usize, label: u8, classes: usize },
}

/// Images as they are stored: `count` row-major `rows`×`cols` u8 pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Decompresses `bytes` when they start with the gzip magic, else returns them as they are.
pub fn maybe_gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    if bytes.is_empty() {
        return Err(IdxError::Empty { file: file.into() });
    }
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| IdxError::NotGzip { file: file.into(), detail: e.to_string() })?;
    if out.is_empty() {
        return Err(IdxError::Empty { file: file.into() });
    }
    Ok(out)
}

/// Like [`maybe_gunzip`], but for files whose name promises gzip (`*.gz`): anything else is an error.
pub fn gunzip_named(file: &str, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    if file.ends_with(".gz") && !bytes.is_empty() && !bytes.starts_with(&GZIP_MAGIC) {
        return Err(IdxError::NotGzip { file: file.into(), detail: "missing gzip header".into() });
    }
    maybe_gunzip(file, bytes)
}

fn read_u32(file: &str, bytes: &[u8], at: usize, what: &'static str) -> Result<u32, IdxError> {
    let word = bytes.get(at..at + 4).ok_or_else(|| IdxError::Truncated {
        file: file.into(),
        what,
        needed: at + 4,
        found: bytes.len(),
    })?;
    Ok(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

fn check_magic(file: &str, bytes: &[u8], expected: u32, what: &'static str) -> Result<(), IdxError> {
    let found = read_u32(file, bytes, 0, "the header")?;
    if found != expected {
        return Err(IdxError::WrongMagic { file: file.into(), found, expected, what });
    }
    Ok(())
}

fn body<'a>(file: &str, bytes: &'a [u8], header: usize, len: usize) -> Result<&'a [u8], IdxError> {
    let needed = header.saturating_add(len);
    bytes.get(header..needed).ok_or_else(|| IdxError::Truncated {
        file: file.into(),
        what: "the data",
        needed,
        found: bytes.len(),
    })
}

/// Parses an images file (`idx3-ubyte`), raw or gzip.
pub fn parse_images(file: &str, bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let bytes = gunzip_named(file, bytes)?;
    check_magic(file, &bytes, IMAGES_MAGIC, "an idx3-ubyte images file")?;
    let count = read_u32(file, &bytes, 4, "the header")? as usize;
    let rows = read_u32(file, &bytes, 8, "the header")? as usize;
    let cols = read_u32(file, &bytes, 12, "the header")? as usize;
    if !(1..=MAX_SIDE).contains(&rows) || !(1..=MAX_SIDE).contains(&cols) {
        return Err(IdxError::AbsurdDimensions { file: file.into(), rows, cols });
    }
    let pixels = body(file, &bytes, 16, count.saturating_mul(rows * cols))?.to_vec();
    Ok(IdxImages { count, rows, cols, pixels })
}

/// Parses a labels file (`idx1-ubyte`), raw or gzip; every label must be below `classes`.
pub fn parse_labels(file: &str, bytes: &[u8], classes: usize) -> Result<Vec<u8>, IdxError> {
    let bytes = gunzip_named(file, bytes)?;
    check_magic(file, &bytes, LABELS_MAGIC, "an idx1-ubyte labels file")?;
    let count = read_u32(file, &bytes, 4, "the header")? as usize;
    let labels = body(file, &bytes, 8, count)?.to_vec();
    if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes) {
        return Err(IdxError::LabelOutOfRange { file: file.into(), index, label, classes });
    }
    Ok(labels)
}

/// Checks that an images file and a labels file describe the same number of examples.
pub fn check_counts(images_file: &str, images: &IdxImages, labels_file: &str, labels: &[u8]) -> Result<(), IdxError> {
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch {
            images_file: images_file.into(),
            images: images.count,
            labels_file: labels_file.into(),
            labels: labels.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn images_file(count: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
        let mut b = IMAGES_MAGIC.to_be_bytes().to_vec();
        for v in [count, rows, cols] {
            b.extend(v.to_be_bytes());
        }
        b.extend((0..pixels).map(|i| i as u8));
        b
    }

    fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut b = LABELS_MAGIC.to_be_bytes().to_vec();
        b.extend((labels.len() as u32).to_be_bytes());
        b.extend(labels);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzip_alike() {
        let raw = images_file(2, 3, 2, 12);
        let a = parse_images("x", &raw).unwrap();
        let b = parse_images("x.gz", &gzip(&raw)).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.count, a.rows, a.cols), (2, 3, 2));
        assert_eq!(a.pixels[11], 11);
        assert_eq!(parse_labels("l.gz", &gzip(&labels_file(&[3, 9])), 10).unwrap(), vec![3, 9]);
    }

    #[test]
    fn empty_file() {
        assert_eq!(parse_images("e", &[]), Err(IdxError::Empty { file: "e".into() }));
        assert!(matches!(parse_labels("e.gz", &gzip(&[]), 10), Err(IdxError::Empty { .. })));
    }

    #[test]
    fn not_gzip() {
        let err = parse_images("a.gz", &images_file(1, 1, 1, 1)).unwrap_err();
        assert!(matches!(err, IdxError::NotGzip { .. }), "{err}");
        let mut broken = gzip(&images_file(4, 2, 2, 16));
        broken.truncate(broken.len() / 2);
        let err = parse_images("b.gz", &broken).unwrap_err();
        assert!(matches!(err, IdxError::NotGzip { .. }), "{err}");
        assert!(err.to_string().starts_with("b.gz: "));
    }

    #[test]
    fn wrong_magic() {
        let err = parse_images("l", &labels_file(&[1])).unwrap_err();
        assert!(matches!(err, IdxError::WrongMagic { found: LABELS_MAGIC, .. }), "{err}");
        let err = parse_labels("i", &images_file(1, 1, 1, 1), 10).unwrap_err();
        assert!(matches!(err, IdxError::WrongMagic { .. }), "{err}");
    }

    #[test]
    fn truncated_header_and_data() {
        let err = parse_images("h", &IMAGES_MAGIC.to_be_bytes()[..]).unwrap_err();
        assert!(matches!(err, IdxError::Truncated { what: "the header", .. }), "{err}");
        let err = parse_images("d", &images_file(10, 28, 28, 784 * 9)).unwrap_err();
        assert_eq!(err, IdxError::Truncated { file: "d".into(), what: "the data", needed: 16 + 7840, found: 16 + 7056 });
        let mut labels = labels_file(&[1, 2, 3]);
        labels.pop();
        assert!(matches!(parse_labels("l", &labels, 10), Err(IdxError::Truncated { .. })));
    }

    #[test]
    fn absurd_dimensions() {
        let err = parse_images("a", &images_file(1, 0, 28, 0)).unwrap_err();
        assert!(matches!(err, IdxError::AbsurdDimensions { rows: 0, .. }), "{err}");
        let err = parse_images("a", &images_file(u32::MAX, 100_000, 100_000, 0)).unwrap_err();
        assert!(matches!(err, IdxError::AbsurdDimensions { .. }), "{err}");
    }

    #[test]
    fn count_mismatch() {
        let images = parse_images("i", &images_file(2, 1, 1, 2)).unwrap();
        let labels = parse_labels("l", &labels_file(&[1, 2, 3]), 10).unwrap();
        let err = check_counts("i", &images, "l", &labels).unwrap_err();
        assert_eq!(err.to_string(), "i holds 2 images but l holds 3 labels");
    }

    #[test]
    fn label_out_of_range() {
        let err = parse_labels("l", &labels_file(&[1, 10]), 10).unwrap_err();
        assert!(matches!(err, IdxError::LabelOutOfRange { index: 1, label: 10, .. }), "{err}");
    }
}
