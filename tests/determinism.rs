//! Same seed, same numbers, on the CPU backend.

mod common;

use std::sync::Mutex;

use burn::prelude::Device;
use wrong_labels::experiments::Training;
use wrong_labels::experiments::fashion::{self, FashionConfig};
use wrong_labels::experiments::toy::{self, ToyConfig};
use wrong_labels::models::Preset;
use wrong_labels::parallel::Alone;
use wrong_labels::report::Quiet;

/// The backend's random generator (initialization, dropout) is one per process: tests that run at
/// the same time draw from it in turn and would each see the other's draws. These take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn the_toy_experiment_repeats_exactly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = ToyConfig { runs: 3, first_seed: 7, ..Default::default() };
    let run = || pollster::block_on(toy::run(&config, &Device::flex(), &mut Quiet)).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(a.correct, b.correct);
    assert_eq!(a.example.adversarial, b.example.adversarial);
    assert_eq!(a.example.student_grid, b.example.student_grid);
}

#[test]
fn the_fashion_experiment_repeats_exactly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let defaults = FashionConfig::default();
    let config = FashionConfig {
        training: Training { teacher_epochs: 1, student_epochs: 1, control_epochs: 1, ..defaults.training },
        preset: Preset::Small,
        mnist_train_limit: Some(1_000),
        fashion_train_limit: Some(1_000),
        mnist_test_limit: Some(500),
        ..defaults
    };
    let run = || pollster::block_on(fashion::run(&common::fashion_data(), &config, &Device::flex(), &mut Alone, &mut Quiet)).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(a.relabel.labels, b.relabel.labels);
    let losses = |r: &fashion::FashionReport| r.students.iter().map(|s| s.model.history[0].train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.control.test_accuracy, b.control.test_accuracy);
}

/// A teacher sweep whose last teacher sees the run's own training images is the run's teacher
/// again (same seed, data and schedule): same labels, same student. A teacher of 40 digits is
/// far worse, and so are its labels.
#[test]
fn the_teacher_sweep_retrains_weaker_teachers_and_their_students() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let defaults = FashionConfig::default();
    let config = FashionConfig {
        training: Training { teacher_epochs: 1, student_epochs: 1, control_epochs: 1, ..defaults.training },
        preset: Preset::Small,
        mnist_train_limit: Some(4_000),
        fashion_train_limit: Some(3_000),
        mnist_test_limit: Some(1_000),
        control_limit: Some(500),
        teacher_limits: vec![40, 4_000],
        ..defaults
    };
    let report = pollster::block_on(fashion::run(&common::fashion_data(), &config, &Device::flex(), &mut Alone, &mut Quiet)).unwrap();
    let [weak, same] = &report.teacher_sweep[..] else { panic!("{} sweep points", report.teacher_sweep.len()) };
    assert_eq!((weak.mnist_images, same.mnist_images), (40, 4_000));
    assert_eq!(same.agreement, 1.0);
    assert_eq!(same.teacher.test_accuracy, report.teacher.test_accuracy);
    assert_eq!(same.student.model.test_accuracy, report.students[1].model.test_accuracy);
    assert!(weak.teacher.test_accuracy + 0.3 < report.teacher.test_accuracy, "{} vs {}", weak.teacher.test_accuracy, report.teacher.test_accuracy);
    assert!(weak.agreement < 0.8, "agreement {}", weak.agreement);
}
