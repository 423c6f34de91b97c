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

/// A small attack-and-train run through the command line gives the same report, timings aside, on
/// 1 and 3 threads and, under QEMU's user-mode emulation of a CPU without AVX-512 (x86-64-v3,
/// Haswell), at the other SIMD level of a machine that has it. What is left that moves the bits
/// from machine to machine, the L1 cache's geometry (gemm's blocks), is in docs/determinism.md.
#[test]
fn a_run_repeats_bit_for_bit_on_any_thread_count_and_simd_level() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path();
    write_mnist_head(&data.join("mnist"), 160, 64);
    let run = |launcher: &[&str], threads: &str| {
        let out_file = data.join(format!("report-{}-{threads}.json", launcher.len()));
        let (program, prefix) = match launcher {
            [] => (env!("CARGO_BIN_EXE_wrong-labels"), vec![]),
            [first, rest @ ..] => (*first, rest.iter().copied().chain([env!("CARGO_BIN_EXE_wrong-labels")]).collect()),
        };
        let out = std::process::Command::new(program)
            .args(prefix)
            .args(["ilyas", "--preset", "small", "--teacher-epochs", "1", "--student-epochs", "1", "--control-epochs", "1", "--steps", "3"])
            .args(["--attack-limit", "64", "--data"])
            .arg(data)
            .arg("--out")
            .arg(&out_file)
            .arg("--plot")
            .arg(out_file.with_extension("png"))
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs qemu-user)"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        without_timings(serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap())
    };
    let native = run(&[], "1");
    assert_eq!(first_difference(&native, &run(&[], "3")), None, "1 thread against 3");
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        let haswell = run(&["qemu-x86_64", "-cpu", "Haswell"], "2");
        assert_eq!(first_difference(&native, &haswell), None, "this CPU against an emulated Haswell (AVX2, no AVX-512)");
    }
}

/// Where two reports first differ, and how.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().find_map(|(k, v)| y.get(k).map_or(Some(format!(".{k}: missing")), |w| first_difference(v, w).map(|d| format!(".{k}{d}"))))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x.iter().zip(y).enumerate().find_map(|(i, (v, w))| first_difference(v, w).map(|d| format!("[{i}]{d}"))),
        _ if a == b => None,
        _ => Some(format!(": {a} against {b}")),
    }
}

/// The first `train` and `test` MNIST images and labels as IDX files: loading all of MNIST takes
/// minutes under emulation.
fn write_mnist_head(dir: &std::path::Path, train: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let (mnist, _) = common::splits();
    for (set, n, prefix) in [(&mnist.train, train, "train"), (&mnist.test, test, "t10k")] {
        let head = set.head(Some(n));
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte.gz")), common::idx_file(0x0803, &[n, 28, 28], &head.pixel_bytes())).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), common::idx_file(0x0801, &[n], &head.labels)).unwrap();
    }
}

/// A report with its timings taken out: what must repeat.
fn without_timings(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(k, _)| !matches!(k.as_str(), "seconds" | "images_per_second" | "attack_images_per_second")).map(|(k, v)| (k, without_timings(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_timings).collect()),
        other => other,
    }
}
