//! MNIST → FashionMNIST: a digit classifier labels clothes; students learn digits from those
//! labels alone.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::{Affine, Augment, ImageSet, Moments, Splits};
use crate::models::{Cnn, Preset};
pub use crate::report::ModelReport;
use crate::parallel::{self, Group, local_limit};
use crate::report::{Observer, RunError};
use crate::train::{self, Schedule, Trained};
use crate::trained::{Card, TrainedCnn};
use super::{Relabeling, Training, gallery, salt};

/// How the normalized student's FashionMNIST images are normalized "with MNIST's mean and
/// variance" (the article's phrase allows both readings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Normalize {
    /// Raw pixels in [0, 1]: the first student's, always (not a choice for the second).
    #[cfg_attr(feature = "cli", value(skip))]
    None,
    /// Give the FashionMNIST images MNIST's pixel mean and standard deviation, then let the
    /// teacher label those images: the clothes then look, to first and second order, like the
    /// digits the student is tested on.
    Moments,
    /// Standardize the student's inputs (FashionMNIST and the MNIST test set alike) with MNIST's
    /// mean and standard deviation, `(x − μ) / σ`, as a PyTorch MNIST script's `Normalize` does;
    /// labels as for raw pixels. The literal reading, and the default.
    #[default]
    Standardize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct FashionConfig {
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub training: Training,
    /// The network of the teacher, the students and the control.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub preset: Preset,
    /// Reading of "normalized with MNIST's mean and variance" for the second student (the first
    /// always learns from raw pixels).
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub normalize: Normalize,
    /// Use only the first N MNIST training images (none given: all).
    #[cfg_attr(feature = "cli", arg(long))]
    pub mnist_train_limit: Option<usize>,
    /// Use only the first N FashionMNIST training images.
    #[cfg_attr(feature = "cli", arg(long))]
    pub fashion_train_limit: Option<usize>,
    /// Use only the first N MNIST test images.
    #[cfg_attr(feature = "cli", arg(long))]
    pub mnist_test_limit: Option<usize>,
    /// Train the random-label control on the first N FashionMNIST images: random labels carry
    /// nothing to learn, and a fifth of the set shows that at a fifth of the cost.
    #[cfg_attr(feature = "cli", arg(long))]
    pub control_limit: Option<usize>,
    /// How good must the teacher be: for each N, a teacher trained like the main one on only the
    /// first N MNIST training images relabels FashionMNIST, and a normalized student learns from
    /// its labels (`--teacher-limits 100,300,1000,3000`; none by default).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub teacher_limits: Vec<usize>,
    /// Shift each of the teacher's training digits by up to N pixels each way, at random (0: none):
    /// a better teacher on digits (2 pixels, 4 epochs: 99.23%), a far worse one to learn from.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub teacher_shift: usize,
    /// Weigh each digit in the students' loss by its share of the teacher's labels to the power
    /// −B (0: the article's plain loss). The teacher calls few clothes a 7 or a 9, so its students
    /// read those digits worst; ½ lifted the students 2–5 points at full scale (docs/results.md).
    #[cfg_attr(feature = "cli", arg(long, value_name = "B"))]
    #[serde(default)]
    pub student_balance: f64,
}

impl Default for FashionConfig {
    fn default() -> Self {
        Self {
            training: Training {
                teacher_epochs: 2,
                student_epochs: 4,
                control_epochs: 1,
                batch_size: 64,
                learning_rate: 3e-3,
                warmup: 0.05,
                augment: false,
                seed: 1,
                workers: 1,
                read_every: train::READ_EVERY,
                replay: true,
                gpu_batch_size: Some(GPU_BATCH_SIZE),
            },
            preset: Preset::Classic,
            normalize: Normalize::Standardize,
            mnist_train_limit: None,
            fashion_train_limit: None,
            mnist_test_limit: None,
            control_limit: Some(12_000),
            teacher_limits: Vec::new(),
            teacher_shift: 0,
            student_balance: 0.0,
        }
    }
}

