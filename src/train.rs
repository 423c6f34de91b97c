//! The training and evaluation loops. They never read a tensor synchronously: the same code runs
//! in a browser, where a blocking read of a WebGPU buffer panics.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::ImageSet;
use crate::models::Classifier;
use crate::report::{EpochRecord, Event, ModelReport, Observer, RunError};

/// How one model is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of Adam: reached after the warm-up, then decays to zero along a cosine.
    pub learning_rate: f64,
    /// Share of the steps over which the rate rises linearly from zero to its peak.
    pub warmup: f64,
    pub seed: u64,
    /// Random crops (padding 4) and horizontal flips of each training batch (CIFAR-10).
    pub augment: bool,
}

/// Pixels a random crop may shift an image by, each way.
const CROP_PAD: usize = 4;

/// A trained model with what its training measured.
pub struct Trained<M> {
    pub model: M,
    pub history: Vec<EpochRecord>,
    /// Training throughput, evaluation excluded.
    pub images_per_second: f64,
    /// The model's class for each test image after the last epoch (empty without a test set).
    pub test_predictions: Vec<u8>,
}

impl<M> Trained<M> {
    /// Test accuracy after the last epoch (0 when there was no test set).
    pub fn last_test_accuracy(&self) -> f32 {
        self.history.last().and_then(|r| r.test_accuracy).unwrap_or(0.0)
    }

    /// The model's summary for a report.
    pub fn report(self) -> ModelReport {
        ModelReport { test_accuracy: self.last_test_accuracy(), history: self.history, images_per_second: self.images_per_second }
    }
}

/// Steps between two reads of loss and accuracy: each read waits for the device to catch up.
const REPORT_EVERY: usize = 10;

/// Reads a float tensor's values without blocking.
pub async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, RunError> {
    let data = t.into_data_async().await.map_err(|e| RunError::Device(format!("{e:?}")))?;
    Ok(data.iter::<f32>().collect())
}

/// Reads an integer tensor's values without blocking.
pub async fn read_ints<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<i64>, RunError> {
    let data = t.into_data_async().await.map_err(|e| RunError::Device(format!("{e:?}")))?;
    Ok(data.iter::<i64>().collect())
}

/// Lets the host run between steps: in a browser this is where a cancel message gets through.
#[cfg(target_family = "wasm")]
pub async fn yield_now() {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into()).ok();
        match set_timeout.and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
            Some(f) => drop(f.call2(&global, &resolve, &0.into())),
            None => drop(resolve.call0(&wasm_bindgen::JsValue::NULL)),
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(not(target_family = "wasm"))]
pub async fn yield_now() {}

fn check(observer: &impl Observer) -> Result<(), RunError> {
    if observer.cancelled() { Err(RunError::Cancelled) } else { Ok(()) }
}

fn batches(len: usize, batch_size: usize) -> usize {
    len.div_ceil(batch_size)
}

/// Trains `model` on `train` (on `device` with autodiff), evaluating on `test` after each epoch.
pub async fn train<M: Classifier>(
    mut model: M,
    train: &ImageSet,
    test: Option<&ImageSet>,
    schedule: &Schedule,
    phase: &str,
    device: &Device,
    observer: &mut impl Observer,
) -> Result<Trained<M>, RunError> {
    if train.is_empty() || schedule.batch_size == 0 {
        return Err(RunError::Config(format!("{phase}: nothing to train on")));
    }
    let grad_device = device.clone().autodiff();
    model = model.fork(&grad_device);
    let steps_per_epoch = batches(train.len(), schedule.batch_size);
    let total_steps = steps_per_epoch * schedule.epochs;
    observer.event(Event::Phase { phase: phase.into(), epochs: schedule.epochs, steps: total_steps, images: train.len() });
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&grad_device);
    let mut rng = SmallRng::seed_from_u64(schedule.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::new();
    let mut test_predictions = Vec::new();
    let (mut trained_images, mut training_seconds) = (0usize, 0.0f64);

    for epoch in 1..=schedule.epochs {
        order.shuffle(&mut rng);
        let started = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0i64, 0usize);
        let mut pending: Option<(Tensor<1>, Tensor<1, Int>)> = None;
        for (i, chunk) in order.chunks(schedule.batch_size).enumerate() {
            let step = (epoch - 1) * steps_per_epoch + i;
            let lr = learning_rate(schedule, step, total_steps);
            let images = if schedule.augment {
                train.augmented_tensor(chunk, CROP_PAD, &mut rng, &grad_device)
            } else {
                train.images_tensor(chunk, &grad_device)
            };
            let labels = train.labels_tensor(chunk, &grad_device);
            let logits = model.forward(images);
            let loss = loss_fn.forward(logits.clone(), labels.clone());
            let hits = logits.detach().argmax(1).squeeze_dim::<1>(1).equal(labels).int().sum();
            let batch_loss = loss.clone().detach() * chunk.len() as f32;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            pending = Some(match pending {
                None => (batch_loss, hits),
                Some((l, h)) => (l + batch_loss, h + hits),
            });
            seen += chunk.len();
            let last = i + 1 == steps_per_epoch;
            if (i + 1) % REPORT_EVERY == 0 || last {
                let (l, h) = pending.take().expect("accumulated since the last read");
                loss_sum += read_floats(l).await?[0] as f64;
                correct += read_ints(h).await?[0];
                let elapsed = started.elapsed().as_secs_f64();
                observer.event(Event::Step {
                    phase: phase.into(),
                    epoch,
                    step: step + 1,
                    steps: total_steps,
                    loss: Some((loss_sum / seen as f64) as f32),
                    accuracy: Some(correct as f32 / seen as f32),
                    images_per_second: seen as f64 / elapsed.max(1e-9),
                });
                yield_now().await;
                check(observer)?;
            }
        }
        training_seconds += started.elapsed().as_secs_f64();
        trained_images += seen;
        let test_accuracy = match test {
            Some(test) => {
                test_predictions = predict(&model, test, schedule.batch_size.max(256), device, None, observer).await?;
                Some(accuracy(&test_predictions, &test.labels))
            }
            None => None,
        };
        let record = EpochRecord {
            epoch,
            train_loss: (loss_sum / seen as f64) as f32,
            train_accuracy: correct as f32 / seen as f32,
            test_accuracy,
            seconds: started.elapsed().as_secs_f64(),
        };
        observer.event(Event::Epoch { phase: phase.into(), record: record.clone() });
        history.push(record);
    }
    let images_per_second = trained_images as f64 / training_seconds.max(1e-9);
    Ok(Trained { model: model.valid(), history, images_per_second, test_predictions })
}

