//! What a run tells the outside world: progress events while it runs, and the report at its end.
//! Shared by the CLI (JSON file, progress bars) and the page (JS objects, charts).

use serde::{Deserialize, Serialize};

/// A progress event. `phase` names the model being trained or the pass being made
/// ("teacher", "relabel", "student raw", ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new phase starts; `steps` counts its batches over all epochs.
    Phase { phase: String, epochs: usize, steps: usize, images: usize },
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
}

/// Receives events and says whether the run should stop.
pub trait Observer {
    fn event(&mut self, event: Event);
    fn cancelled(&self) -> bool {
        false
    }
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
