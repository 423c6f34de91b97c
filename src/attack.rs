//! Adversarial examples: projected gradient descent (Madry et al.), in l∞ or l2, away from the
//! given labels (untargeted) or towards them (targeted).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The ball an attack stays in around each input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Norm {
    /// Euclidean: each step moves along the normalized gradient (Ilyas et al.'s choice).
    #[default]
    L2,
    /// Max-norm: each step moves every input value by the step, along the gradient's sign.
    Linf,
}

/// A PGD attack: `steps` steps of size `step` on the cross-entropy of the labels it is given, each
/// projected back onto the `norm`-ball of radius `epsilon` around the inputs and onto `range`.
#[derive(Debug, Clone, Copy)]
pub struct Pgd {
    pub norm: Norm,
    pub epsilon: f32,
    pub step: f32,
    pub steps: usize,
    /// Descend the loss of the labels (make the model say them) rather than ascend it.
    pub targeted: bool,
    pub range: (f32, f32),
}

impl Pgd {
    /// Madry et al.'s step for `steps` steps: 2.5·ε / steps, so that the attack can cross the ball
    /// and come back.
    pub fn default_step(epsilon: f32, steps: usize) -> f32 {
        2.5 * epsilon / steps.max(1) as f32
    }

    /// The attacked inputs. `forward` maps inputs to logits; `inputs` must be on a device with
    /// autodiff (gradients flow to the inputs; a model frozen with `freeze()` gets none, and runs
    /// without dropout).
    pub fn run<const D: usize>(&self, forward: impl Fn(Tensor<D>) -> Tensor<2>, inputs: Tensor<D>, labels: Tensor<1, Int>) -> Tensor<D> {
        let device = inputs.device();
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let (low, high) = self.range;
        let lower = (inputs.clone() - self.epsilon).clamp_min(low);
        let upper = (inputs.clone() + self.epsilon).clamp_max(high);
        let step = if self.targeted { -self.step } else { self.step };
        let inputs = inputs.detach();
        let mut adversarial = inputs.clone();
        for _ in 0..self.steps {
            let x = adversarial.clone().require_grad();
            let loss = loss_fn.forward(forward(x.clone()), labels.clone());
            let Some(grad) = x.grad(&loss.backward()) else { break };
            adversarial = match self.norm {
                Norm::Linf => (adversarial + grad.sign() * step).max_pair(lower.clone()).min_pair(upper.clone()),
                Norm::L2 => {
                    let moved = adversarial + per_example(grad, |g| g.clone() / (l2_norms(g) + 1e-12)) * step;
                    let delta = per_example(moved - inputs.clone(), |d| d.clone() * (l2_norms(d) + 1e-12).recip().mul_scalar(self.epsilon).clamp_max(1.0));
                    (inputs.clone() + delta).clamp(low, high)
                }
            };
        }
        adversarial.detach()
    }
}

/// Each example's l2 norm, as a column (`x`: one example a row).
fn l2_norms(x: &Tensor<2>) -> Tensor<2> {
    x.clone().powi_scalar(2).sum_dim(1).sqrt()
}

/// `f` applied to `x` seen as one flattened example a row, reshaped back.
fn per_example<const D: usize>(x: Tensor<D>, f: impl Fn(&Tensor<2>) -> Tensor<2>) -> Tensor<D> {
    let dims = x.dims();
    let flat: Tensor<2> = x.reshape([dims[0], dims.iter().skip(1).product()]);
    f(&flat).reshape(dims)
}

/// PGD in l∞, untargeted, with Madry et al.'s step (the 2-D toy's attack).
pub fn pgd_linf<const D: usize>(
    forward: impl Fn(Tensor<D>) -> Tensor<2>,
    inputs: Tensor<D>,
    labels: Tensor<1, Int>,
    epsilon: f32,
    steps: usize,
    range: (f32, f32),
) -> Tensor<D> {
    let step = Pgd::default_step(epsilon, steps);
    Pgd { norm: Norm::Linf, epsilon, step, steps, targeted: false, range }.run(forward, inputs, labels)
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;

    /// A linear model on 4 inputs whose class is which input is largest: its gradients are known.
    fn argmax_model(x: Tensor<2>) -> Tensor<2> {
        x * 10.0
    }

    fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let v = t.into_data().iter::<f32>().collect::<Vec<_>>();
        v.chunks(4).map(|r| r.to_vec()).collect()
    }

    #[test]
    fn targeted_l2_moves_towards_the_target_within_the_ball() {
        let device = Device::flex().autodiff();
        let inputs = Tensor::<2>::from_data(TensorData::new(vec![0.9f32, 0.1, 0.1, 0.1, 0.5, 0.5, 0.4, 0.6], [2, 4]), &device);
        let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0], [2]), &device);
        let attack = Pgd { norm: Norm::L2, epsilon: 0.3, step: 0.1, steps: 20, targeted: true, range: (0.0, 1.0) };
        let out = rows(attack.run(argmax_model, inputs.clone(), targets).inner());
        let start = rows(inputs.inner());
        for (o, s) in out.iter().zip(&start) {
            let norm = o.iter().zip(s).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
            assert!(norm <= 0.3 + 1e-5, "l2 distance {norm}");
            assert!(o.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        // The target's input rose, the others fell: the second example (margin 0.1) is now class 0.
        assert!(out[0][2] > start[0][2] && out[0][0] < start[0][0]);
        let argmax = |r: &Vec<f32>| (0..4).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
        assert_eq!(argmax(&out[1]), 0, "{:?}", out[1]);
        assert_eq!(argmax(&out[0]), 0, "the first example's margin is larger than the ball");
    }

    #[test]
    fn untargeted_linf_stays_in_its_box() {
        let device = Device::flex().autodiff();
        let inputs = Tensor::<2>::from_data(TensorData::new(vec![0.9f32, 0.1, 0.0, 1.0], [1, 4]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64], [1]), &device);
        let out = rows(pgd_linf(argmax_model, inputs, labels, 0.2, 10, (0.0, 1.0)).inner());
        // Away from class 3: its input falls by ε, the others rise by ε (clipped to the range).
        let expected = [1.0, 0.3, 0.2, 0.8];
        assert!(out[0].iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5), "{:?}", out[0]);
    }
}
