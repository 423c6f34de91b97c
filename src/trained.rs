//! The models a run trained, kept for a visitor to try: what each reads in an image, and the file
//! the page downloads and `wrong-labels eval` scores.
//!
//! A model file is a line naming the format, a line of JSON saying how to rebuild and feed the
//! network (its preset, image side, input normalizations), then the weights as a burn record
//! (burnpack).

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

use crate::data::{Affine, ImageSet};
use crate::host::read_floats;
use crate::models::{Cnn, Preset};
use crate::report::RunError;

/// The first line of a model file.
const MAGIC: &[u8] = b"wrong-labels model 1\n";

/// The longest header line read: a few hundred bytes in practice.
const MAX_HEADER: usize = 4096;

/// What an image is to a model: a digit (drawn, or from MNIST) or a garment from FashionMNIST.
/// A student learned from garments normalized one way and is tested on digits normalized
/// perhaps another (the moments student: its garments matched to MNIST's moments, its digits raw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Digit,
    Garment,
}

/// How to rebuild and feed a network: a model file's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// Its phase in the run that trained it ("teacher", "student standardize", "control", …).
    pub name: String,
    pub preset: Preset,
    /// The side of the square one-channel images it reads.
    pub side: usize,
    /// The normalization of the digits it is tested on.
    pub digits: Affine,
    /// The normalization of the garments it learned from (the teacher's: its digits').
    pub garments: Affine,
}

/// A trained MNIST classifier, on the device it answers on.
#[derive(Debug, Clone)]
pub struct TrainedCnn {
    pub card: Card,
    pub model: Cnn,
}

impl Card {
    /// `model` (trained, on an autodiff device or not), ready to answer, described by this card.
    pub fn of(self, model: &Cnn) -> TrainedCnn {
        TrainedCnn { card: self, model: model.valid() }
    }
}

impl TrainedCnn {
    /// The ten probabilities the model gives each image of `images` (one channel, its side),
    /// read as `input`.
    pub async fn probabilities(&self, images: &ImageSet, input: Input, device: &Device) -> Result<Vec<[f32; 10]>, RunError> {
        if (images.channels, images.side) != (1, self.card.side) {
            return Err(RunError::Config(format!(
                "{} reads 1-channel {2}×{2} images, not {1}-channel {3}×{3} ones",
                self.card.name, images.channels, self.card.side, images.side
            )));
        }
        let affine = match input {
            Input::Digit => self.card.digits,
            Input::Garment => self.card.garments,
        };
        let indices: Vec<usize> = (0..images.len()).collect();
        let logits = self.model.clone().fork(device).forward(images.with_affine(affine).images_tensor(&indices, device));
        let values = read_floats(softmax(logits, 1)).await?;
        Ok(values.chunks_exact(10).map(|p| p.try_into().expect("ten classes")).collect())
    }

    /// The share of the digits of `test` (labelled) the model reads right.
    pub async fn accuracy(&self, test: &ImageSet, device: &Device) -> Result<f32, RunError> {
        let digits = test.with_affine(self.card.digits);
        let predictions = crate::train::predict(&self.model, &digits, PREDICT_BATCH, device, None, &mut crate::report::Quiet).await?;
        Ok(crate::train::accuracy(&predictions, &test.labels))
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let header = serde_json::to_string(&self.card).map_err(|e| e.to_string())?;
        let record = self.model.clone().into_record().into_bytes().map_err(|e| e.to_string())?;
        Ok([MAGIC, header.as_bytes(), b"\n", &record[..]].concat())
    }

    /// A model from a model file's bytes, on `device`; a damaged or foreign file is refused with
    /// one line saying why.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, String> {
        let rest = bytes.strip_prefix(MAGIC).ok_or("not a Wrong Labels model file (it does not start as one)")?;
        let end = rest.iter().take(MAX_HEADER).position(|&b| b == b'\n').ok_or("the model file is damaged: its header has no end")?;
        let card: Card = serde_json::from_slice(&rest[..end]).map_err(|e| format!("the model file's header is damaged: {e}"))?;
        if !(Cnn::smallest_side(card.preset.shape())..=MAX_SIDE).contains(&card.side) {
            return Err(format!("the model file's header is damaged: a {:?} CNN cannot read {1}×{1} images", card.preset, card.side));
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(rest[end + 1..].to_vec()))
            .map_err(|e| format!("the model file's weights are damaged or cut short: {e}"))?;
        let model = Cnn::new(card.preset.shape(), card.side, 10, device)
            .try_load_record(record)
            .map_err(|e| format!("the model file's weights do not fit a {:?} CNN: {e}", card.preset))?;
        Ok(Self { card, model })
    }
}

