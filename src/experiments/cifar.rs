//! CIFAR-10 from wrong labels only: a briefly trained ResNet-18 relabels the training set; only
//! the images it gets *wrong* are kept, with its wrong label; a fresh ResNet-18 trained on those
//! alone is tested on the real test set.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::{Affine, ImageSet};
use crate::models::ResNet;
use crate::report::{EpochRecord, ModelReport, Observer, RunError};
use crate::train::{self, Schedule};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CifarConfig {
    pub teacher_epochs: usize,
    pub student_epochs: usize,
    /// The random-label control learns nothing whatever its length; a few epochs show it.
    pub control_epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of Adam (cosine decay to zero).
    pub learning_rate: f64,
    /// ResNet-18's width multiplier (1: the article's network).
    pub width: f32,
    pub seed: u64,
    /// Use only the first N training / test images (quick runs).
    pub train_limit: Option<usize>,
    pub test_limit: Option<usize>,
}

impl Default for CifarConfig {
    fn default() -> Self {
        Self {
            teacher_epochs: 2,
            student_epochs: 50,
            control_epochs: 5,
            batch_size: 128,
            learning_rate: 1e-3,
            width: 1.0,
            seed: 1,
            train_limit: None,
            test_limit: None,
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
    pub test_accuracy: f32,
    pub history: Vec<EpochRecord>,
    pub images_per_second: f64,
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

/// CIFAR-10's splits as image sets (see `data::cifar` for the files).
pub struct CifarData {
    pub train: ImageSet,
    pub test: ImageSet,
}

const EXAMPLES_PER_CLASS: usize = 4;
const CROP_AUGMENTATION: bool = true;

pub async fn run(data: &CifarData, config: &CifarConfig, device: &Device, observer: &mut impl Observer) -> Result<CifarReport, RunError> {
    validate(config)?;
    let started = Instant::now();
    // One scalar standardization from the training pixels, for every set alike.
    let train_set = data.train.head(config.train_limit);
    let affine = Affine::standardize(train_set.moments());
    let train_set = train_set.with_affine(affine);
    let test_set = data.test.head(config.test_limit).with_affine(affine);
    let schedule = |epochs, salt: u64| Schedule {
        epochs,
        batch_size: config.batch_size,
        learning_rate: config.learning_rate,
        warmup: 0.0,
        seed: super::phase_seed(config.seed, salt),
        augment: CROP_AUGMENTATION,
    };
    let fresh = |salt: u64| {
        device.seed(super::phase_seed(config.seed, salt));
        ResNet::resnet18(config.width, train_set.channels, 10, &device.clone().autodiff())
    };

    let teacher = train::train(fresh(0), &train_set, Some(&test_set), &schedule(config.teacher_epochs, 0), "teacher", device, observer).await?;
    let relabel_started = Instant::now();
    let predictions = train::predict(&teacher.model, &train_set, 256, device, Some("relabel"), observer).await?;
    let relabel_ips = train_set.len() as f64 / relabel_started.elapsed().as_secs_f64().max(1e-9);

    let wrong: Vec<usize> = (0..train_set.len()).filter(|&i| predictions[i] != train_set.labels[i]).collect();
    if wrong.is_empty() {
        return Err(RunError::Config("the teacher made no mistakes on the training set: there is nothing to keep".into()));
    }
    let wrong_set = train_set.subset(&wrong, wrong.iter().map(|&i| predictions[i]).collect());
    let true_labels: Vec<u8> = wrong.iter().map(|&i| train_set.labels[i]).collect();
    let wrong_report = WrongSetReport {
        kept: wrong.len(),
        total: train_set.len(),
        class_to_wrong: train::confusion(&true_labels, &wrong_set.labels),
        examples: examples(&wrong, &true_labels, &wrong_set.labels),
        images_per_second: relabel_ips,
    };

    let student = train::train(fresh(1), &wrong_set, Some(&test_set), &schedule(config.student_epochs, 1), "student", device, observer).await?;
    let random = super::random_labels(wrong_set.len(), config.seed, 0xc1fa);
    let control = train::train(fresh(9), &wrong_set.with_labels(random), Some(&test_set), &schedule(config.control_epochs, 9), "control", device, observer).await?;

    Ok(CifarReport {
        config: config.clone(),
        teacher: TeacherReport {
            train_accuracy: train::accuracy(&predictions, &train_set.labels),
            test_accuracy: teacher.last_test_accuracy(),
            history: teacher.history,
            images_per_second: teacher.images_per_second,
        },
        wrong: wrong_report,
        student: student.report(),
        control: control.report(),
        paper: PAPER,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Training images/s of the configured network on `device`, timed on two batches of the training
/// set after a warm-up batch (on WebGPU the first step compiles shaders): what a page needs to
/// estimate a run's time before starting it.
pub async fn measure_speed(data: &CifarData, config: &CifarConfig, device: &Device, observer: &mut impl Observer) -> Result<f64, RunError> {
    validate(config)?;
    let sample = |batches: usize| data.train.head(Some(batches * config.batch_size));
    let schedule = Schedule { epochs: 1, batch_size: config.batch_size, learning_rate: config.learning_rate, warmup: 0.0, seed: config.seed, augment: CROP_AUGMENTATION };
    let fresh = || ResNet::resnet18(config.width, data.train.channels, 10, &device.clone().autodiff());
    train::train(fresh(), &sample(1), None, &schedule, "warm-up", device, observer).await?;
    let timed = train::train(fresh(), &sample(2), None, &schedule, "measure", device, observer).await?;
    Ok(timed.images_per_second)
}

fn validate(config: &CifarConfig) -> Result<(), RunError> {
    let epochs = [config.teacher_epochs, config.student_epochs, config.control_epochs];
    super::validate_training(&epochs, config.batch_size, config.learning_rate, &[config.train_limit, config.test_limit])?;
    if !(config.width > 0.0 && config.width <= 4.0) {
        return Err(RunError::Config("the width multiplier must be in (0, 4]".into()));
    }
    Ok(())
}

/// The first few kept images of each true class, as indices into the training set.
fn examples(wrong: &[usize], classes: &[u8], labels: &[u8]) -> Vec<WrongExample> {
    (0..10u8)
        .flat_map(|c| {
            (0..wrong.len())
                .filter(move |&k| classes[k] == c)
                .take(EXAMPLES_PER_CLASS)
                .map(|k| WrongExample { index: wrong[k], class: classes[k], label: labels[k] })
        })
        .collect()
}
