//! The MNIST → FashionMNIST experiment on real subsets, with real training.

mod common;

use burn::prelude::Device;
use wrong_labels::experiments::Training;
use wrong_labels::experiments::fashion::{self, FashionConfig, Normalize};
use wrong_labels::models::Preset;
use wrong_labels::parallel::Alone;
use wrong_labels::report::Quiet;

fn quick_config() -> FashionConfig {
    let defaults = FashionConfig::default();
    FashionConfig {
        training: Training { teacher_epochs: 2, student_epochs: 2, control_epochs: 1, batch_size: 64, learning_rate: 3e-3, warmup: 0.05, seed: 3, ..defaults.training },
        preset: Preset::Small,
        normalize: Normalize::Standardize,
        mnist_train_limit: Some(30_000),
        fashion_train_limit: Some(12_000),
        mnist_test_limit: Some(2_000),
        control_limit: None,
        ..defaults
    }
}

#[test]
fn students_learn_digits_from_a_teachers_labels_of_clothes() {
    let config = quick_config();
    let report = pollster::block_on(fashion::run(&common::fashion_data(), &config, &Device::flex(), &mut Alone, &mut Quiet)).unwrap();
    println!("{}", serde_json::to_string(&report.students.iter().map(|s| s.model.test_accuracy).collect::<Vec<_>>()).unwrap());
    println!("teacher {} control {}", report.teacher.test_accuracy, report.control.test_accuracy);

    assert!(report.teacher.test_accuracy > 0.95, "teacher {}", report.teacher.test_accuracy);
    assert_eq!(report.relabel.histogram.iter().sum::<usize>(), 12_000);
    assert_eq!(report.relabel.class_to_digit.iter().flatten().sum::<usize>(), 12_000);
    assert!(report.control.test_accuracy < 0.2, "control {}", report.control.test_accuracy);
    assert_eq!(report.students.len(), 2);
    for student in &report.students {
        assert!(
            student.model.test_accuracy > report.control.test_accuracy + 0.3,
            "student {:?}: {} vs control {}",
            student.normalize,
            student.model.test_accuracy,
            report.control.test_accuracy
        );
        assert_eq!(student.model.history.len(), config.training.student_epochs);
        assert_eq!(student.confusion.iter().flatten().sum::<usize>(), 2_000);
    }
}

#[test]
fn bad_configurations_are_errors_not_panics() {
    let data = common::fashion_data();
    let quick = quick_config();
    let training = |t: Training| FashionConfig { training: t, ..quick.clone() };
    for config in [
        training(Training { teacher_epochs: 0, ..quick.training.clone() }),
        training(Training { batch_size: 0, ..quick.training.clone() }),
        training(Training { learning_rate: -1.0, ..quick.training.clone() }),
        training(Training { warmup: 0.5, ..quick.training.clone() }),
        training(Training { warmup: f64::NAN, ..quick.training.clone() }),
        training(Training { read_every: 0, ..quick.training.clone() }),
        training(Training { workers: 2, ..quick.training.clone() }),
        training(Training { gpu_batch_size: Some(0), ..quick.training.clone() }),
        FashionConfig { fashion_train_limit: Some(0), ..quick.clone() },
        FashionConfig { normalize: Normalize::None, ..quick.clone() },
        FashionConfig { teacher_limits: vec![100, 5], ..quick.clone() },
        FashionConfig { teacher_shift: 5, ..quick.clone() },
        FashionConfig { student_balance: 1.5, ..quick.clone() },
        FashionConfig { student_balance: -0.5, ..quick.clone() },
    ] {
        let result = pollster::block_on(fashion::run(&data, &config, &Device::flex(), &mut Alone, &mut Quiet));
        assert!(matches!(result, Err(wrong_labels::report::RunError::Config(_))), "{config:?}");
    }
}

#[test]
fn images_the_cnn_cannot_take_are_refused_naming_the_set() {
    use wrong_labels::data::{ImageSet, Splits};
    use wrong_labels::report::RunError;
    let set = |side: usize| ImageSet::new(1, side, vec![0; 20 * side * side], vec![1; 20]);
    let config = FashionConfig { preset: Preset::Fast, ..quick_config() };
    let run = |mnist: &Splits, fashion: &ImageSet| pollster::block_on(fashion::run(&fashion::FashionData { mnist, fashion_train: fashion }, &config, &Device::flex(), &mut Alone, &mut Quiet));
    // Clothes of another side than the digits.
    let mnist = Splits { train: set(28), test: set(28) };
    match run(&mnist, &set(14)) {
        Err(RunError::Config(message)) => assert!(message.contains("FashionMNIST holds 1-channel images of 14×14"), "{message}"),
        other => panic!("{:?}", other.map(|r| r.seconds)),
    }
    // Images too small for the fast CNN's two convolutions and pools.
    let tiny = Splits { train: set(8), test: set(8) };
    match run(&tiny, &set(8)) {
        Err(RunError::Config(message)) => assert!(message.contains("8×8: the CNN needs at least 10×10"), "{message}"),
        other => panic!("{:?}", other.map(|r| r.seconds)),
    }
}