/// The rate at `step` of `total`: a linear warm-up (Adam's first updates rest on poor moment
/// estimates, and a high rate then throws the weights off), then a cosine decay to zero.
fn learning_rate(schedule: &Schedule, step: usize, total: usize) -> f64 {
    let peak = schedule.learning_rate;
    let warm = (schedule.warmup * total as f64) as usize;
    if step < warm {
        return peak * (step + 1) as f64 / warm as f64;
    }
    let progress = (step - warm) as f64 / (total - warm).max(1) as f64;
    peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The model's argmax class for every image of `set`, read batch by batch. With `phase`, reports
/// progress as a phase of its own (the relabelling pass).
pub async fn predict<M: Classifier>(
    model: &M,
    set: &ImageSet,
    batch_size: usize,
    device: &Device,
    phase: Option<&str>,
    observer: &mut impl Observer,
) -> Result<Vec<u8>, RunError> {
    let model = model.valid().fork(device);
    let order: Vec<usize> = (0..set.len()).collect();
    let steps = batches(set.len(), batch_size);
    if let Some(phase) = phase {
        observer.event(Event::Phase { phase: phase.into(), epochs: 1, steps, images: set.len() });
    }
    let started = Instant::now();
    let mut predictions = Vec::with_capacity(set.len());
    for (i, chunk) in order.chunks(batch_size).enumerate() {
        let classes = model.forward(set.images_tensor(chunk, device)).argmax(1).flatten::<1>(0, 1);
        predictions.extend(read_ints(classes).await?.into_iter().map(|c| c as u8));
        if let Some(phase) = phase {
            observer.event(Event::Step {
                phase: phase.into(),
                epoch: 1,
                step: i + 1,
                steps,
                loss: None,
                accuracy: None,
                images_per_second: predictions.len() as f64 / started.elapsed().as_secs_f64().max(1e-9),
            });
        }
        yield_now().await;
        check(observer)?;
    }
    Ok(predictions)
}

/// Fraction of `predictions` equal to `labels`.
pub fn accuracy(predictions: &[u8], labels: &[u8]) -> f32 {
    let hits = predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f32 / labels.len().max(1) as f32
}

/// `matrix[true][predicted]` counts.
pub fn confusion(labels: &[u8], predictions: &[u8]) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; 10]; 10];
    labels.iter().zip(predictions).for_each(|(&l, &p)| m[l as usize][p as usize] += 1);
    m
}

/// Builds a float tensor from a flat vector (shared by the toy experiment and the attacks).
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_warms_up_linearly_then_decays_to_zero() {
        let schedule = Schedule { epochs: 1, batch_size: 1, learning_rate: 1.0, warmup: 0.1, seed: 0, augment: false };
        let rate = |step| learning_rate(&schedule, step, 100);
        assert_eq!(rate(0), 0.1);
        assert_eq!(rate(4), 0.5);
        assert_eq!(rate(10), 1.0);
        assert!(rate(55) < 0.51 && rate(55) > 0.49);
        assert!(rate(99) < 1e-3);
        let no_warmup = Schedule { warmup: 0.0, ..schedule };
        assert_eq!(learning_rate(&no_warmup, 0, 100), 1.0);
    }
}
