//! Ilyas et al.'s D_rand and D_det on real MNIST subsets, with real training and real attacks.

mod common;

use burn::prelude::Device;
use wrong_labels::attack::Norm;
use wrong_labels::experiments::Training;
use wrong_labels::experiments::ilyas::{self, IlyasConfig, Targets};
use wrong_labels::models::Preset;
use wrong_labels::parallel::Alone;
use wrong_labels::report::{Quiet, RunError};

fn small_config() -> IlyasConfig {
    let defaults = IlyasConfig::default();
    IlyasConfig {
        training: Training { teacher_epochs: 1, student_epochs: 3, control_epochs: 1, ..defaults.training },
        preset: Preset::Small,
        epsilons: vec![3.0],
        steps: 10,
        mnist_train_limit: Some(6_000),
        attack_limit: Some(1_000),
        mnist_test_limit: Some(1_000),
        ..defaults
    }
}

#[test]
fn attacks_move_images_to_their_targets_within_the_ball() {
    let config = small_config();
    let (mnist, _) = common::splits();
    let report = pollster::block_on(ilyas::run(mnist, &config, &Device::flex(), &mut Alone, &mut Quiet)).unwrap();
    println!("{}", serde_json::to_string(&report.sets.iter().map(|s| (s.attack_success, s.mean_l2, s.student.model.test_accuracy)).collect::<Vec<_>>()).unwrap());
    println!("teacher {} control {}", report.teacher.test_accuracy, report.control.test_accuracy);

    assert!(report.teacher.test_accuracy > 0.8, "teacher {}", report.teacher.test_accuracy);
    assert_eq!(report.sets.iter().map(|s| s.targets).collect::<Vec<_>>(), [Targets::Rand, Targets::Det]);
    for set in &report.sets {
        // No target is the image's class, so on the clean images the teacher says it only where it
        // errs (a few %): most of the success is the attack's.
        assert!(set.attack_success > 0.3, "{:?} success {}", set.targets, set.attack_success);
        // Within the l2 ball (plus the 8-bit rounding of the stored pixels).
        assert!(set.mean_l2 <= 3.0 + 0.05 && set.mean_l2 > 1.0, "mean l2 {}", set.mean_l2);
        assert!(set.examples.iter().all(|e| e.target != e.class && e.pixels.len() == 784));
        assert_eq!(set.student.model.history.len(), 3);
        assert_eq!(set.student.confusion.iter().flatten().sum::<usize>(), 1_000);
        // The attack's confusion counts every attacked image once; its diagonal is the success.
        let attacked = set.attack_confusion.iter().flatten().sum::<usize>();
        let hit = (0..10).map(|t| set.attack_confusion[t][t]).sum::<usize>();
        assert_eq!(attacked, config.attack_limit.unwrap());
        assert_eq!(hit as f32 / attacked as f32, set.attack_success);
    }
    let det = &report.sets[1];
    assert!(det.examples.iter().all(|e| e.target == (e.class + 1) % 10));
    // The random-target student learns digits from labels that the images themselves do not carry.
    let rand = &report.sets[0];
    assert!(rand.student.model.test_accuracy > report.control.test_accuracy + 0.2, "D_rand {} control {}", rand.student.model.test_accuracy, report.control.test_accuracy);
}

#[test]
fn a_bad_attack_is_refused_before_training() {
    let (mnist, _) = common::splits();
    for config in [
        IlyasConfig { epsilons: vec![], ..small_config() },
        IlyasConfig { epsilons: vec![1.0, -1.0], ..small_config() },
        IlyasConfig { steps: 0, ..small_config() },
        IlyasConfig { step_size: Some(f32::NAN), norm: Norm::Linf, ..small_config() },
    ] {
        let result = pollster::block_on(ilyas::run(mnist, &config, &Device::flex(), &mut Alone, &mut Quiet));
        assert!(matches!(result, Err(RunError::Config(_))), "{config:?}");
    }
}
