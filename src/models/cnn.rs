//! The MNIST CNN of the article: the classic Keras/PyTorch example network.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Layer widths, whether the first convolution is pooled too, and whether dropout is used.
/// `classic` is the article's network; `small` trains ~3× faster; `fast`, pooled after each
/// convolution, does a quarter of `small`'s arithmetic and has no dropout, which in a run of one
/// or two epochs only slows learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnnShape {
    pub conv1: usize,
    pub conv2: usize,
    pub hidden: usize,
    pub pool_first: bool,
    pub dropout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Preset {
    /// conv 32 → conv 64 → linear 128 (1.2 M parameters).
    #[default]
    Classic,
    /// conv 16 → conv 32 → linear 64 (0.3 M parameters).
    Small,
    /// conv 16 → max-pool → conv 32 → max-pool → linear 64, no dropout (57 k parameters): for
    /// runs that must end within a minute or two.
    Fast,
}

impl Preset {
    pub fn shape(self) -> CnnShape {
        match self {
            Preset::Classic => CnnShape { conv1: 32, conv2: 64, hidden: 128, pool_first: false, dropout: true },
            Preset::Small => CnnShape { conv1: 16, conv2: 32, hidden: 64, pool_first: false, dropout: true },
            Preset::Fast => CnnShape { conv1: 16, conv2: 32, hidden: 64, pool_first: true, dropout: false },
        }
    }
}

/// conv 3×3 → ReLU → (max-pool 2 →) conv 3×3 → ReLU → max-pool 2 → dropout 0.25 → linear → ReLU
/// → dropout 0.5 → linear 10, on 1×28×28 inputs (dropout: when the shape has it).
#[derive(Module, Debug)]
pub struct Cnn {
    pool_first: bool,
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    dropout_conv: Dropout,
    fc1: Linear,
    dropout_fc: Dropout,
    fc2: Linear,
}

impl Cnn {
    /// The side of the feature maps that reach the dense layer from `side`×`side` images: a valid
    /// 3×3 convolution shrinks each side by 2, a pool halves it (0: the images are too small).
    fn pooled_side(shape: CnnShape, side: usize) -> usize {
        let conv = |s: usize| s.saturating_sub(2);
        if shape.pool_first { conv(conv(side) / 2) / 2 } else { conv(conv(side)) / 2 }
    }

    /// The smallest image side the network takes: the one that leaves a pixel for the dense layer.
    pub fn smallest_side(shape: CnnShape) -> usize {
        (1..).find(|&side| Self::pooled_side(shape, side) > 0).expect("a large enough side leaves a pixel")
    }

    /// A fresh network for `side`×`side` images (at least [`Cnn::smallest_side`]).
    pub fn new(shape: CnnShape, side: usize, classes: usize, device: &Device) -> Self {
        let pooled = Self::pooled_side(shape, side);
        Self {
            pool_first: shape.pool_first,
            conv1: Conv2dConfig::new([1, shape.conv1], [3, 3]).init(device),
            conv2: Conv2dConfig::new([shape.conv1, shape.conv2], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dropout_conv: DropoutConfig::new(if shape.dropout { 0.25 } else { 0.0 }).init(),
            fc1: LinearConfig::new(shape.conv2 * pooled * pooled, shape.hidden).init(device),
            dropout_fc: DropoutConfig::new(if shape.dropout { 0.5 } else { 0.0 }).init(),
            fc2: LinearConfig::new(shape.hidden, classes).init(device),
        }
    }

    /// Images `[batch, 1, side, side]` to logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.dropout_conv.forward(self.features(images));
        let x = relu(self.fc1.forward(x.flatten(1, 3)));
        self.fc2.forward(self.dropout_fc.forward(x))
    }

    /// The convolutions, up to the last max-pool.
    fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let x = relu(self.conv1.forward(images));
        let x = if self.pool_first { self.pool.forward(x) } else { x };
        self.pool.forward(relu(self.conv2.forward(x)))
    }

    /// The uniform draws the two dropout layers take for a batch of `batch` images, in the order
    /// [`Cnn::forward_noisy`] reads them (none without dropout).
    pub fn dropout_draws(&self, batch: usize) -> Vec<usize> {
        // The lazy shape: reading the weight would draw it, out of the order the weights are drawn in.
        let shape = self.fc1.weight.lazy_shape();
        let (features, hidden) = (shape[0], shape[1]);
        [(self.dropout_conv.prob, features), (self.dropout_fc.prob, hidden)].iter().filter(|(p, _)| *p > 0.0).map(|(_, n)| batch * n).collect()
    }

    /// [`Cnn::forward`] in training, each dropout mask drawn from its part of `noise` (uniform
    /// values in [0, 1), one per value dropped or kept) instead of by a random kernel.
    pub fn forward_noisy(&self, images: Tensor<4>, noise: &[Tensor<1>]) -> Tensor<2> {
        let mut noise = noise.iter();
        let mut dropout = |x: Tensor<2>, prob: f64| match prob > 0.0 {
            true => masked(x, noise.next().expect("noise for each dropout layer").clone(), prob),
            false => x,
        };
        let x = dropout(self.features(images).flatten(1, 3), self.dropout_conv.prob);
        let x = relu(self.fc1.forward(x));
        self.fc2.forward(dropout(x, self.dropout_fc.prob))
    }
}

/// Dropout with its mask from `noise`: each value is kept, scaled by 1 / (1 − `prob`), where its
/// draw is above `prob`.
fn masked(x: Tensor<2>, noise: Tensor<1>, prob: f64) -> Tensor<2> {
    let keep = noise.reshape(x.dims()).greater_elem(prob).float().div_scalar(1.0 - prob);
    x * keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_side_leaves_the_dense_layer_one_pixel() {
        let _turn = crate::rng_turn();
        let device = Device::flex();
        for (preset, smallest) in [(Preset::Classic, 6), (Preset::Small, 6), (Preset::Fast, 10)] {
            assert_eq!(Cnn::smallest_side(preset.shape()), smallest, "{preset:?}");
            let model = Cnn::new(preset.shape(), smallest, 10, &device);
            let logits = model.forward(Tensor::zeros([2, 1, smallest, smallest], &device));
            assert_eq!(logits.dims(), [2, 10], "{preset:?}");
            assert_eq!(Cnn::pooled_side(preset.shape(), smallest - 1), 0, "{preset:?}");
        }
        // MNIST's 28 pixels: 12 before the dense layer, or 5 with a pool first.
        assert_eq!(Cnn::pooled_side(Preset::Classic.shape(), 28), 12);
        assert_eq!(Cnn::pooled_side(Preset::Fast.shape(), 28), 5);
    }
}
