//! The small MLP of the 2-D toy experiment.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// 2 → hidden → hidden → 2, ReLU: enough capacity to fit 32 random labels exactly.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    output: Linear,
}

impl Mlp {
    pub fn new(hidden: usize, depth: usize, device: &Device) -> Self {
        let layers = (0..depth)
            .map(|i| LinearConfig::new(if i == 0 { 2 } else { hidden }, hidden).init(device))
            .collect();
        Self { layers, output: LinearConfig::new(hidden, 2).init(device) }
    }

    /// Points `[n, 2]` to logits `[n, 2]`.
    pub fn forward(&self, points: Tensor<2>) -> Tensor<2> {
        let x = self.layers.iter().fold(points, |x, layer| relu(layer.forward(x)));
        self.output.forward(x)
    }
}
