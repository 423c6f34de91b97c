//! CIFAR-10 from wrong labels only: a briefly trained ResNet-18 relabels the training set; only
//! the images it gets *wrong* are kept, with its wrong label; a fresh ResNet-18 trained on those
//! alone is tested on the real test set.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::cifar::{CHANNELS, SIDE};
use crate::data::{Affine, Splits};
use crate::models::ResNet;
use crate::parallel::{self, Group, local_limit};
use crate::report::{ModelReport, Observer, RunError};
use crate::train::{self, READ_EVERY};
use super::{Relabeling, Training, gallery, salt};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct CifarConfig {
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub training: Training,
    /// ResNet-18's width multiplier (1: the article's network; 0.25 for a CPU).
    #[cfg_attr(feature = "cli", arg(long))]
    pub width: f32,
    /// Use only the first N training images (none given: all).
    #[cfg_attr(feature = "cli", arg(long))]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[cfg_attr(feature = "cli", arg(long))]
    pub test_limit: Option<usize>,
}

impl Default for CifarConfig {
    fn default() -> Self {
        Self {
            training: Training {
                teacher_epochs: 2,
                student_epochs: 50,
                // The random-label control learns nothing whatever its length; a few epochs show it.
                control_epochs: 5,
                batch_size: 128,
                learning_rate: 1e-3,
                // The CIFAR-10 figures of docs/results.md were measured without a warm-up.
                warmup: 0.0,
                augment: true,
                seed: 1,
                workers: 1,
                read_every: READ_EVERY,
                replay: true,
                // ResNet-18's batch norm keeps state of its own: its steps are not replayed.
                gpu_batch_size: None,
            },
            width: 1.0,
            train_limit: None,
            test_limit: None,
        }
    }
}

impl CifarConfig {
    /// The page's CIFAR-10 section: ResNet-18 an eighth as wide, on the first 5,000 training images
    /// and 1,000 test images, student 5 epochs, control 1, batch 64: minutes on a laptop's CPU.
    pub fn page() -> Self {
        let defaults = Self::default();
        Self {
            training: Training { student_epochs: 5, control_epochs: 1, batch_size: 64, ..defaults.training },
            width: 0.125,
            train_limit: Some(5_000),
            test_limit: Some(1_000),
        }
    }
}

/// The article's numbers (ResNet-18, full CIFAR-10).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaperNumbers {
    pub teacher_train_accuracy: f32,
    pub teacher_test_accuracy: f32,
    pub kept: usize,
    pub student_test_accuracy: f32,
}

