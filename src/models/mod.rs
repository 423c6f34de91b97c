//! The networks, as burn `Module`s and nothing else.

mod cnn;
mod mlp;
mod resnet;

use burn::module::Module;
use burn::prelude::Tensor;

pub use cnn::{Cnn, CnnShape, Preset};
pub use mlp::Mlp;
pub use resnet::ResNet;

/// An image classifier the training loop can train: images `[batch, channels, side, side]` to
/// logits `[batch, classes]`.
pub trait Classifier: Module {
    fn forward(&self, images: Tensor<4>) -> Tensor<2>;
}

impl Classifier for Cnn {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        Cnn::forward(self, images)
    }
}

impl Classifier for ResNet {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        ResNet::forward(self, images)
    }
}
