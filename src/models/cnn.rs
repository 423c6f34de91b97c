//! The MNIST CNN of the article: the classic Keras/PyTorch example network.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Layer widths. `classic` is the article's network; `small` trains ~3× faster for quick runs
/// and browser tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnnShape {
    pub conv1: usize,
    pub conv2: usize,
    pub hidden: usize,
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
}

impl Preset {
    pub fn shape(self) -> CnnShape {
        match self {
            Preset::Classic => CnnShape { conv1: 32, conv2: 64, hidden: 128 },
            Preset::Small => CnnShape { conv1: 16, conv2: 32, hidden: 64 },
        }
    }
}

/// conv 3×3 → ReLU → conv 3×3 → ReLU → max-pool 2 → dropout 0.25 → linear → ReLU → dropout 0.5
/// → linear 10, on 1×28×28 inputs.
#[derive(Module, Debug)]
pub struct Cnn {
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
        // Two valid 3×3 convolutions shrink each side by 4, the pool halves it.
        let pooled = (side - 4) / 2;
        Self {
            conv1: Conv2dConfig::new([1, shape.conv1], [3, 3]).init(device),
            conv2: Conv2dConfig::new([shape.conv1, shape.conv2], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dropout_conv: DropoutConfig::new(0.25).init(),
            fc1: LinearConfig::new(shape.conv2 * pooled * pooled, shape.hidden).init(device),
            dropout_fc: DropoutConfig::new(0.5).init(),
            fc2: LinearConfig::new(shape.hidden, classes).init(device),
        }
    }

    /// Images `[batch, 1, side, side]` to logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = relu(self.conv1.forward(images));
        let x = relu(self.conv2.forward(x));
        let x = self.dropout_conv.forward(self.pool.forward(x));
        let x = relu(self.fc1.forward(x.flatten(1, 3)));
        self.fc2.forward(self.dropout_fc.forward(x))
    }
}
