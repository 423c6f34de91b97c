//! The experiments: recipes that compose data, models, training and attacks into a report.

pub mod cifar;
pub mod fashion;
pub mod toy;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::report::RunError;

/// The seed of one phase of a run (`salt`: teacher 0, students 1.., control 9), for its
/// initialization and its batch order alike.
fn phase_seed(seed: u64, salt: u64) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(salt)
}

/// Uniformly random classes: the control that shows a student learns from its teacher's labels,
/// not from the images alone. Each experiment passes its own `salt`, so its control draws its own
/// labels.
fn random_labels(len: usize, seed: u64, salt: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(seed ^ salt);
    (0..len).map(|_| rng.random_range(0..10u8)).collect()
}

/// The checks every experiment's training settings share.
fn validate_training(epochs: &[usize], batch_size: usize, learning_rate: f64, limits: &[Option<usize>]) -> Result<(), RunError> {
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
    Ok(())
}
