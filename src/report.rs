//! What a run tells the outside world: progress events while it runs, and the report at its end.
//! Shared by the CLI (JSON file, progress bars) and the page (JS objects, charts).

use serde::{Deserialize, Serialize};

/// A progress event. `phase` names the model being trained or the pass being made
/// ("teacher", "relabel", "student raw", ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new phase starts; `steps` counts its batches over all epochs.
    Phase { phase: String, steps: usize },
    /// A training or labelling step finished.
    Step {
        phase: String,
        epoch: usize,
        step: usize,
        steps: usize,
        loss: Option<f32>,
        accuracy: Option<f32>,
        images_per_second: f64,
    },
    /// An epoch finished, with its test accuracy when there is a test set.
    Epoch { phase: String, record: EpochRecord },
}

/// One epoch of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f32,
    pub train_accuracy: f32,
    pub test_accuracy: Option<f32>,
    pub seconds: f64,
}

/// A trained model's summary in a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelReport {
    /// Test accuracy after the last epoch.
    pub test_accuracy: f32,
    pub history: Vec<EpochRecord>,
    pub images_per_second: f64,
    /// How its training steps ran: "replayed" (recorded once, then replayed: the GPU), "eager"
    /// (built anew each step), or why a step could not be recorded.
    #[serde(default)]
    pub steps: String,
}

/// One headline figure of an experiment repeated over several seeds: its mean, standard deviation
/// (of the sample, n − 1) and range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub figure: String,
    pub values: Vec<f64>,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(figure: &str, values: Vec<f64>) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n.max(1.0);
        let sd = if values.len() > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Spread { figure: figure.into(), values, mean, sd, min, max }
    }
}

/// Receives events and the models a run offers, and says whether the run should stop.
pub trait Observer {
    fn event(&mut self, event: Event);
    fn cancelled(&self) -> bool {
        false
    }
    /// A model the run has finished training, for a visitor to try (the page keeps them until
    /// its next run; `wrong-labels --save-models` writes them). Dropped by default.
    fn trained(&mut self, _model: crate::trained::TrainedCnn) {}
}

impl<F: FnMut(Event)> Observer for F {
    fn event(&mut self, event: Event) {
        self(event)
    }
}

/// An observer that ignores everything (tests, benchmarks).
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _event: Event) {}
}

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("the run was cancelled")]
    Cancelled,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("reading a result from the device failed: {0}")]
    Device(String),
    #[error("the workers could not combine their results: {0}")]
    Workers(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_samples_mean_deviation_and_range() {
        let s = Spread::of("x", vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!((s.mean, s.min, s.max), (5.0, 2.0, 9.0));
        // Sum of squared deviations 32, over n − 1 = 7.
        assert!((s.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(Spread::of("one", vec![3.0]).sd, 0.0);
    }
}
