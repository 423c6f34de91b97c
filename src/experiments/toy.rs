//! The 2-D toy: a network that fits 32 random labels is attacked; a second network learns only
//! from the attacks' wrong labels, and still gets most of the original points right.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::softmax;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::{phase_seed, salt};
use crate::attack::pgd_linf;
use crate::models::Mlp;
use crate::report::{Event, Observer, RunError};
use crate::host::{read_floats, read_ints, tensor2, yield_now};
use crate::train::hits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ToyConfig {
    /// Number of seeds to run (the distribution is the result; one seed is noisy).
    #[cfg_attr(feature = "cli", arg(long))]
    pub runs: usize,
    /// The first seed; the others follow it.
    #[cfg_attr(feature = "cli", arg(long = "seed"))]
    pub first_seed: u64,
    /// Random points, each with a random label.
    #[cfg_attr(feature = "cli", arg(long))]
    pub points: usize,
    /// Size of the l∞ attack on each point.
    #[cfg_attr(feature = "cli", arg(long))]
    pub epsilon: f32,
    #[cfg_attr(feature = "cli", arg(long))]
    pub pgd_steps: usize,
    /// Width of each hidden layer.
    #[cfg_attr(feature = "cli", arg(long))]
    pub hidden: usize,
    /// Number of hidden layers.
    #[cfg_attr(feature = "cli", arg(long))]
    pub depth: usize,
    /// Most full-batch Adam steps per network; training stops early once every point is fitted.
    #[cfg_attr(feature = "cli", arg(long))]
    pub max_steps: usize,
    #[cfg_attr(feature = "cli", arg(long = "lr"))]
    pub learning_rate: f64,
    /// Side of the grid on which the decision boundaries are sampled.
    #[cfg_attr(feature = "cli", arg(long))]
    pub grid: usize,
}

impl ToyConfig {
    /// The page's toy section: one seed at a time (the page's seed, 1), which the page can step.
    pub fn page() -> Self {
        Self { runs: 1, first_seed: 1, ..Self::default() }
    }
}

impl Default for ToyConfig {
    fn default() -> Self {
        Self {
            runs: 100,
            first_seed: 0,
            points: 32,
            epsilon: 0.12,
            pgd_steps: 20,
            hidden: 64,
            depth: 2,
            max_steps: 6000,
            learning_rate: 0.01,
            grid: 64,
        }
    }
}

