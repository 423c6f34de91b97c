//! Adversarial examples: projected gradient descent in l∞ (Madry et al.).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;

/// PGD in l∞: `steps` signed-gradient ascent steps on the cross-entropy of `labels`, each
/// projected back onto the ε-box around `inputs` and onto the valid range [`low`, `high`].
///
/// `forward` maps inputs to logits; `device` must have autodiff (gradients flow to the inputs,
/// never to the model's weights, which are left as they are).
pub fn pgd_linf<const D: usize>(
    forward: impl Fn(Tensor<D>) -> Tensor<2>,
    inputs: Tensor<D>,
    labels: Tensor<1, Int>,
    epsilon: f32,
    steps: usize,
    (low, high): (f32, f32),
) -> Tensor<D> {
    let device = inputs.device();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let lower = (inputs.clone() - epsilon).clamp_min(low);
    let upper = (inputs.clone() + epsilon).clamp_max(high);
    let step_size = 2.5 * epsilon / steps.max(1) as f32;
    let mut adversarial = inputs.detach();
    for _ in 0..steps {
        let x = adversarial.clone().require_grad();
        let loss = loss_fn.forward(forward(x.clone()), labels.clone());
        let Some(grad) = x.grad(&loss.backward()) else { break };
        adversarial = (adversarial + grad.sign() * step_size).max_pair(lower.clone()).min_pair(upper.clone());
    }
    adversarial.detach()
}
