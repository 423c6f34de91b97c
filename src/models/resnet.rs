//! ResNet-18 in its CIFAR form (He et al. 2016; the layout of kuangliu's pytorch-cifar, which the
//! article's experiment used): a 3×3 stem without max-pool, four stages of two basic blocks
//! (64-128-256-512 channels, stride 2 from the second stage on), batch norm, global average pool.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

const STAGES: [usize; 4] = [64, 128, 256, 512];
const BLOCKS_PER_STAGE: usize = 2;

fn conv3x3(input: usize, output: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([input, output], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the input (through a strided 1×1 conv + BN when the
/// shape changes), → ReLU.
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    shortcut: Option<Shortcut>,
}

/// The strided 1×1 projection that matches the input to a block's new shape.
#[derive(Module, Debug)]
pub struct Shortcut {
    conv: Conv2d,
    bn: BatchNorm,
}

impl BasicBlock {
    fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        let shortcut = (stride != 1 || input != output).then(|| {
            let conv = Conv2dConfig::new([input, output], [1, 1]).with_stride([stride, stride]).with_bias(false).init(device);
            Shortcut { conv, bn: BatchNormConfig::new(output).init(device) }
        });
        Self {
            conv1: conv3x3(input, output, stride, device),
            bn1: BatchNormConfig::new(output).init(device),
            conv2: conv3x3(output, output, 1, device),
            bn2: BatchNormConfig::new(output).init(device),
            shortcut,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        let out = self.bn2.forward(self.conv2.forward(out));
        let identity = match &self.shortcut {
            Some(s) => s.bn.forward(s.conv.forward(x)),
            None => x,
        };
        relu(out + identity)
    }
}

#[derive(Module, Debug)]
pub struct ResNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    blocks: Vec<BasicBlock>,
    head: Linear,
}

impl ResNet {
    /// ResNet-18 with every stage's width scaled by `width` (1.0: the standard 11 M parameters;
    /// 0.25: 16-32-64-128 channels, ~0.7 M, for CPUs and laptop GPUs).
    pub fn resnet18(width: f32, channels: usize, classes: usize, device: &Device) -> Self {
        let widths = STAGES.map(|w| ((w as f32 * width).round() as usize).max(1));
        let mut blocks = Vec::new();
        let mut input = widths[0];
        for (stage, &output) in widths.iter().enumerate() {
            for block in 0..BLOCKS_PER_STAGE {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(input, output, stride, device));
                input = output;
            }
        }
        Self {
            stem: conv3x3(channels, widths[0], 1, device),
            stem_bn: BatchNormConfig::new(widths[0]).init(device),
            blocks,
            head: LinearConfig::new(input, classes).init(device),
        }
    }

    /// Images `[batch, channels, side, side]` to logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.stem_bn.forward(self.stem.forward(images)));
        for block in &self.blocks {
            x = block.forward(x);
        }
        // Global average pool: [batch, c, h, w] → [batch, c].
        let pooled = x.mean_dim(3).mean_dim(2).flatten::<2>(1, 3);
        self.head.forward(pooled)
    }
}