/// One seed, with everything needed to draw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToyRun {
    pub seed: u64,
    pub points: Vec<[f32; 2]>,
    pub labels: Vec<u8>,
    pub teacher_correct: usize,
    /// The PGD point of every original, and whether it flipped the teacher's answer.
    pub adversarial: Vec<[f32; 2]>,
    pub flipped: Vec<bool>,
    /// The teacher's (wrong) label of each adversarial point.
    pub adversarial_labels: Vec<u8>,
    pub kept: usize,
    pub student_correct: usize,
    /// P(class 1) on a `grid`×`grid` lattice of cell centres, row by row from y = 0.
    pub teacher_grid: Vec<f32>,
    pub student_grid: Vec<f32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Quartiles {
    pub min: f32,
    pub q1: f32,
    pub median: f32,
    pub q3: f32,
    pub max: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToyReport {
    pub config: ToyConfig,
    pub runs: usize,
    /// The student's count of originals right, one per seed.
    pub correct: Vec<usize>,
    pub teacher_correct: Vec<usize>,
    pub kept: Vec<usize>,
    pub mean_correct: f32,
    pub distribution: Quartiles,
    pub paper_correct: usize,
    /// The first seed in full, for plotting.
    pub example: ToyRun,
    pub seconds: f64,
}

pub const PAPER_CORRECT: usize = 23;

/// A setting's name, how to read it, and its least and greatest value.
type Bound = (&'static str, fn(&ToyConfig) -> usize, usize, usize);

/// The bounds of each whole-number setting: a network of no layer or a grid of millions of cells
/// is refused with a message rather than left to fail inside burn.
const LIMITS: [Bound; 7] = [
    ("runs", |c| c.runs, 1, 1000),
    ("points", |c| c.points, 1, 10_000),
    ("pgd_steps", |c| c.pgd_steps, 0, 1000),
    ("hidden", |c| c.hidden, 1, 1024),
    ("depth", |c| c.depth, 1, 8),
    ("max_steps", |c| c.max_steps, 1, 100_000),
    ("grid", |c| c.grid, 2, 512),
];

/// Refuses a configuration the experiment cannot run, naming the setting.
pub fn validate(config: &ToyConfig) -> Result<(), RunError> {
    for (name, value, min, max) in LIMITS {
        if !(min..=max).contains(&value(config)) {
            return Err(RunError::Config(format!("{name} must be from {min} to {max}")));
        }
    }
    if !(0.0..=1.0).contains(&config.epsilon) {
        return Err(RunError::Config("epsilon must be from 0 to 1".into()));
    }
    if !(config.learning_rate > 0.0 && config.learning_rate <= 1.0) {
        return Err(RunError::Config("the learning rate must be in (0, 1]".into()));
    }
    Ok(())
}

/// Fresh initializations the teacher gets to fit every point.
const TEACHER_ATTEMPTS: u64 = 4;

/// Runs `config.runs` seeds and summarizes them.
pub async fn run(config: &ToyConfig, device: &Device, observer: &mut impl Observer) -> Result<ToyReport, RunError> {
    validate(config)?;
    let started = Instant::now();
    observer.event(Event::Phase { phase: "toy".into(), steps: config.runs });
    let mut runs = Vec::with_capacity(config.runs);
    for i in 0..config.runs {
        let run = run_seed(config, config.first_seed + i as u64, device).await?;
        runs.push(run);
        let mean = runs.iter().map(|r| r.student_correct).sum::<usize>() as f32 / runs.len() as f32;
        observer.event(Event::Step {
            phase: "toy".into(),
            epoch: 1,
            step: i + 1,
            steps: config.runs,
            loss: None,
            accuracy: Some(mean / config.points as f32),
            images_per_second: (i + 1) as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
        yield_now().await;
        if observer.cancelled() {
            return Err(RunError::Cancelled);
        }
    }
    let correct: Vec<usize> = runs.iter().map(|r| r.student_correct).collect();
    Ok(ToyReport {
        config: config.clone(),
        runs: runs.len(),
        mean_correct: correct.iter().sum::<usize>() as f32 / correct.len() as f32,
        distribution: quartiles(&correct),
        teacher_correct: runs.iter().map(|r| r.teacher_correct).collect(),
        kept: runs.iter().map(|r| r.kept).collect(),
        correct,
        paper_correct: PAPER_CORRECT,
        example: runs.swap_remove(0),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One seed of the experiment.
pub async fn run_seed(config: &ToyConfig, seed: u64, device: &Device) -> Result<ToyRun, RunError> {
    let grad_device = device.clone().autodiff();
    let mut rng = SmallRng::seed_from_u64(phase_seed(seed, salt::POINTS));
    let points: Vec<[f32; 2]> = (0..config.points).map(|_| [rng.random(), rng.random()]).collect();
    let labels: Vec<u8> = (0..config.points).map(|_| rng.random_range(0..2u8)).collect();

    // Now and then an initialization leaves two close, opposite points unseparated within
    // `max_steps`: the teacher then starts again from a fresh one.
    let mut attempt = 0u64;
    let (teacher, teacher_predictions, teacher_correct) = loop {
        device.seed(phase_seed(seed, salt::TOY_TEACHER + attempt));
        let teacher = fit(config, &points, &labels, &grad_device).await?;
        let predictions = classify(&teacher, &points, device).await?;
        let correct = hits(&predictions, &labels);
        attempt += 1;
        if correct == points.len() || attempt == TEACHER_ATTEMPTS {
            break (teacher, predictions, correct);
        }
    };

    let adversarial = attack(config, &teacher, &points, &labels, &grad_device).await?;
    let adversarial_labels = classify(&teacher, &adversarial, device).await?;
    // Keep the points whose prediction went from correct to wrong, with the wrong label.
    let flipped: Vec<bool> = (0..points.len())
        .map(|i| teacher_predictions[i] == labels[i] && adversarial_labels[i] != labels[i])
        .collect();
    let kept_points: Vec<[f32; 2]> = adversarial.iter().zip(&flipped).filter(|(_, f)| **f).map(|(p, _)| *p).collect();
    let kept_labels: Vec<u8> = adversarial_labels.iter().zip(&flipped).filter(|(_, f)| **f).map(|(l, _)| *l).collect();

    device.seed(phase_seed(seed, salt::STUDENT));
    let student = if kept_points.is_empty() {
        // Nothing to learn from: the student stays at its random initialization.
        Mlp::new(config.hidden, config.depth, device)
    } else {
        fit(config, &kept_points, &kept_labels, &grad_device).await?
    };
    let student_correct = hits(&classify(&student, &points, device).await?, &labels);

    Ok(ToyRun {
        seed,
        teacher_grid: boundary(&teacher, config.grid, device).await?,
        student_grid: boundary(&student, config.grid, device).await?,
        kept: kept_points.len(),
        points,
        labels,
        teacher_correct,
        adversarial,
        flipped,
        adversarial_labels,
        student_correct,
    })
}

fn points_tensor(points: &[[f32; 2]], device: &Device) -> Tensor<2> {
    tensor2(points.iter().flatten().copied().collect(), points.len(), 2, device)
}

fn labels_tensor(labels: &[u8], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [labels.len()]), device)
}

/// Trains a fresh MLP full-batch until it fits every point (checked every few steps) or runs out
/// of steps.
async fn fit(config: &ToyConfig, points: &[[f32; 2]], labels: &[u8], grad_device: &Device) -> Result<Mlp, RunError> {
    const CHECK_EVERY: usize = 50;
    let mut model = Mlp::new(config.hidden, config.depth, grad_device);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(grad_device);
    let x = points_tensor(points, grad_device);
    let y = labels_tensor(labels, grad_device);
    for step in 1..=config.max_steps {
        let logits = model.forward(x.clone());
        // Checked before the step, so the model returned is the one that fits.
        if step % CHECK_EVERY == 0 {
            let hits = logits.clone().detach().argmax(1).flatten::<1>(0, 1).equal(y.clone()).int().sum();
            if read_ints(hits).await?[0] as usize == points.len() {
                break;
            }
        }
        let loss = loss_fn.forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }
    Ok(model.valid())
}

async fn classify(model: &Mlp, points: &[[f32; 2]], device: &Device) -> Result<Vec<u8>, RunError> {
    let model = model.valid();
    let classes = model.forward(points_tensor(points, device)).argmax(1).flatten::<1>(0, 1);
    Ok(read_ints(classes).await?.into_iter().map(|c| c as u8).collect())
}

async fn attack(config: &ToyConfig, model: &Mlp, points: &[[f32; 2]], labels: &[u8], grad_device: &Device) -> Result<Vec<[f32; 2]>, RunError> {
    let model = model.clone().fork(grad_device);
    let x = points_tensor(points, grad_device);
    let y = labels_tensor(labels, grad_device);
    let adversarial = pgd_linf(|x| model.forward(x), x, y, config.epsilon, config.pgd_steps, (0.0, 1.0));
    let values = read_floats(adversarial.inner()).await?;
    Ok(values.chunks(2).map(|p| [p[0], p[1]]).collect())
}

/// P(class 1) at the centres of a `side`×`side` grid over the unit square.
async fn boundary(model: &Mlp, side: usize, device: &Device) -> Result<Vec<f32>, RunError> {
    let centre = |i: usize| (i as f32 + 0.5) / side as f32;
    let grid: Vec<[f32; 2]> = (0..side * side).map(|k| [centre(k % side), centre(k / side)]).collect();
    let probabilities = softmax(model.valid().forward(points_tensor(&grid, device)), 1).narrow(1, 1, 1);
    read_floats(probabilities).await
}

fn quartiles(values: &[usize]) -> Quartiles {
    let mut v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    v.sort_by(f32::total_cmp);
    // Linear interpolation between order statistics (numpy's default).
    let at = |q: f32| {
        let pos = q * (v.len() - 1) as f32;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f32)
    };
    Quartiles { min: v[0], q1: at(0.25), median: at(0.5), q3: at(0.75), max: v[v.len() - 1] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_between_order_statistics_as_numpy_does() {
        // numpy.percentile([4, 1, 3, 2], [0, 25, 50, 75, 100]) = [1, 1.75, 2.5, 3.25, 4]
        let q = quartiles(&[4, 1, 3, 2]);
        assert_eq!([q.min, q.q1, q.median, q.q3, q.max], [1.0, 1.75, 2.5, 3.25, 4.0]);
        let one = quartiles(&[7]);
        assert_eq!([one.min, one.q1, one.median, one.q3, one.max], [7.0; 5]);
    }
}
