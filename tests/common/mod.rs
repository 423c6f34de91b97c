//! Shared by the integration tests: the real datasets, loaded once per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use wrong_labels::data::{Splits, load_dir};
use wrong_labels::experiments::fashion::FashionData;

pub fn data_dir() -> PathBuf {
    std::env::var_os("WRONG_LABELS_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"))
}

/// MNIST's splits and FashionMNIST's from `data/` (run `scripts/fetch-data` first).
pub fn splits() -> &'static (Splits, Splits) {
    static DATA: OnceLock<(Splits, Splits)> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = data_dir();
        let load = |name: &str| load_dir(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        (load("mnist"), load("fashion-mnist"))
    })
}

/// The fashion experiment's data.
pub fn fashion_data() -> FashionData<'static> {
    let (mnist, fashion) = splits();
    FashionData { mnist, fashion_train: &fashion.train }
}

/// `bytes`, gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A gzip IDX file: `magic`, the dimensions, then `bytes` (which need not match them: tests make
/// damaged files too).
pub fn idx_file(magic: u32, dims: &[usize], bytes: &[u8]) -> Vec<u8> {
    let mut raw = magic.to_be_bytes().to_vec();
    dims.iter().for_each(|&d| raw.extend((d as u32).to_be_bytes()));
    raw.extend_from_slice(bytes);
    gzip(&raw)
}