pub const PAPER: PaperNumbers =
    PaperNumbers { teacher_train_accuracy: 0.625, teacher_test_accuracy: 0.631, kept: 18_768, student_test_accuracy: 0.497 };

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherReport {
    /// Accuracy on the (unaugmented) training images: the relabelling pass measures it.
    pub train_accuracy: f32,
    #[serde(flatten)]
    pub model: ModelReport,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrongSetReport {
    /// Training images the teacher got wrong: the student's whole training set.
    pub kept: usize,
    pub total: usize,
    /// `matrix[true class][teacher's wrong label]` over the kept images (zero diagonal).
    pub class_to_wrong: Vec<Vec<usize>>,
    /// A few kept images per class, for galleries ("cat → dog").
    pub examples: Vec<WrongExample>,
    pub images_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrongExample {
    pub index: usize,
    pub class: u8,
    pub label: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CifarReport {
    pub config: CifarConfig,
    pub teacher: TeacherReport,
    pub wrong: WrongSetReport,
    pub student: ModelReport,
    pub control: ModelReport,
    pub paper: PaperNumbers,
    pub seconds: f64,
}

/// Runs the experiment on `device`, split over the replicas of `group` (see [`crate::parallel`]).
pub async fn run(
    data: &Splits,
    config: &CifarConfig,
    device: &Device,
    group: &mut impl Group,
    observer: &mut impl Observer,
) -> Result<CifarReport, RunError> {
    validate(config, group)?;
    let started = Instant::now();
    // One scalar standardization from the training pixels, for every set alike.
    let train_set = data.train.head(local_limit(config.train_limit, group));
    let affine = Affine::standardize(parallel::moments(&train_set, group).await?);
    let train_set = train_set.with_affine(affine);
    let test_set = data.test.head(local_limit(config.test_limit, group)).with_affine(affine);
    let training = &config.training;
    let replica = (group.rank(), group.size());
    let fresh = |stream: u64| super::fresh_replica(device, training.seed, stream, replica, |d| ResNet::resnet18(config.width, train_set.channels, 10, d));

    let teacher = train::train(fresh(salt::TEACHER), &train_set, Some(&test_set), &training.schedule(training.teacher_epochs, salt::TEACHER), "teacher", device, group, observer).await?;
    let Relabeling { local: local_predictions, labels: predictions, classes, images_per_second } =
        super::relabel(&teacher.model, &train_set, device, group, observer).await?;

    // The report's view is global; each replica trains on the wrong images of its own shard.
    let wrong: Vec<usize> = (0..classes.len()).filter(|&i| predictions[i] != classes[i]).collect();
    if wrong.is_empty() {
        return Err(RunError::Config("the teacher made no mistakes on the training set: there is nothing to keep".into()));
    }
    let local_wrong: Vec<usize> = (0..train_set.len()).filter(|&i| local_predictions[i] != train_set.labels[i]).collect();
    let wrong_set = train_set.subset(&local_wrong, local_wrong.iter().map(|&i| local_predictions[i]).collect());
    let true_labels: Vec<u8> = wrong.iter().map(|&i| classes[i]).collect();
    let wrong_labels: Vec<u8> = wrong.iter().map(|&i| predictions[i]).collect();
    let wrong_report = WrongSetReport {
        kept: wrong.len(),
        total: classes.len(),
        class_to_wrong: train::confusion(&true_labels, &wrong_labels),
        examples: gallery(&true_labels).into_iter().map(|k| WrongExample { index: wrong[k], class: true_labels[k], label: wrong_labels[k] }).collect(),
        images_per_second,
    };

    let student = train::train(fresh(salt::STUDENT), &wrong_set, Some(&test_set), &training.schedule(training.student_epochs, salt::STUDENT), "student", device, group, observer).await?;
    // The control's labels are drawn for the kept images in their global order; each replica takes
    // those of its own.
    let random = super::random_labels(wrong.len(), training.seed);
    let (rank, size) = (group.rank(), group.size());
    let local_random = wrong.iter().zip(random).filter(|&(&i, _)| parallel::owner(i, size) == rank).map(|(_, label)| label).collect();
    let control = train::train(fresh(salt::CONTROL), &wrong_set.with_labels(local_random), Some(&test_set), &training.schedule(training.control_epochs, salt::CONTROL), "control", device, group, observer).await?;

    Ok(CifarReport {
        config: config.clone(),
        teacher: TeacherReport { train_accuracy: train::accuracy(&predictions, &classes), model: teacher.report() },
        wrong: wrong_report,
        student: student.report(),
        control: control.report(),
        paper: PAPER,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Training images/s of the configured network on `device`, split over `group`: what the page
/// needs to pick a backend and estimate a run's time before starting it.
pub async fn measure_speed(config: &CifarConfig, device: &Device, group: &mut impl Group, observer: &impl Observer) -> Result<f64, RunError> {
    validate(config, group)?;
    let model = ResNet::resnet18(config.width, CHANNELS, 10, &device.clone().autodiff());
    train::measure_speed(model, CHANNELS, SIDE, &config.training.schedule(1, 0), device, group, observer).await
}

fn validate(config: &CifarConfig, group: &impl Group) -> Result<(), RunError> {
    config.training.validate(&[config.train_limit, config.test_limit], group)?;
    if !(config.width > 0.0 && config.width <= 4.0) {
        return Err(RunError::Config("the width multiplier must be in (0, 4]".into()));
    }
    Ok(())
}

