//! The command line on corrupt data: one line naming the file, a non-zero exit, no panic.

mod common;

use std::path::Path;

use common::{gzip, idx_file};
use std::process::Command;

const FILES: [&str; 4] = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

fn images(count: usize, side: usize, pixels: usize) -> Vec<u8> {
    idx_file(0x0803, &[count, side, side], &vec![7; pixels])
}

fn labels(count: usize) -> Vec<u8> {
    idx_file(0x0801, &[count], &(0..count).map(|i| (i % 10) as u8).collect::<Vec<_>>())
}

/// A data folder of tiny valid files, with `file` of `set` replaced by `bad`.
fn data_with(root: &Path, set: &str, file: &str, bad: Vec<u8>) {
    for dir in ["mnist", "fashion-mnist"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        let good = [images(4, 28, 4 * 784), labels(4), images(2, 28, 2 * 784), labels(2)];
        for (name, bytes) in FILES.iter().zip(good) {
            std::fs::write(root.join(dir).join(name), bytes).unwrap();
        }
    }
    std::fs::write(root.join(set).join(file), bad).unwrap();
}

#[test]
fn every_corrupt_input_gives_a_one_line_error_naming_the_file() {
    let truncated_gzip = {
        let mut g = images(4, 28, 4 * 784);
        g.truncate(g.len() / 2);
        g
    };
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("mnist", FILES[0], Vec::new(), "empty"),
        ("mnist", FILES[0], b"plain text, not gzip".to_vec(), "not a gzip file"),
        ("mnist", FILES[0], truncated_gzip, "not a gzip file"),
        ("fashion-mnist", FILES[0], labels(4), "wrong magic"),
        ("mnist", FILES[2], images(3, 28, 784), "truncated"),
        ("mnist", FILES[0], images(4, 0, 0), "absurd dimensions"),
        ("mnist", FILES[1], labels(5), "holds 4 images but"),
        ("fashion-mnist", FILES[3], gzip(&[0, 0, 8, 1, 0, 0, 0, 1, 42]), "out of range"),
    ];
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    for (set, file, bytes, expected) in cases {
        let _ = std::fs::remove_dir_all(&dir);
        data_with(&dir, set, file, bytes);
        let out = Command::new(env!("CARGO_BIN_EXE_wrong-labels"))
            .args(["fashion", "--data"])
            .arg(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{set}/{file}: exit code 0");
        assert!(!stderr.contains("panicked"), "{set}/{file}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{set}/{file}: {stderr}");
        assert!(stderr.contains(&format!("{set}/{file}")), "{set}/{file}: error does not name the file: {stderr}");
        assert!(stderr.to_lowercase().contains(expected), "{set}/{file}: expected '{expected}' in: {stderr}");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_wrong-labels")).args(["fashion", "--data", "/nonexistent"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("scripts/fetch-data"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn each_experiment_shows_its_own_defaults() {
    let help = |experiment: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wrong-labels")).args([experiment, "-h"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // An option's entry: its line and the description lines under it, up to the next option.
    let default_of = |help: &str, option: &str| {
        let mut lines = help.lines().map(str::trim_start).skip_while(|l| !l.starts_with(&format!("{option} ")));
        let first = lines.next().unwrap_or_else(|| panic!("no {option} in {help}"));
        let entry: Vec<&str> = std::iter::once(first).chain(lines.take_while(|l| !l.starts_with('-'))).collect();
        let entry = entry.join(" ");
        entry.split("[default: ").nth(1).map(|rest| rest[..rest.find(']').unwrap()].to_string())
    };
    let (fashion, cifar, toy) = (help("fashion"), help("cifar"), help("toy"));
    assert_eq!(default_of(&fashion, "--lr").as_deref(), Some("0.003"));
    assert_eq!(default_of(&cifar, "--lr").as_deref(), Some("0.001"));
    assert_eq!(default_of(&toy, "--lr").as_deref(), Some("0.01"));
    assert_eq!(default_of(&fashion, "--batch-size").as_deref(), Some("64"));
    assert_eq!(default_of(&cifar, "--batch-size").as_deref(), Some("128"));
    assert_eq!(default_of(&cifar, "--augment").as_deref(), Some("true"));
    assert_eq!(default_of(&fashion, "--preset").as_deref(), Some("classic"));
    assert_eq!(default_of(&toy, "--epsilon").as_deref(), Some("0.12"));
    assert_eq!(default_of(&fashion, "--mnist-train-limit"), None);
}

#[test]
fn seeds_repeat_a_run_and_report_each_figures_spread() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("report.json");
    let tiny = "--preset fast --teacher-epochs 1 --student-epochs 1 --mnist-train-limit 600 --fashion-train-limit 300 --mnist-test-limit 200 --control-limit 100";
    let status = Command::new(env!("CARGO_BIN_EXE_wrong-labels"))
        .args(["fashion", "--seeds", "2", "--seed", "5", "--data"])
        .arg(common::data_dir())
        .args(tiny.split(' '))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.iter().map(|r| r["config"]["seed"].as_u64().unwrap()).collect::<Vec<_>>(), [5, 6]);
    let teacher = &report["spreads"][0];
    assert_eq!(teacher["figure"], "teacher (%)");
    let values: Vec<f64> = runs.iter().map(|r| r["teacher"]["test_accuracy"].as_f64().unwrap() * 100.0).collect();
    for (got, want) in teacher["values"].as_array().unwrap().iter().zip(&values) {
        assert!((got.as_f64().unwrap() - want).abs() < 1e-3, "{got} vs {want}");
    }
    assert_ne!(values[0], values[1], "two seeds, two teachers");
    assert_eq!(report["spreads"].as_array().unwrap().len(), 4);
}

