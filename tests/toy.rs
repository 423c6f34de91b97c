//! The 2-D toy experiment, on a few seeds.

use burn::prelude::Device;
use wrong_labels::experiments::toy::{self, ToyConfig};
use wrong_labels::report::Quiet;

#[test]
fn a_student_of_adversarial_wrong_labels_gets_most_originals_right() {
    let config = ToyConfig { runs: 12, ..Default::default() };
    let report = pollster::block_on(toy::run(&config, &Device::flex(), &mut Quiet)).unwrap();
    println!("correct {:?} kept {:?}", report.correct, report.kept);
    assert!(report.teacher_correct.iter().all(|&c| c == 32), "teacher must fit all points: {:?}", report.teacher_correct);
    assert!(report.kept.iter().all(|&k| k > 0 && k <= 32));
    assert!(report.mean_correct > 18.0, "student mean {} (chance is 16)", report.mean_correct);
    assert_eq!(report.example.teacher_grid.len(), config.grid * config.grid);
    // Every kept adversarial point lies in its ε-box and in the unit square.
    let run = &report.example;
    for (p, a) in run.points.iter().zip(&run.adversarial) {
        for d in 0..2 {
            assert!((p[d] - a[d]).abs() <= config.epsilon + 1e-5 && (0.0..=1.0).contains(&a[d]));
        }
    }
}

#[test]
fn settings_the_toy_cannot_run_are_refused_naming_them() {
    use wrong_labels::report::RunError;
    let bad = [
        ("depth", ToyConfig { depth: 0, ..Default::default() }),
        ("grid", ToyConfig { grid: 100_000, ..Default::default() }),
        ("points", ToyConfig { points: 10_000_000, ..Default::default() }),
        ("runs", ToyConfig { runs: 1001, ..Default::default() }),
        ("epsilon", ToyConfig { epsilon: f32::NAN, ..Default::default() }),
    ];
    for (name, config) in bad {
        match pollster::block_on(toy::run(&config, &Device::flex(), &mut Quiet)) {
            Err(RunError::Config(message)) => assert!(message.contains(name), "{message}"),
            other => panic!("{name}: {:?}", other.map(|r| r.runs)),
        }
    }
}
