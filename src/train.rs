//! The training and evaluation loops. They never read a tensor synchronously: the same code runs
//! in a browser, where a blocking read of a WebGPU buffer panics.

use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::{ModuleLrScheduler, ModuleLrSchedulerConfig};
use burn::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::lr_scheduler::LrSchedulerConfig;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::{Augment, ImageSet};
use crate::host::{check, read_floats, read_ints, yield_now};
use crate::models::Classifier;
use crate::parallel::{self, Group};
use crate::replay::{self, Replayed};
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
    /// Random shifts (and mirrors) of each training batch; none by default.
    #[serde(default)]
    pub augment: Option<Augment>,
    /// Steps between two reads of the running loss and accuracy: each read waits for the device
    /// to finish the steps queued before it.
    pub read_every: usize,
    /// Each class's weight in the loss is its share of the training labels to this power's
    /// negative, so rare labels count more (0: the plain cross-entropy).
    #[serde(default)]
    pub balance: f64,
    /// Replay a recorded step where the device can record one (see `crate::replay`).
    #[serde(default)]
    pub replay: bool,
}

/// A trained model with what its training measured.
pub struct Trained<M> {
    pub model: M,
    pub history: Vec<EpochRecord>,
    /// Training throughput, evaluation excluded.
    pub images_per_second: f64,
    /// The model's class for each test image after the last epoch (empty without a test set).
    pub test_predictions: Vec<u8>,
    /// How the steps ran (see [`ModelReport::steps`]).
    pub steps: String,
}

impl<M> Trained<M> {
    /// Test accuracy after the last epoch (0 when there was no test set).
    pub fn last_test_accuracy(&self) -> f32 {
        self.history.last().and_then(|r| r.test_accuracy).unwrap_or(0.0)
    }

    /// The model's summary for a report.
    pub fn report(self) -> ModelReport {
        ModelReport { test_accuracy: self.last_test_accuracy(), history: self.history, images_per_second: self.images_per_second, steps: self.steps }
    }
}

/// The default of [`Schedule::read_every`]: on WebGPU (lavapipe), reading every step cost 13% more
/// time per step than every ten (docs/gpu.md, "Stalls per step").
pub const READ_EVERY: usize = 10;

/// The loss weights `balance` asks for (see [`Schedule::balance`]), from all replicas' labels: the
/// same on each replica, whatever its shard.
async fn class_weights(labels: &[u8], balance: f64, group: &mut impl Group) -> Result<Option<Vec<f32>>, RunError> {
    if balance == 0.0 {
        return Ok(None);
    }
    let counts = group.sum(crate::data::histogram(labels).map(|c| c as f64).to_vec()).await?;
    let total: f64 = counts.iter().sum();
    // burn refuses a weight of 0; a class without images never meets its weight.
    Ok(Some(counts.iter().map(|&c| if c == 0.0 { 1.0 } else { (c / total).powf(-balance) as f32 }).collect()))
}

fn batches(len: usize, batch_size: usize) -> usize {
    len.div_ceil(batch_size)
}