/// CIFAR-10's reader on the command line: the same one-line errors naming the file.
#[test]
fn every_corrupt_cifar_batch_gives_a_one_line_error_naming_the_file() {
    use wrong_labels::data::cifar::{RECORD_BYTES, TEST_FILE, TRAIN_FILES};
    let good = vec![3u8; 2 * RECORD_BYTES];
    let mut bad_label = good.clone();
    bad_label[RECORD_BYTES] = 10;
    let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
        (TRAIN_FILES[0], Some(Vec::new()), "empty"),
        (TRAIN_FILES[2], Some(good[..RECORD_BYTES + 100].to_vec()), "truncated"),
        (TEST_FILE, Some(bad_label), "label"),
        (TRAIN_FILES[4], None, TRAIN_FILES[4]),
    ];
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("cifar-10-batches-bin");
    for (file, bytes, expected) in cases {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in TRAIN_FILES.iter().chain([&TEST_FILE]) {
            std::fs::write(dir.join(name), &good).unwrap();
        }
        match bytes {
            Some(bytes) => std::fs::write(dir.join(file), bytes).unwrap(),
            None => std::fs::remove_file(dir.join(file)).unwrap(),
        }
        let out = Command::new(env!("CARGO_BIN_EXE_wrong-labels")).args(["cifar", "--data"]).arg(temp.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file}: exit code 0");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{file}: {stderr}");
        assert!(stderr.contains(file), "{file}: error does not name the file: {stderr}");
        assert!(stderr.to_lowercase().contains(expected), "{file}: expected '{expected}' in: {stderr}");
    }
}

#[test]
fn saved_models_score_under_eval_what_the_run_reported_and_a_damaged_file_is_one_line() {
    let temp = tempfile::tempdir().unwrap();
    let (models, report) = (temp.path().join("models"), temp.path().join("report.json"));
    let run = Command::new(env!("CARGO_BIN_EXE_wrong-labels"))
        .args(["fashion", "--preset", "fast", "--teacher-epochs", "1", "--student-epochs", "1", "--control-epochs", "1"])
        .args(["--mnist-train-limit", "2000", "--fashion-train-limit", "2000", "--mnist-test-limit", "500", "--control-limit", "500"])
        .arg("--data")
        .arg(common::data_dir())
        .arg("--save-models")
        .arg(&models)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let eval = |file: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_wrong-labels"))
            .args(["eval", "--mnist-test-limit", "500", "--data"])
            .arg(common::data_dir())
            .arg("--model")
            .arg(file)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let reported = [
        ("teacher", &report["teacher"]),
        ("student-raw", &report["students"][0]),
        ("student-standardize", &report["students"][1]),
        ("control", &report["control"]),
    ];
    for (name, model) in reported {
        let (ok, stdout, stderr) = eval(&models.join(format!("{name}.model")));
        assert!(ok, "{name}: {stderr}");
        let scored: f64 = stdout.split('%').next().and_then(|s| s.rsplit(' ').next()).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{stdout}"));
        let expected = model["test_accuracy"].as_f64().unwrap() * 100.0;
        assert!((scored - expected).abs() <= 0.1, "{name}: eval says {scored}%, the run {expected}%");
        assert!(stdout.contains("of the first 500 MNIST test digits"), "{stdout}");
    }

    let whole = std::fs::read(models.join("student-standardize.model")).unwrap();
    for (what, bytes, expected) in [("truncated", whole[..whole.len() - 100].to_vec(), "cut short"), ("foreign", b"{\"json\": 1}".to_vec(), "not a Wrong Labels model file")] {
        let file = temp.path().join(what);
        std::fs::write(&file, bytes).unwrap();
        let (ok, _, stderr) = eval(&file);
        assert!(!ok && !stderr.contains("panicked"), "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains(what), "{what}: {stderr}");
    }
}
