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
    pub fn new(shape: CnnShape, side: usize, classes: usize, device: &Device) -> Self {
        // A valid 3×3 convolution shrinks each side by 2, a pool halves it.
        let pooled = if shape.pool_first { ((side - 2) / 2 - 2) / 2 } else { (side - 4) / 2 };
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
        let x = relu(self.conv1.forward(images));
        let x = if self.pool_first { self.pool.forward(x) } else { x };
        let x = relu(self.conv2.forward(x));
        let x = self.dropout_conv.forward(self.pool.forward(x));
        let x = relu(self.fc1.forward(x.flatten(1, 3)));
        self.fc2.forward(self.dropout_fc.forward(x))
    }
}