/// Trains `model` on `train` (on `device` with autodiff), evaluating on `test` after each epoch.
/// With several replicas in `group`, `train` and `test` are this replica's shards and every
/// figure in the result covers all of them.
#[allow(clippy::too_many_arguments)]
pub async fn train<M: Classifier>(
    mut model: M,
    train: &ImageSet,
    test: Option<&ImageSet>,
    schedule: &Schedule,
    phase: &str,
    device: &Device,
    group: &mut impl Group,
    observer: &mut impl Observer,
) -> Result<Trained<M>, RunError> {
    let images = parallel::total(group, train.len()).await?;
    if images == 0 || schedule.batch_size == 0 {
        return Err(RunError::Config(format!("{phase}: nothing to train on")));
    }
    let grad_device = device.clone().autodiff();
    model = model.fork(&grad_device);
    let steps_per_epoch = batches(images, schedule.batch_size);
    let local_batch = parallel::share(schedule.batch_size, group.rank(), group.size());
    let total_steps = steps_per_epoch * schedule.epochs;
    observer.event(Event::Phase { phase: phase.into(), steps: total_steps });
    let mut rates = learning_rates(schedule, total_steps)?;
    let weights = class_weights(&train.labels, schedule.balance, group).await?;
    let loss_fn = CrossEntropyLossConfig::new().with_weights(weights).init(&grad_device);
    let mut stepper = Stepper::new(model, local_batch, train, loss_fn, schedule.replay, device, group);
    let mut rng = SmallRng::seed_from_u64(parallel::replica_seed(schedule.seed, group.rank()));
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::new();
    let mut test_predictions = Vec::new();
    let (mut trained_images, mut training_seconds) = (0usize, 0.0f64);

    for epoch in 1..=schedule.epochs {
        order.shuffle(&mut rng);
        let started = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0i64, 0usize);
        let mut pending_images = 0;
        for i in 0..steps_per_epoch {
            let step = (epoch - 1) * steps_per_epoch + i;
            let chunk = local_chunk(&order, i, steps_per_epoch, local_batch);
            let values = train.values(chunk, schedule.augment.map(|a| (a, &mut rng as &mut dyn rand::RngCore)));
            stepper.step(train, chunk, values, rates.step(), device, group).await?;
            pending_images += chunk.len();
            let last = i + 1 == steps_per_epoch;
            if (i + 1) % schedule.read_every.max(1) == 0 || last {
                let [l, h] = stepper.read().await?;
                let sums = group.sum(vec![l, h, pending_images as f64]).await?;
                loss_sum += sums[0];
                correct += sums[1] as i64;
                seen += sums[2] as usize;
                pending_images = 0;
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
                let predictions = predict(&stepper.model(), test, schedule.batch_size.max(256), device, None, observer).await?;
                let accuracy = parallel_accuracy(&predictions, &test.labels, group).await?;
                if epoch == schedule.epochs {
                    test_predictions = parallel::gather(group, &predictions).await?;
                }
                Some(accuracy)
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
    Ok(Trained { model: stepper.model().valid(), history, images_per_second, test_predictions, steps: stepper.describe() })
}

/// How the loop takes its steps: burn's Adam on the model, the replicas averaging their
/// gradients, or, with one replica on a device that can record a step (the GPU), a step recorded
/// once and replayed (`crate::replay`).
#[allow(clippy::large_enum_variant)] // one a phase, on the stack of its loop
enum Stepper<M: Classifier> {
    Eager {
        /// Always there: out only while the optimizer steps it.
        model: Option<M>,
        optimizer: ModuleOptimizer,
        loss_fn: CrossEntropyLoss,
        /// The loss summed over the images and the hits since the last read, on the device.
        pending: Option<(Tensor<1>, Tensor<1, Int>)>,
    },
    Replayed(Replayed<M>),
}

impl<M: Classifier> Stepper<M> {
    fn new(model: M, batch: usize, train: &ImageSet, loss_fn: CrossEntropyLoss, may_replay: bool, device: &Device, group: &impl Group) -> Self {
        let eager = |model, loss_fn| Stepper::Eager { model: Some(model), optimizer: AdamConfig::new().init(), loss_fn, pending: None };
        if !may_replay || group.size() > 1 || !replay::records(device) {
            return eager(model, loss_fn);
        }
        match Replayed::new(model, batch, [train.channels, train.side, train.side], loss_fn.clone(), device) {
            Ok(replayed) => Stepper::Replayed(replayed),
            Err(model) => eager(model, loss_fn),
        }
    }

    /// One training step on this replica's `chunk` of `train` (whose values are `values`).
    async fn step(&mut self, train: &ImageSet, chunk: &[usize], values: Vec<f32>, rate: ModuleLearningRate, device: &Device, group: &mut impl Group) -> Result<(), RunError> {
        match self {
            Stepper::Replayed(replayed) => replayed.step(values, &chunk.iter().map(|&i| train.labels[i]).collect::<Vec<_>>(), rate.base()).await,
            Stepper::Eager { model, optimizer, loss_fn, pending } => {
                let grad_device = device.clone().autodiff();
                let model_now = model.take().expect("the model is there between steps");
                let mut grads = GradientsParams::new();
                if !chunk.is_empty() {
                    let images = train.batch_tensor(values, &grad_device);
                    let labels = train.labels_tensor(chunk, &grad_device);
                    let logits = model_now.forward(images);
                    let loss = loss_fn.forward(logits.clone(), labels.clone());
                    let hits = logits.detach().argmax(1).squeeze_dim::<1>(1).equal(labels).int().sum();
                    let batch_loss = loss.clone().detach() * chunk.len() as f32;
                    grads = GradientsParams::from_grads(loss.backward(), &model_now);
                    *pending = Some(match pending.take() {
                        None => (batch_loss, hits),
                        Some((l, h)) => (l + batch_loss, h + hits),
                    });
                }
                let grads = parallel::average_gradients(&model_now, grads, chunk.len(), device, group).await?;
                *model = Some(optimizer.step(rate, model_now, grads));
                Ok(())
            }
        }
    }

    /// The loss summed over the images and the hits, over this replica's steps since the last read.
    async fn read(&mut self) -> Result<[f64; 2], RunError> {
        match self {
            Stepper::Replayed(replayed) => replayed.sums().await,
            Stepper::Eager { pending, .. } => Ok(match pending.take() {
                Some((l, h)) => [read_floats(l).await?[0] as f64, read_ints(h).await?[0] as f64],
                None => [0.0, 0.0],
            }),
        }
    }

    /// How the steps ran (see [`ModelReport::steps`]).
    fn describe(&self) -> String {
        match self {
            Stepper::Eager { .. } => "eager".into(),
            Stepper::Replayed(replayed) => match replayed.replayed() {
                Ok(true) => "replayed".into(),
                Ok(false) => "eager (too few steps to record one)".into(),
                Err(why) => format!("eager ({why})"),
            },
        }
    }

    /// The model with its current weights.
    fn model(&self) -> M {
        match self {
            Stepper::Replayed(replayed) => replayed.model(),
            Stepper::Eager { model, .. } => model.clone().expect("the model is there between steps"),
        }
    }
}

/// The images of step `i` (of `steps`) from this replica's shuffled `order`: `batch` of them, and
/// the last step takes what is left, so every image is used once an epoch. With one replica these
/// are the consecutive batches of the order.
fn local_chunk(order: &[usize], i: usize, steps: usize, batch: usize) -> &[usize] {
    let start = (i * batch).min(order.len());
    let end = if i + 1 == steps { order.len() } else { ((i + 1) * batch).min(order.len()) };
    &order[start..end]
}

/// Accuracy over all replicas of their shards' `predictions`.
pub async fn parallel_accuracy(predictions: &[u8], labels: &[u8], group: &mut impl Group) -> Result<f32, RunError> {
    let sums = group.sum(vec![hits(predictions, labels) as f64, labels.len() as f64]).await?;
    Ok(sums[0] as usize as f32 / (sums[1] as usize).max(1) as f32)
}

/// Training images/s of a fresh `model` at `schedule`'s batch size, on random images of the given
/// shape (the data do not change the speed, so it can be measured before they are downloaded),
/// taking the steps a run takes (replayed where the run's would be).
/// The first steps are slow: WebGPU compiles its shaders and a replayed step is recorded, and a
/// browser compiles its optimized wasm code in the background for seconds (a small model's rate
/// triples over its first ten seconds). So windows of [`TIMED_STEPS`] steps, each ended by a read
/// that waits for the device, run untimed for [`WARM_UP_SECONDS`] (at least one), then timed in
/// groups of at least [`WINDOW_SECONDS`], until two groups agree within [`STEADY`] or
/// [`MAX_TIMED_SECONDS`] have passed; the last group's rate is the answer. The replicas agree on
/// when to stop; a cancel seen by `observer` stops it after the step under way.
pub async fn measure_speed<M: Classifier>(
    model: M,
    channels: usize,
    side: usize,
    schedule: &Schedule,
    device: &Device,
    group: &mut impl Group,
    observer: &impl Observer,
) -> Result<f64, RunError> {
    let batch = parallel::share(schedule.batch_size, group.rank(), group.size());
    let set = ImageSet::random(batch * TIMED_STEPS, channels, side, schedule.seed);
    let grad_device = device.clone().autodiff();
    let loss_fn = CrossEntropyLossConfig::new().init(&grad_device);
    let mut stepper = Stepper::new(model.fork(&grad_device), batch, &set, loss_fn, schedule.replay, device, group);
    // Each step lets the host in, so that a cancel stops the measurement after the step under way
    // (a step of a large model can take seconds), at a millisecond's cost to the figure.
    let window = async |stepper: &mut Stepper<M>, group: &mut _| -> Result<f64, RunError> {
        let started = Instant::now();
        for chunk in (0..set.len()).collect::<Vec<_>>().chunks(batch.max(1)) {
            stepper.step(&set, chunk, set.values(chunk, None), schedule.learning_rate.into(), device, group).await?;
            yield_now().await;
            check(observer)?;
        }
        stepper.read().await?;
        Ok(started.elapsed().as_secs_f64())
    };
    let started = Instant::now();
    loop {
        window(&mut stepper, group).await?;
        if agreed(started.elapsed().as_secs_f64() >= WARM_UP_SECONDS, group).await? {
            break;
        }
    }
    let (mut previous, mut total_seconds) = (None::<f64>, 0.0);
    let (mut images, mut seconds) = (0.0, 0.0);
    loop {
        seconds += window(&mut stepper, group).await?;
        images += (TIMED_STEPS * schedule.batch_size) as f64;
        if !agreed(seconds >= WINDOW_SECONDS, group).await? {
            continue;
        }
        let rate = images / seconds;
        total_seconds += seconds;
        let steady = previous.is_some_and(|p| (rate - p).abs() <= STEADY * p);
        if agreed(steady || total_seconds >= MAX_TIMED_SECONDS, group).await? {
            return Ok(rate);
        }
        (previous, images, seconds) = (Some(rate), 0.0, 0.0);
    }
}

pub const WARM_UP_SECONDS: f64 = 1.0;
pub const WINDOW_SECONDS: f64 = 1.0;
pub const MAX_TIMED_SECONDS: f64 = 12.0;
/// Two windows whose rates differ by at most this share are the steady rate.
pub const STEADY: f64 = 0.1;
/// Steps in a window of the speed measurement: more than a replayed step's warm-up and recording.
pub const TIMED_STEPS: usize = 8;

/// Whether any replica says `done`.
async fn agreed(done: bool, group: &mut impl Group) -> Result<bool, RunError> {
    Ok(group.sum(vec![if done { 1.0 } else { 0.0 }]).await?[0] > 0.0)
}

/// The learning rates of a phase of `total` steps, one per `step()`: a linear warm-up to the peak
/// over the first `warmup` share of the steps (Adam's first updates rest on poor moment estimates,
/// and a high rate then throws the weights off), then a cosine decay to zero.
///
/// The warm-up climbs from peak / warm to the peak, which the decay then starts from: the rates of
/// the hand-written formula this replaced, `peak · (step + 1) / warm`, to within 10⁻¹⁴, and equal
/// to theirs once rounded to f32 as Adam applies them (checked over 5.5 M steps of phases of 20
/// to 20,000 steps), so the figures measured before hold.
fn learning_rates(schedule: &Schedule, total: usize) -> Result<ModuleLrScheduler, RunError> {
    let peak = schedule.learning_rate;
    let warm = (schedule.warmup * total as f64) as usize;
    let decay: LrSchedulerConfig = CosineAnnealingLrSchedulerConfig::new(peak, total.saturating_sub(warm).max(1)).into();
    let config = match warm {
        0 => decay,
        1 => SequentialLrSchedulerConfig::new(vec![LrSchedulerConfig::Constant(peak), decay], vec![1]).into(),
        _ => SequentialLrSchedulerConfig::new(vec![LinearLrSchedulerConfig::new(peak / warm as f64, peak, warm - 1).into(), decay], vec![warm]).into(),
    };
    ModuleLrSchedulerConfig::new(config).init().map_err(|e| RunError::Config(format!("learning-rate schedule: {e}")))
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
        observer.event(Event::Phase { phase: phase.into(), steps });
    }
    let started = Instant::now();
    let mut predictions = Vec::with_capacity(set.len());
    for (i, chunk) in order.chunks(batch_size).enumerate() {
        let classes = model.forward(set.images_tensor(chunk, device)).argmax(1).flatten::<1>(0, 1);
        predictions.extend(read_ints(classes).await?.into_iter().map(|c| c as u8));
        if let Some(phase) = phase {
            observer.event(pass_step(phase, (i + 1, steps), predictions.len(), started));
        }
        yield_now().await;
        check(observer)?;
    }
    Ok(predictions)
}

/// The progress event of step `step` of `steps` of a pass that does not train (relabelling, an
/// attack), `images` done since `started`.
pub fn pass_step(phase: &str, (step, steps): (usize, usize), images: usize, started: Instant) -> Event {
    let images_per_second = images as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Event::Step { phase: phase.into(), epoch: 1, step, steps, loss: None, accuracy: None, images_per_second }
}

/// How many `predictions` equal their `labels`.
pub fn hits(predictions: &[u8], labels: &[u8]) -> usize {
    predictions.iter().zip(labels).filter(|(p, l)| p == l).count()
}

/// Fraction of `predictions` equal to `labels`.
pub fn accuracy(predictions: &[u8], labels: &[u8]) -> f32 {
    hits(predictions, labels) as f32 / labels.len().max(1) as f32
}

/// `matrix[true][predicted]` counts.
pub fn confusion(labels: &[u8], predictions: &[u8]) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; 10]; 10];
    labels.iter().zip(predictions).for_each(|(&l, &p)| m[l as usize][p as usize] += 1);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replica 0 of two whose twin holds `other`'s labels.
    struct WithOther(Vec<u8>);

    impl Group for WithOther {
        fn rank(&self) -> usize {
            0
        }
        fn size(&self) -> usize {
            2
        }
        async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError> {
            let other = crate::data::histogram(&self.0);
            Ok(values.iter().zip(other).map(|(v, o)| v + o as f64).collect())
        }
        async fn mean(&mut self, values: Vec<f32>, _weight: f32) -> Result<Vec<f32>, RunError> {
            Ok(values)
        }
    }

    #[test]
    fn class_weights_follow_every_replicas_label_shares() {
        let weights = |labels: &[u8], balance, group: &mut WithOther| pollster::block_on(class_weights(labels, balance, group)).unwrap();
        assert_eq!(weights(&[0, 0, 1], 0.0, &mut WithOther(vec![])), None);
        // Shares over both shards: 0 → 4/5, 1 → 1/5; digits 2–9 have no image.
        let w = weights(&[0, 0, 1], 1.0, &mut WithOther(vec![0, 0])).unwrap();
        let expected = [5.0 / 4.0, 5.0].into_iter().chain([1.0; 8]);
        assert!(w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{w:?}");
        let w = weights(&[0, 0, 1], 0.5, &mut WithOther(vec![1])).unwrap();
        assert!((w[0] - 2f32.sqrt()).abs() < 1e-6 && (w[1] - 2f32.sqrt()).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn the_rate_warms_up_linearly_then_decays_to_zero() {
        let schedule = Schedule { epochs: 1, batch_size: 1, learning_rate: 1.0, warmup: 0.1, seed: 0, augment: None, read_every: READ_EVERY, balance: 0.0, replay: false };
        let sequence = |schedule: &Schedule, total: usize| {
            let mut rates = learning_rates(schedule, total).unwrap();
            (0..total).map(|_| rates.step().base()).collect::<Vec<f64>>()
        };
        let rate = sequence(&schedule, 100);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(rate[0], 0.1) && close(rate[4], 0.5), "{:?}", &rate[..10]);
        assert_eq!((rate[9], rate[10]), (1.0, 1.0));
        assert!(rate[55] < 0.51 && rate[55] > 0.49);
        assert!(rate[99] < 1e-3);
        assert_eq!(sequence(&Schedule { warmup: 0.0, ..schedule }, 100)[0], 1.0);
        // Twenty steps with one of warm-up: the peak, then the decay from it.
        let short = sequence(&Schedule { warmup: 0.05, ..schedule }, 20);
        assert_eq!((short[0], short[1]), (1.0, 1.0));
        assert!(short[2] < 1.0);
    }
}
