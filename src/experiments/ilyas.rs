//! Ilyas et al.'s central experiment, on MNIST: every training image is attacked, by targeted PGD
//! on a standard teacher, towards a target class, and kept *with the target as its label*; a
//! fresh network trained on those pairs alone is tested on the real test set. With random targets
//! (D_rand) a label agrees with its image only by way of the perturbation; with deterministic
//! ones, t = (y + 1) mod 10 (D_det), every label is wrong for the image as a person sees it.

use burn::module::Module;
use burn::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::{Training, phase_seed, salt};
use crate::attack::{Norm, Pgd};
use crate::data::{Affine, ImageSet, Splits};
use crate::models::{Cnn, Preset};
use crate::parallel::{self, Group, local_limit};
use crate::report::{Event, ModelReport, Observer, RunError};
use crate::host::{check, read_floats, yield_now};
use crate::train;
use crate::trained::Card;

/// How each training image's target class is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    /// Uniform over the nine classes other than the image's (D_rand).
    Rand,
    /// The next class, (y + 1) mod 10 (D_det).
    Det,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct IlyasConfig {
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub training: Training,
    /// The network of the teacher, the students and the control.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub preset: Preset,
    /// The attack's ball: l2 (Ilyas et al.'s) or linf.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub norm: Norm,
    /// Radii of the attack, in pixel units ([0, 1]): one D_rand and one D_det set, each with its
    /// student, per radius (`--epsilons 0.5,1,2,3` sweeps them).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub epsilons: Vec<f32>,
    /// PGD steps per image.
    #[cfg_attr(feature = "cli", arg(long))]
    pub steps: usize,
    /// PGD step size (none given: 2.5·ε / steps).
    #[cfg_attr(feature = "cli", arg(long))]
    pub step_size: Option<f32>,
    /// Train the teacher on the first N MNIST training images (none given: all).
    #[cfg_attr(feature = "cli", arg(long))]
    pub mnist_train_limit: Option<usize>,
    /// Attack the first N MNIST training images: the students' whole training set.
    #[cfg_attr(feature = "cli", arg(long))]
    pub attack_limit: Option<usize>,
    /// Test on the first N MNIST test images.
    #[cfg_attr(feature = "cli", arg(long))]
    pub mnist_test_limit: Option<usize>,
}

impl Default for IlyasConfig {
    fn default() -> Self {
        let fashion = super::fashion::FashionConfig::default();
        Self {
            // The fashion experiment's teacher recipe; students and control see 10,000 images.
            training: Training { student_epochs: 5, control_epochs: 5, ..fashion.training },
            preset: Preset::Classic,
            norm: Norm::L2,
            epsilons: vec![3.0],
            steps: 20,
            step_size: None,
            mnist_train_limit: None,
            attack_limit: Some(10_000),
            mnist_test_limit: None,
        }
    }
}

impl IlyasConfig {
    /// The page's D_rand / D_det section at browser scale: the fast CNN, its teacher one epoch on
    /// 10,000 digits; 2,000 images attacked; students 3 epochs, control 1; 2,000 test digits.
    pub fn page() -> Self {
        let quick = super::fashion::FashionConfig::quick();
        Self {
            training: Training { teacher_epochs: 1, student_epochs: 3, control_epochs: 1, ..quick.training },
            preset: Preset::Fast,
            mnist_train_limit: Some(10_000),
            attack_limit: Some(2_000),
            mnist_test_limit: Some(2_000),
            ..Self::default()
        }
    }
}

/// Ilyas et al.'s CIFAR-10 figures (ResNet-50, l2 PGD, ε = 0.5, 100 steps of 0.1): their students'
/// test accuracy on D_rand and D_det.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaperNumbers {
    pub rand_student_test_accuracy: f32,
    pub det_student_test_accuracy: f32,
}