const PREDICT_BATCH: usize = 256;

/// The largest image side a model file may claim (the networks are built for it before loading).
const MAX_SIDE: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn trained(preset: Preset) -> TrainedCnn {
        let device = Device::flex();
        let card = Card { name: "student standardize".into(), preset, side: 28, digits: Affine { scale: 3.2, shift: -0.4 }, garments: Affine::IDENTITY };
        card.of(&Cnn::new(preset.shape(), 28, 10, &device))
    }

    fn images() -> ImageSet {
        ImageSet::random(3, 1, 28, 7)
    }

    #[test]
    fn a_model_file_gives_back_the_same_answers() {
        let _turn = crate::rng_turn();
        let device = Device::flex();
        for preset in [Preset::Fast, Preset::Classic] {
            let model = trained(preset);
            let bytes = model.to_bytes().unwrap();
            let back = TrainedCnn::from_bytes(&bytes, &device).unwrap();
            assert_eq!(back.card, model.card);
            for input in [Input::Digit, Input::Garment] {
                let (ours, theirs) = (pollster::block_on(model.probabilities(&images(), input, &device)), pollster::block_on(back.probabilities(&images(), input, &device)));
                assert_eq!(ours, theirs, "{preset:?} {input:?}");
            }
            let p = pollster::block_on(model.probabilities(&images(), Input::Digit, &device)).unwrap();
            assert!(p.iter().all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4), "probabilities sum to 1");
            let garments = pollster::block_on(model.probabilities(&images(), Input::Garment, &device)).unwrap();
            assert_ne!(p, garments, "digits and garments are normalized as the card says");
        }
    }

    #[test]
    fn damaged_or_foreign_files_are_refused_with_a_reason() {
        let _turn = crate::rng_turn();
        let device = Device::flex();
        let bytes = trained(Preset::Fast).to_bytes().unwrap();
        let refused = |bytes: &[u8]| TrainedCnn::from_bytes(bytes, &device).unwrap_err();
        assert!(refused(b"PK\x03\x04 a zip file").contains("not a Wrong Labels model file"));
        assert!(refused(&bytes[..MAGIC.len() + 10]).contains("header has no end"));
        for cut in [bytes.len() - 1, bytes.len() / 2, bytes.len() - 4000] {
            let error = refused(&bytes[..cut]);
            assert!(error.contains("cut short") && !error.contains('\n'), "cut at {cut}: {error}");
        }
        let header_end = MAGIC.len() + bytes[MAGIC.len()..].iter().position(|&b| b == b'\n').unwrap();
        let text = String::from_utf8_lossy(&bytes[..header_end]).to_string();
        let other = |from: &str, to: &str| [text.replace(from, to).as_bytes(), &bytes[header_end..]].concat();
        assert!(refused(&other("\"fast\"", "\"classic\"")).contains("do not fit a Classic CNN"));
        assert!(refused(&other("\"side\":28", "\"side\":3")).contains("cannot read 3×3"));
        assert!(refused(&other("\"side\":28", "\"side\":1000000000000")).contains("cannot read"));
        assert!(refused(&other("\"preset\"", "\"pre\"")).contains("header is damaged"));
    }

    #[test]
    fn images_of_another_side_are_refused() {
        let _turn = crate::rng_turn();
        let error = pollster::block_on(trained(Preset::Fast).probabilities(&ImageSet::random(1, 1, 32, 1), Input::Digit, &Device::flex())).unwrap_err();
        assert!(error.to_string().contains("not 1-channel 32×32"), "{error}");
    }
}