impl FashionConfig {
    /// The page's default, the quick preset: the effect, clearly, in about a minute and a half on
    /// a 2-core laptop, within a first visit of 12 MB. Chosen by measurement (docs/speed.md): the
    /// fast CNN (no dropout); a teacher of one epoch on 10,000 digits (92%: enough for its errors
    /// to teach); students of 5 epochs on 12,000 FashionMNIST images (5.3 MB), which taught more
    /// than 24,000 seen twice; a control on 3,000; 2,000 test digits. On WebGPU it keeps the CPU's
    /// batch: the GPU recipe's would leave its teacher too few steps (docs/gpu.md).
    pub fn quick() -> Self {
        let defaults = Self::default();
        Self {
            training: Training {
                teacher_epochs: 1,
                student_epochs: 5,
                learning_rate: 4e-3,
                gpu_batch_size: Some(64),
                ..defaults.training
            },
            preset: Preset::Fast,
            mnist_train_limit: Some(10_000),
            fashion_train_limit: Some(12_000),
            mnist_test_limit: Some(2_000),
            control_limit: Some(3_000),
            ..defaults
        }
    }

    /// The page's article preset: the command line's full scale, its teacher trained four epochs
    /// instead of two (the article's 99.1% teacher needs them: 99.18% in the page; two gave
    /// 98.95–99.06%) and its students' loss balanced (0.5: 93.33 / 93.64% in the page, where the
    /// plain loss gave 89.77 / 91.73%; docs/results.md). Its limits are written out, as the
    /// page's forms show them.
    pub fn article() -> Self {
        let defaults = Self::default();
        Self {
            training: Training { teacher_epochs: 4, ..defaults.training },
            mnist_train_limit: Some(60_000),
            fashion_train_limit: Some(60_000),
            mnist_test_limit: Some(10_000),
            student_balance: 0.5,
            ..defaults
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelabelReport {
    /// How often the teacher gave each digit to the FashionMNIST training images.
    pub histogram: [usize; 10],
    /// `class_to_digit[fashion class][digit]` counts.
    pub class_to_digit: Vec<Vec<usize>>,
    pub images_per_second: f64,
    /// A few images per class, for a gallery ("dress → 8").
    pub examples: Vec<Relabeled>,
    /// The teacher's digit for every FashionMNIST training image.
    pub labels: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relabeled {
    pub index: usize,
    /// The FashionMNIST class, 0-9 (the page names them: `FASHION_CLASSES` in `www/views.js`).
    pub class: u8,
    /// The digit the teacher gave it.
    pub digit: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentReport {
    pub normalize: Normalize,
    /// The affine map applied to the student's training images.
    pub affine: Affine,
    #[serde(flatten)]
    pub model: ModelReport,
    /// `confusion[true digit][predicted digit]` on the MNIST test set.
    pub confusion: Vec<Vec<usize>>,
    /// Predictions for the first MNIST test images (a gallery of digits with the student's guess)
    /// and their true digits.
    pub sample_predictions: Vec<u8>,
    pub sample_labels: Vec<u8>,
    /// The article's figure for this student, when it reports one.
    pub paper_accuracy: Option<f32>,
}

/// One point of the teacher sweep: a teacher that saw fewer digits, and the student of its labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherPoint {
    /// The MNIST training images this teacher learned from.
    pub mnist_images: usize,
    pub teacher: ModelReport,
    /// Share of the FashionMNIST images it gives the digit the run's main teacher gives them.
    pub agreement: f32,
    pub student: StudentReport,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    pub teacher: f64,
    pub relabel: f64,
    pub students: f64,
    pub control: f64,
}

/// The article's numbers: its MNIST teacher, and the students trained on that teacher's labels of
/// FashionMNIST, on raw pixels and normalized with MNIST's statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaperNumbers {
    pub teacher_test_accuracy: f32,
    pub raw_student_test_accuracy: f32,
    pub normalized_student_test_accuracy: f32,
}

pub const PAPER: PaperNumbers =
    PaperNumbers { teacher_test_accuracy: 0.991, raw_student_test_accuracy: 0.9104, normalized_student_test_accuracy: 0.945 };

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FashionReport {
    pub config: FashionConfig,
    pub teacher: ModelReport,
    pub relabel: RelabelReport,
    pub students: Vec<StudentReport>,
    pub control: ModelReport,
    /// Weaker teachers and their students (empty unless `teacher_limits` asks for them).
    pub teacher_sweep: Vec<TeacherPoint>,
    pub mnist_moments: Moments,
    pub fashion_moments: Moments,
    pub images_per_second: Throughput,
    pub paper: PaperNumbers,
    pub seconds: f64,
}

/// The data the experiment needs: MNIST's splits and FashionMNIST's training images (with
/// several replicas, this replica's shards of them).
pub struct FashionData<'a> {
    pub mnist: &'a Splits,
    pub fashion_train: &'a ImageSet,
}

const SAMPLE_PREDICTIONS: usize = 48;

/// Runs the whole experiment on `device` (training happens on `device.autodiff()`), split over the
/// replicas of `group` (see [`crate::parallel`]).
pub async fn run(
    data: &FashionData<'_>,
    config: &FashionConfig,
    device: &Device,
    group: &mut impl Group,
    observer: &mut impl Observer,
) -> Result<FashionReport, RunError> {
    let config = &FashionConfig { training: config.training.on(device), ..config.clone() };
    validate(config, group)?;
    check_sides(config.preset, &[("MNIST", &data.mnist.train), ("MNIST's test set", &data.mnist.test), ("FashionMNIST", data.fashion_train)])?;
    let started = Instant::now();
    let mnist_train = data.mnist.train.head(local_limit(config.mnist_train_limit, group));
    let mnist_test = data.mnist.test.head(local_limit(config.mnist_test_limit, group));
    let fashion = data.fashion_train.head(local_limit(config.fashion_train_limit, group));
    let training = &config.training;
    let lab = Lab {
        config,
        mnist_moments: parallel::moments(&mnist_train, group).await?,
        fashion_moments: parallel::moments(&fashion, group).await?,
        test_labels: parallel::gather(group, &mnist_test.labels).await?,
        mnist_train,
        mnist_test,
        fashion,
        device,
        replica: (group.rank(), group.size()),
    };
    let (mnist_train, mnist_test, fashion) = (&lab.mnist_train, &lab.mnist_test, &lab.fashion);

    let teacher = train::train(lab.fresh(salt::TEACHER), mnist_train, Some(mnist_test), &lab.teacher_schedule(), "teacher", device, group, observer).await?;
    observer.trained(lab.card("teacher", Affine::IDENTITY, Affine::IDENTITY).of(&teacher.model));

    let Relabeling { local, labels, classes, images_per_second } = super::relabel(&teacher.model, fashion, device, group, observer).await?;
    let relabeled = fashion.with_labels(local);
    let relabel = RelabelReport {
        histogram: crate::data::histogram(&labels),
        class_to_digit: train::confusion(&classes, &labels),
        images_per_second,
        examples: gallery(&classes).into_iter().map(|index| Relabeled { index, class: classes[index], digit: labels[index] }).collect(),
        labels,
    };

    let mut students = Vec::new();
    for (i, normalize) in [Normalize::None, config.normalize].into_iter().enumerate() {
        let phase = format!("student {}", name(normalize));
        let (report, student) = lab.student(&teacher.model, &relabeled, normalize, salt::STUDENT + i as u64, &phase, group, observer).await?;
        observer.trained(student);
        students.push(report);
    }

    let mut teacher_sweep = Vec::new();
    for &limit in &config.teacher_limits {
        teacher_sweep.push(lab.sweep_point(limit, &relabel.labels, group, observer).await?);
    }

    let control_set = fashion.head(local_limit(config.control_limit, group));
    let random = super::random_labels(parallel::total(group, control_set.len()).await?, training.seed);
    let control_set = control_set.with_labels(parallel::local_part(&random, group));
    let control = train::train(lab.fresh(salt::CONTROL), &control_set, Some(mnist_test), &training.schedule(training.control_epochs, salt::CONTROL), "control", device, group, observer).await?;
    observer.trained(lab.card("control", Affine::IDENTITY, Affine::IDENTITY).of(&control.model));

    let student_ips = students.iter().map(|s| s.model.images_per_second).sum::<f64>() / students.len() as f64;
    Ok(FashionReport {
        config: config.clone(),
        images_per_second: Throughput {
            teacher: teacher.images_per_second,
            relabel: relabel.images_per_second,
            students: student_ips,
            control: control.images_per_second,
        },
        teacher: teacher.report(),
        relabel,
        students,
        control: control.report(),
        teacher_sweep,
        mnist_moments: lab.mnist_moments,
        fashion_moments: lab.fashion_moments,
        paper: PAPER,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What the models of a run share: its data (this replica's part), statistics and settings.
struct Lab<'a> {
    config: &'a FashionConfig,
    mnist_train: ImageSet,
    fashion: ImageSet,
    mnist_test: ImageSet,
    mnist_moments: Moments,
    fashion_moments: Moments,
    /// The whole MNIST test set's labels.
    test_labels: Vec<u8>,
    device: &'a Device,
    replica: (usize, usize),
}

impl Lab<'_> {
    fn teacher_schedule(&self) -> Schedule {
        let training = &self.config.training;
        let mut schedule = training.schedule(training.teacher_epochs, salt::TEACHER);
        if self.config.teacher_shift > 0 {
            schedule.augment = Some(Augment { pad: self.config.teacher_shift, mirror: false });
        }
        schedule
    }

    fn fresh(&self, stream: u64) -> Cnn {
        let shape = self.config.preset.shape();
        super::fresh_replica(self.device, self.config.training.seed, stream, self.replica, |d| Cnn::new(shape, self.mnist_train.side, 10, d))
    }

    /// How a model of this run named `name` reads digits and garments.
    fn card(&self, name: &str, digits: Affine, garments: Affine) -> Card {
        Card { name: name.into(), preset: self.config.preset, side: self.mnist_train.side, digits, garments }
    }

    /// Trains a student on `relabeled` (FashionMNIST with `teacher`'s digits), normalized as
    /// `normalize` says, and tests it on MNIST; returns its summary and the student.
    #[allow(clippy::too_many_arguments)]
    async fn student(
        &self,
        teacher: &Cnn,
        relabeled: &ImageSet,
        normalize: Normalize,
        stream: u64,
        phase: &str,
        group: &mut impl Group,
        observer: &mut impl Observer,
    ) -> Result<(StudentReport, TrainedCnn), RunError> {
        let (train_set, test_set) = match normalize {
            Normalize::None => (relabeled.clone(), self.mnist_test.clone()),
            Normalize::Moments => {
                let matched = self.fashion.with_affine(Affine::match_moments(self.fashion_moments, self.mnist_moments));
                let labels = train::predict(teacher, &matched, 256, self.device, Some("relabel (moments)"), observer).await?;
                (matched.with_labels(labels), self.mnist_test.clone())
            }
            Normalize::Standardize => {
                let affine = Affine::standardize(self.mnist_moments);
                (relabeled.with_affine(affine), self.mnist_test.with_affine(affine))
            }
        };
        let training = &self.config.training;
        let schedule = Schedule { balance: self.config.student_balance, ..training.schedule(training.student_epochs, stream) };
        let student = train::train(self.fresh(stream), &train_set, Some(&test_set), &schedule, phase, self.device, group, observer).await?;
        let trained = self.card(phase, test_set.affine, train_set.affine).of(&student.model);
        Ok((student_report(student, normalize, train_set.affine, &self.test_labels), trained))
    }

    /// A teacher trained on the first `limit` MNIST training images, its agreement with the
    /// main teacher's `labels`, and the normalized student of its labels.
    async fn sweep_point(
        &self,
        limit: usize,
        labels: &[u8],
        group: &mut impl Group,
        observer: &mut impl Observer,
    ) -> Result<TeacherPoint, RunError> {
        let subset = self.mnist_train.head(local_limit(Some(limit), group));
        let mnist_images = parallel::total(group, subset.len()).await?;
        let phase = format!("teacher on {mnist_images} digits");
        let teacher = train::train(self.fresh(salt::TEACHER), &subset, Some(&self.mnist_test), &self.teacher_schedule(), &phase, self.device, group, observer).await?;
        let own = super::relabel(&teacher.model, &self.fashion, self.device, group, observer).await?;
        let agreement = train::accuracy(&own.labels, labels);
        let phase = format!("student of the {mnist_images}-digit teacher");
        let stream = salt::STUDENT + 1;
        let (student, _) = self.student(&teacher.model, &self.fashion.with_labels(own.local), self.config.normalize, stream, &phase, group, observer).await?;
        Ok(TeacherPoint { mnist_images, teacher: teacher.report(), agreement, student })
    }
}

/// Training images/s of the configured network on `device`, split over `group`: what the page
/// needs to pick a backend and estimate a run's time before starting it.
pub async fn measure_speed(config: &FashionConfig, device: &Device, group: &mut impl Group, observer: &impl Observer) -> Result<f64, RunError> {
    let config = &FashionConfig { training: config.training.on(device), ..config.clone() };
    validate(config, group)?;
    measure_cnn(config.preset, &config.training, device, group, observer).await
}

/// Training images/s of an MNIST CNN trained as `training` says (the fashion and ilyas experiments').
pub(super) async fn measure_cnn(preset: Preset, training: &Training, device: &Device, group: &mut impl Group, observer: &impl Observer) -> Result<f64, RunError> {
    let model = Cnn::new(preset.shape(), MNIST_SIDE, 10, &device.clone().autodiff());
    train::measure_speed(model, 1, MNIST_SIDE, &training.schedule(1, 0), device, group, observer).await
}

const MNIST_SIDE: usize = 28;

/// Refuses image sets the CNN cannot take: one-channel images of one side, at least its smallest.
pub(super) fn check_sides(preset: Preset, sets: &[(&str, &ImageSet)]) -> Result<(), RunError> {
    let (first, set) = sets[0];
    let smallest = Cnn::smallest_side(preset.shape());
    for (name, other) in sets {
        if (other.channels, other.side) != (1, set.side) {
            return Err(RunError::Config(format!("{name} holds {}-channel images of {}×{}, {first} 1-channel images of {}×{}", other.channels, other.side, other.side, set.side, set.side)));
        }
    }
    if set.side < smallest {
        return Err(RunError::Config(format!("{first}'s images are {0}×{0}: the CNN needs at least {smallest}×{smallest}", set.side)));
    }
    Ok(())
}

/// The GPU recipe's batch (see `Training::on`): twice the CPU's, the rate ×√2. At the article
/// preset's scale it kept the teacher at 99.02% and each student within half a point of batch
/// 64's; batch 256 cost a student 1.3–3.3 points (docs/gpu.md, "The GPU recipe").
pub const GPU_BATCH_SIZE: usize = 128;

/// Beyond a few pixels a shift pushes strokes out of the 28×28 frame.
const MAX_SHIFT: usize = 4;

/// At 1 every digit weighs the same in total; beyond, rare digits would outweigh common ones.
const MAX_BALANCE: f64 = 1.0;

fn validate(config: &FashionConfig, group: &impl Group) -> Result<(), RunError> {
    let limits = [config.mnist_train_limit, config.fashion_train_limit, config.mnist_test_limit, config.control_limit];
    config.training.validate(&limits, group)?;
    if config.teacher_limits.iter().any(|&n| n < 10.max(group.size())) {
        return Err(RunError::Config("each teacher limit must be at least 10 images (and one per worker)".into()));
    }
    if config.teacher_shift > MAX_SHIFT {
        return Err(RunError::Config(format!("the teacher's shift must be at most {MAX_SHIFT} pixels")));
    }
    if !(0.0..=MAX_BALANCE).contains(&config.student_balance) {
        return Err(RunError::Config(format!("the students' balance must be from 0 to {MAX_BALANCE}")));
    }
    if matches!(config.normalize, Normalize::None) {
        // The raw student always runs; a second one on raw pixels would repeat it under its name.
        return Err(RunError::Config("normalize must be moments or standardize: the raw-pixel student always runs beside it".into()));
    }
    Ok(())
}

pub fn name(normalize: Normalize) -> &'static str {
    match normalize {
        Normalize::None => "raw",
        Normalize::Moments => "moments",
        Normalize::Standardize => "standardize",
    }
}

/// The student's summary, from the test predictions its last epoch already made (`labels`: the
/// whole test set's).
fn student_report(mut student: Trained<Cnn>, normalize: Normalize, affine: Affine, labels: &[u8]) -> StudentReport {
    let predictions = std::mem::take(&mut student.test_predictions);
    StudentReport {
        normalize,
        affine,
        model: ModelReport { test_accuracy: train::accuracy(&predictions, labels), ..student.report() },
        confusion: train::confusion(labels, &predictions),
        sample_predictions: predictions.into_iter().take(SAMPLE_PREDICTIONS).collect(),
        sample_labels: labels.iter().copied().take(SAMPLE_PREDICTIONS).collect(),
        paper_accuracy: Some(match normalize {
            Normalize::None => PAPER.raw_student_test_accuracy,
            _ => PAPER.normalized_student_test_accuracy,
        }),
    }
}