pub const PAPER: PaperNumbers = PaperNumbers { rand_student_test_accuracy: 0.633, det_student_test_accuracy: 0.437 };

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IlyasReport {
    pub config: IlyasConfig,
    pub teacher: ModelReport,
    /// The teacher's accuracy on the attacked images, before the attack.
    pub teacher_clean_accuracy: f32,
    /// One per radius and kind of target, in the order of the config's radii, D_rand first.
    pub sets: Vec<AdversarialSet>,
    /// A student of the clean attacked images with uniformly random labels.
    pub control: ModelReport,
    pub paper: PaperNumbers,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdversarialSet {
    pub targets: Targets,
    pub epsilon: f32,
    pub step_size: f32,
    /// Share of the attacked images (as stored: 8-bit pixels) that the teacher classifies as their
    /// target.
    pub attack_success: f32,
    /// `attack_confusion[target][teacher's answer]` over the attacked images: the attack's
    /// success target by target.
    pub attack_confusion: Vec<Vec<usize>>,
    /// Mean l2 and l∞ distance of the stored images from the originals, in pixel units.
    pub mean_l2: f32,
    pub mean_linf: f32,
    /// Images attacked per second.
    pub attack_images_per_second: f64,
    pub student: StudentReport,
    /// A few images of the set: which image, its class, its target, what the teacher now says,
    /// and the attacked pixels (the perturbation is these minus the original's).
    pub examples: Vec<AdversarialExample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentReport {
    #[serde(flatten)]
    pub model: ModelReport,
    /// `confusion[true digit][predicted digit]` on the MNIST test set.
    pub confusion: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdversarialExample {
    pub index: usize,
    pub class: u8,
    pub target: u8,
    pub teacher: u8,
    pub pixels: Vec<u8>,
}

const EXAMPLES: usize = 10;
const ATTACK_BATCH: usize = 64;

/// Runs the experiment on `device` (attacks and training on `device.autodiff()`), split over the
/// replicas of `group`.
pub async fn run(
    mnist: &Splits,
    config: &IlyasConfig,
    device: &Device,
    group: &mut impl Group,
    observer: &mut impl Observer,
) -> Result<IlyasReport, RunError> {
    let config = &IlyasConfig { training: config.training.on(device), ..config.clone() };
    validate(config, group)?;
    super::fashion::check_sides(config.preset, &[("MNIST", &mnist.train), ("MNIST's test set", &mnist.test)])?;
    let started = Instant::now();
    let teacher_set = mnist.train.head(local_limit(config.mnist_train_limit, group));
    let attacked = mnist.train.head(local_limit(config.attack_limit, group));
    let test_set = mnist.test.head(local_limit(config.mnist_test_limit, group));
    let training = &config.training;
    let replica = (group.rank(), group.size());
    let fresh = |stream: u64| super::fresh_replica(device, training.seed, stream, replica, |d| Cnn::new(config.preset.shape(), teacher_set.side, 10, d));

    let teacher = train::train(fresh(salt::TEACHER), &teacher_set, Some(&test_set), &training.schedule(training.teacher_epochs, salt::TEACHER), "teacher", device, group, observer).await?;
    // Every model here reads raw digits.
    let card = |name: &str| Card { name: name.into(), preset: config.preset, side: teacher_set.side, digits: Affine::IDENTITY, garments: Affine::IDENTITY };
    observer.trained(card("teacher").of(&teacher.model));
    let clean = train::predict(&teacher.model, &attacked, ATTACK_BATCH, device, None, observer).await?;
    let teacher_clean_accuracy = train::parallel_accuracy(&clean, &attacked.labels, group).await?;
    let test_labels = parallel::gather(group, &test_set.labels).await?;
    // Gradients flow to the images only; frozen, the teacher runs without dropout.
    let attacker = teacher.model.clone().freeze();

    // The attacked images' true classes, over all replicas (its length: how many are attacked).
    let classes = parallel::gather(group, &attacked.labels).await?;
    let mut sets = Vec::new();
    for &epsilon in &config.epsilons {
        for targets in [Targets::Rand, Targets::Det] {
            let stream = salt::ADVERSARIAL_STUDENTS + sets.len() as u64;
            let chosen = parallel::local_part(&draw_targets(&classes, targets, training.seed), group);
            let step = config.step_size.unwrap_or_else(|| Pgd::default_step(epsilon, config.steps));
            let pgd = Pgd { norm: config.norm, epsilon, step, steps: config.steps, targeted: true, range: (0.0, 1.0) };
            let phase = format!("attack {} ε={epsilon}", name(targets));
            let attack_started = Instant::now();
            let adversarial = attack(&attacker, &attacked, &chosen, &pgd, device, &phase, observer).await?;
            let attack_ips = classes.len() as f64 / attack_started.elapsed().as_secs_f64().max(1e-9);
            let says = train::predict(&teacher.model, &adversarial, ATTACK_BATCH, device, None, observer).await?;
            let attack_confusion = train::confusion(&parallel::gather(group, &chosen).await?, &parallel::gather(group, &says).await?);
            let (l2, linf) = distances(&attacked, &adversarial);
            let sums = group.sum(vec![l2, linf]).await?;
            let total = classes.len() as f32;
            let phase = format!("student {} ε={epsilon}", name(targets));
            let student = train::train(fresh(stream), &adversarial, Some(&test_set), &training.schedule(training.student_epochs, stream), &phase, device, group, observer).await?;
            observer.trained(card(&phase).of(&student.model));
            sets.push(AdversarialSet {
                targets,
                epsilon,
                step_size: step,
                attack_success: diagonal_share(&attack_confusion),
                attack_confusion,
                mean_l2: sums[0] as f32 / total,
                mean_linf: sums[1] as f32 / total,
                attack_images_per_second: attack_ips,
                examples: examples(&attacked, &adversarial, &says, group.size()),
                student: StudentReport { confusion: train::confusion(&test_labels, &student.test_predictions), model: student.report() },
            });
        }
    }

    let random = super::random_labels(classes.len(), training.seed);
    let control_set = attacked.with_labels(parallel::local_part(&random, group));
    let control = train::train(fresh(salt::CONTROL), &control_set, Some(&test_set), &training.schedule(training.control_epochs, salt::CONTROL), "control", device, group, observer).await?;
    observer.trained(card("control").of(&control.model));

    Ok(IlyasReport {
        config: config.clone(),
        teacher: teacher.report(),
        teacher_clean_accuracy,
        sets,
        control: control.report(),
        paper: PAPER,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Training images/s of the configured network on `device`, split over `group` (an attack step
/// costs about as much as a training step: a forward and a backward pass).
pub async fn measure_speed(config: &IlyasConfig, device: &Device, group: &mut impl Group, observer: &impl Observer) -> Result<f64, RunError> {
    let config = &IlyasConfig { training: config.training.on(device), ..config.clone() };
    validate(config, group)?;
    super::fashion::measure_cnn(config.preset, &config.training, device, group, observer).await
}

fn validate(config: &IlyasConfig, group: &impl Group) -> Result<(), RunError> {
    let bad = |msg: &str| Err(RunError::Config(msg.into()));
    config.training.validate(&[config.mnist_train_limit, config.attack_limit, config.mnist_test_limit], group)?;
    if config.epsilons.is_empty() || config.epsilons.iter().any(|e| !(e.is_finite() && *e > 0.0)) {
        return bad("the attack needs one or more radii, each above 0");
    }
    if config.steps == 0 {
        return bad("the attack needs at least one step");
    }
    if config.step_size.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
        return bad("the step size must be above 0");
    }
    Ok(())
}

/// The share of a confusion matrix's counts on its diagonal (the attack's success: the teacher
/// answered the target).
fn diagonal_share(confusion: &[Vec<usize>]) -> f32 {
    let hits: usize = confusion.iter().enumerate().map(|(i, row)| row[i]).sum();
    hits as f32 / confusion.iter().flatten().sum::<usize>().max(1) as f32
}

pub fn name(targets: Targets) -> &'static str {
    match targets {
        Targets::Rand => "D_rand",
        Targets::Det => "D_det",
    }
}

/// Each image's target: for D_rand, uniform over the other nine classes (drawn with the run's
/// seed); for D_det, the next class.
pub fn draw_targets(labels: &[u8], targets: Targets, seed: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(phase_seed(seed, salt::TARGETS));
    labels
        .iter()
        .map(|&y| match targets {
            Targets::Rand => (y + rng.random_range(1..10u8)) % 10,
            Targets::Det => (y + 1) % 10,
        })
        .collect()
}

/// `set`'s images attacked towards `targets`, batch by batch, stored as 8-bit pixels with the
/// targets as their labels.
async fn attack(
    model: &Cnn,
    set: &ImageSet,
    targets: &[u8],
    pgd: &Pgd,
    device: &Device,
    phase: &str,
    observer: &mut impl Observer,
) -> Result<ImageSet, RunError> {
    let grad_device = device.clone().autodiff();
    let model = model.clone().fork(&grad_device);
    let target_set = set.with_labels(targets.to_vec());
    let order: Vec<usize> = (0..set.len()).collect();
    let steps = set.len().div_ceil(ATTACK_BATCH);
    observer.event(Event::Phase { phase: phase.into(), steps });
    let started = Instant::now();
    let mut pixels = Vec::with_capacity(set.len() * set.image_len());
    for (i, chunk) in order.chunks(ATTACK_BATCH).enumerate() {
        let images = set.images_tensor(chunk, &grad_device);
        let attacked = pgd.run(|x| model.forward(x), images, target_set.labels_tensor(chunk, &grad_device));
        pixels.extend(read_floats(attacked.inner()).await?.into_iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8));
        observer.event(train::pass_step(phase, (i + 1, steps), i * ATTACK_BATCH + chunk.len(), started));
        yield_now().await;
        check(observer)?;
    }
    Ok(ImageSet::new(set.channels, set.side, pixels, targets.to_vec()))
}

/// Sums over the images of the l2 and l∞ distances between `before` and `after`, in pixel units.
fn distances(before: &ImageSet, after: &ImageSet) -> (f64, f64) {
    (0..before.len()).fold((0.0, 0.0), |(l2, linf), i| {
        let diffs = before.image(i).iter().zip(after.image(i)).map(|(&a, &b)| (a as f64 - b as f64).abs() / 255.0);
        let (sq, max) = diffs.fold((0.0f64, 0.0f64), |(s, m), d| (s + d * d, m.max(d)));
        (l2 + sq.sqrt(), linf + max)
    })
}

/// The first images of this replica's shard, with what the attack made of them (`size`: the
/// number of replicas, to give each its index in the whole set).
fn examples(before: &ImageSet, after: &ImageSet, teacher: &[u8], size: usize) -> Vec<AdversarialExample> {
    (0..EXAMPLES.min(before.len()))
        .map(|i| AdversarialExample {
            index: i * size,
            class: before.labels[i],
            target: after.labels[i],
            teacher: teacher[i],
            pixels: after.image(i).to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_never_the_true_class() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let rand = draw_targets(&labels, Targets::Rand, 1);
        assert!(labels.iter().zip(&rand).all(|(y, t)| y != t));
        // Every other class is drawn, about equally (100 draws each of 9 classes per true class).
        let mut counts = [[0usize; 10]; 10];
        labels.iter().zip(&rand).for_each(|(&y, &t)| counts[y as usize][t as usize] += 1);
        assert!(counts.iter().flatten().filter(|&&c| c > 0).all(|&c| (3..=25).contains(&c)), "{counts:?}");
        assert_eq!(draw_targets(&labels, Targets::Det, 1)[..3], [1, 2, 3]);
        assert_eq!(draw_targets(&[9], Targets::Det, 1), vec![0]);
        assert_eq!(rand, draw_targets(&labels, Targets::Rand, 1), "seeded");
    }
}
