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
