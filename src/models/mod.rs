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

    /// What a replayed training step (`crate::replay`) feeds this model's dropout: the uniform
    /// draws each dropout layer takes for a batch of `batch` images (empty without dropout), or
    /// `None` when the model cannot be replayed (its forward pass keeps state of its own, as batch
    /// norm's running statistics do).
    fn dropout_draws(&self, _batch: usize) -> Option<Vec<usize>> {
        None
    }

    /// The training forward pass with each dropout layer's mask drawn from its part of `noise`
    /// (uniform values in [0, 1), sized by [`Classifier::dropout_draws`]).
    fn forward_noisy(&self, images: Tensor<4>, _noise: &[Tensor<1>]) -> Tensor<2> {
        self.forward(images)
    }
}

impl Classifier for Cnn {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        Cnn::forward(self, images)
    }

    fn dropout_draws(&self, batch: usize) -> Option<Vec<usize>> {
        Some(Cnn::dropout_draws(self, batch))
    }

    fn forward_noisy(&self, images: Tensor<4>, noise: &[Tensor<1>]) -> Tensor<2> {
        Cnn::forward_noisy(self, images, noise)
    }
}

impl Classifier for ResNet {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        ResNet::forward(self, images)
    }
}
