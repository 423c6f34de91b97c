//! The replayed training step (src/replay.rs): its flat Adam and its dropout-by-noise give what
//! burn's Adam and the model's own forward pass give, and on a GPU (Mesa's lavapipe in the tests)
//! a recorded and replayed step gives what the same step run unrecorded gives, bit for bit.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use wrong_labels::models::{Classifier, Cnn, Preset};
use wrong_labels::replay::Replayed;

const BATCH: usize = 16;

/// The device's random generator is shared by every test of this file that seeds it: one at a time.
static SEEDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn weights<M: Module>(model: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(param.val().into_data().iter::<f32>());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// `steps` random batches of `len` images (values, labels), the same for every caller.
fn batches(steps: usize, len: usize) -> Vec<(Vec<f32>, Vec<u8>)> {
    let mut rng = SmallRng::seed_from_u64(5);
    (0..steps).map(|_| ((0..len * 784).map(|_| rng.random::<f32>()).collect(), (0..len).map(|_| rng.random_range(0..10u8)).collect())).collect()
}

fn model(preset: Preset, device: &Device) -> Cnn {
    device.seed(7);
    Cnn::new(preset.shape(), 28, 10, &device.clone().autodiff())
}

fn replayed(preset: Preset, device: &Device) -> Replayed<Cnn> {
    let loss = CrossEntropyLossConfig::new().init(&device.clone().autodiff());
    Replayed::new(model(preset, device), BATCH, [1, 28, 28], loss, device).unwrap_or_else(|_| panic!("the CNN replays"))
}

#[test]
fn flat_adam_takes_burns_adam_steps() {
    let _seeding = SEEDING.lock().unwrap();
    let device = Device::flex();
    let rates = [1e-3, 3e-3, 2e-3, 5e-4, 1e-3];
    let data = batches(rates.len(), BATCH);

    // burn's Adam on the fast CNN, which has no dropout.
    let grad_device = device.clone().autodiff();
    let mut model = model(Preset::Fast, &device);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&grad_device);
    for ((images, labels), &rate) in data.iter().zip(&rates) {
        let x = Tensor::<4>::from_data(TensorData::new(images.clone(), [BATCH, 1, 28, 28]), &grad_device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels.iter().map(|&l| l as i64).collect(), [BATCH]), &grad_device);
        let loss = loss_fn.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(rate, model, grads);
    }

    let mut flat = replayed(Preset::Fast, &device);
    let initial = weights(&flat.model());
    for ((images, labels), &rate) in data.iter().zip(&rates) {
        pollster::block_on(flat.step(images.clone(), labels, rate)).unwrap();
    }
    assert!(flat.replayed().is_err(), "the CPU runs every step unrecorded");
    let (expected, got) = (weights(&model), weights(&flat.model()));
    assert_eq!(expected.len(), got.len());
    let worst = expected.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "largest difference from burn's Adam: {worst}");
    // It trained: the weights moved by about the learning rate per step.
    let moved = initial.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "{moved}");
}

#[test]
fn dropout_from_noise_keeps_the_share_asked_for() {
    let _seeding = SEEDING.lock().unwrap();
    let device = Device::flex();
    let cnn = model(Preset::Classic, &device).valid();
    let draws = Classifier::dropout_draws(&cnn, 4).unwrap();
    assert_eq!(draws, vec![4 * 9216, 4 * 128], "the conv features, then the hidden layer");
    // Noise of all ones keeps everything (scaled): the output is the model's without dropout.
    let images = Tensor::<4>::random([4, 1, 28, 28], burn::tensor::Distribution::Default, &device);
    let ones: Vec<Tensor<1>> = draws.iter().map(|&n| Tensor::ones([n], &device)).collect();
    let zeros: Vec<Tensor<1>> = draws.iter().map(|&n| Tensor::zeros([n], &device)).collect();
    let plain = cnn.forward(images.clone());
    let all_kept = cnn.forward_noisy(images.clone(), &ones);
    let all_dropped = cnn.forward_noisy(images, &zeros);
    // With every value dropped, only fc2's bias is left.
    let bias: Vec<f32> = cnn_fc2_bias(&cnn);
    let dropped: Vec<f32> = all_dropped.into_data().iter::<f32>().collect();
    assert!(dropped.chunks(10).all(|row| row.iter().zip(&bias).all(|(a, b)| (a - b).abs() < 1e-6)));
    let (plain, kept): (Vec<f32>, Vec<f32>) = (plain.into_data().iter::<f32>().collect(), all_kept.into_data().iter::<f32>().collect());
    // Kept values are scaled by 1/(1 - p) at each layer, so the logits differ from the plain ones.
    assert!(plain.iter().zip(&kept).any(|(a, b)| (a - b).abs() > 1e-3));

    fn cnn_fc2_bias(cnn: &Cnn) -> Vec<f32> {
        // The last parameter visited is fc2's bias.
        let all = weights(cnn);
        all[all.len() - 10..].to_vec()
    }
}

/// On a GPU: steps recorded once and replayed train exactly as the same steps run unrecorded.
#[cfg(feature = "wgpu")]
#[test]
fn replayed_steps_equal_unrecorded_ones_on_a_gpu() {
    let device = Device::wgpu(Default::default());
    let data = batches(12, BATCH);
    let run = |record: bool| {
        let mut replayed = replayed(Preset::Classic, &device);
        if !record {
            replayed = replayed.unrecorded();
        }
        device.seed(11);
        for (step, (images, labels)) in data.iter().enumerate() {
            let rate = 1e-3 * (1.0 + step as f64 / 10.0);
            pollster::block_on(replayed.step(images.clone(), labels, rate)).unwrap();
        }
        let sums = pollster::block_on(replayed.sums()).unwrap();
        (replayed.replayed().map_err(str::to_owned), weights(&replayed.model()), sums)
    };
    let (recorded, replayed_weights, replayed_sums) = run(true);
    let (unrecorded, eager_weights, eager_sums) = run(false);
    assert_eq!(recorded, Ok(true), "the steps after the warm-up are replayed");
    assert!(unrecorded.is_err());
    assert_eq!(replayed_sums, eager_sums);
    assert_eq!(replayed_weights, eager_weights);
    assert!(replayed_sums[1] > 0.0, "hits are counted: {replayed_sums:?}");
}
