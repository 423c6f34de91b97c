//! The experiments: recipes that compose data, models, training and attacks into a report.

pub mod cifar;
pub mod fashion;
pub mod toy;

use burn::module::Module;
use burn::prelude::Device;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::parallel::Group;
use crate::report::RunError;

/// The seed of one phase of a run (`salt`: teacher 0, students 1.., control 9), for its
/// initialization and its batch order alike.
fn phase_seed(seed: u64, salt: u64) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(salt)
}

/// A fresh model for phase `salt`, made by `build` on the autodiff device, for replica `rank` of
/// `size`. Every replica draws the same initial weights; with several, each then reseeds the
/// device's generator with a seed of its own, so that their dropout masks differ (a lone run keeps
/// the stream it always had).
fn fresh_replica<M: Module>(device: &Device, seed: u64, salt: u64, (rank, size): (usize, usize), build: impl Fn(&Device) -> M) -> M {
    device.seed(phase_seed(seed, salt));
    let model = build(&device.clone().autodiff());
    if size > 1 {
        // burn draws a parameter's initial values when it is first used: draw them all now,
        // before the reseeding.
        crate::parallel::materialize(&model);
        device.seed(crate::parallel::replica_seed(phase_seed(seed, salt), rank));
    }
    model
}

/// Uniformly random classes: the control that shows a student learns from its teacher's labels,
/// not from the images alone. Each experiment passes its own `salt`, so its control draws its own
/// labels.
fn random_labels(len: usize, seed: u64, salt: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(seed ^ salt);
    (0..len).map(|_| rng.random_range(0..10u8)).collect()
}

/// The checks every experiment's training settings share.
fn validate_training(
    epochs: &[usize],
    batch_size: usize,
    learning_rate: f64,
    limits: &[Option<usize>],
    workers: usize,
    group: &impl Group,
) -> Result<(), RunError> {
    let bad = |msg: &str| Err(RunError::Config(msg.into()));
    if epochs.contains(&0) {
        return bad("every phase needs at least one epoch");
    }
    if batch_size == 0 {
        return bad("the batch size must be at least 1");
    }
    if !(learning_rate > 0.0 && learning_rate <= 1.0) {
        return bad("the learning rate must be in (0, 1]");
    }
    if limits.contains(&Some(0)) {
        return bad("a subset limit must be at least 1");
    }
    if workers != group.size() {
        return Err(RunError::Config(format!("the configuration asks for {workers} workers, the run has {}", group.size())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};
    use burn::prelude::Tensor;

    use super::*;
    use crate::models::{Cnn, Preset};

    fn weights(model: &Cnn) -> Vec<f32> {
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

    #[test]
    fn replicas_start_from_the_same_weights() {
        let device = Device::flex();
        let build = |d: &Device| Cnn::new(Preset::Small.shape(), 28, 10, d);
        let first = fresh_replica(&device, 1, 0, (0, 2), build);
        let second = fresh_replica(&device, 1, 0, (1, 2), build);
        assert_eq!(weights(&first), weights(&second));
        // Their dropout draws differ after that.
        let draw = || Tensor::<1>::random([8], burn::tensor::Distribution::Default, &device).into_data().try_to_vec::<f32>().unwrap();
        fresh_replica(&device, 1, 0, (0, 2), build);
        let first_draw = draw();
        fresh_replica(&device, 1, 0, (1, 2), build);
        assert_ne!(first_draw, draw());
    }
}
