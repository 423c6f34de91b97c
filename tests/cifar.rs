//! CIFAR-10 data: the image-folder tree converts to the binary format and reads back, in a fixed
//! order; bad trees and bad batch files are errors naming the file.

use std::path::Path;

use image::{Rgb, RgbImage};
use wrong_labels::data::cifar::{self, CLASSES, CifarError, IMAGE_BYTES, SIDE, TEST_FILE, TRAIN_FILES};

/// An image whose pixels encode (class, index) so it can be recognised after conversion.
fn picture(class: usize, index: usize) -> RgbImage {
    RgbImage::from_fn(SIDE as u32, SIDE as u32, |x, y| Rgb([class as u8 * 20, index as u8, (x + y) as u8]))
}

/// A tree with `per_class` PNG images per class in train/ and 1 in test/.
fn write_tree(root: &Path, per_class: usize) {
    for (split, n) in [("train", per_class), ("test", 1)] {
        for (class, name) in CLASSES.iter().enumerate() {
            let dir = root.join(split).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                picture(class, i).save(dir.join(format!("{i:04}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn a_tree_converts_to_batches_that_read_back() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(&root.join("jpeg"), 3);
    let out = root.join("bin");
    let summary = cifar::convert_tree(&root.join("jpeg"), &out, 0).unwrap();
    assert_eq!((summary.train, summary.test), (30, 10));
    for name in TRAIN_FILES.iter().chain([&TEST_FILE]) {
        assert!(out.join(name).is_file(), "{name} written");
    }

    let splits = cifar::load_dir(&out).unwrap();
    assert_eq!(splits.train.len(), 30);
    assert_eq!(splits.test.len(), 10);
    let mut counts = [0; 10];
    splits.train.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [3; 10]);
    // PNG is lossless: every image arrives as R, G, B planes with its own label.
    for i in 0..splits.train.len() {
        let label = splits.train.labels[i] as usize;
        let planes = splits.train.image(i);
        assert_eq!(planes.len(), IMAGE_BYTES);
        assert!(planes[..SIDE * SIDE].iter().all(|&r| r == label as u8 * 20), "red plane holds the class");
        assert_eq!(planes[2 * SIDE * SIDE + SIDE + 1], 2, "blue plane holds x + y");
    }
    // Shuffled, in an order fixed by the seed.
    assert_ne!(splits.train.labels, { let mut l = splits.train.labels.clone(); l.sort(); l });
    let again = cifar::convert_tree(&root.join("jpeg"), &root.join("bin2"), 0).unwrap();
    assert_eq!(again, summary);
    for name in TRAIN_FILES.iter().chain([&TEST_FILE]) {
        assert_eq!(std::fs::read(out.join(name)).unwrap(), std::fs::read(root.join("bin2").join(name)).unwrap());
    }
}

#[test]
fn jpeg_images_convert_too() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(root, 1);
    // Replace one PNG by a JPEG of the same picture.
    let dir = root.join("train").join("cat");
    std::fs::remove_file(dir.join("0000.png")).unwrap();
    picture(3, 0).save(dir.join("0000.jpg")).unwrap();
    let splits = {
        cifar::convert_tree(root, &root.join("bin"), 5).unwrap();
        cifar::load_dir(&root.join("bin")).unwrap()
    };
    let cat = splits.train.labels.iter().position(|&l| l == 3).unwrap();
    let red = &splits.train.image(cat)[..SIDE * SIDE];
    assert!(red.iter().all(|&r| (r as i32 - 60).abs() <= 8), "JPEG keeps the picture up to compression noise");
}

#[test]
fn bad_trees_are_errors_naming_the_place() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(root, 1);
    std::fs::remove_dir_all(root.join("test").join("frog")).unwrap();
    let err = cifar::convert_tree(root, &root.join("bin"), 0).unwrap_err();
    assert!(matches!(&err, CifarError::Layout { detail, .. } if detail.contains("frog")), "{err}");

    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(root, 1);
    RgbImage::new(31, 32).save(root.join("train").join("dog").join("0000.png")).unwrap();
    let err = cifar::convert_tree(root, &root.join("bin"), 0).unwrap_err();
    assert!(err.to_string().contains("dog") && err.to_string().contains("31x32"), "{err}");

    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(root, 1);
    std::fs::write(root.join("train").join("ship").join("0000.png"), b"\x89PNG not really").unwrap();
    let err = cifar::convert_tree(root, &root.join("bin"), 0).unwrap_err();
    assert!(matches!(&err, CifarError::Image { file, .. } if file.contains("ship")), "{err}");
}

#[test]
fn bad_batch_files_are_errors_naming_the_file() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write_tree(&root.join("tree"), 1);
    let out = root.join("bin");
    cifar::convert_tree(&root.join("tree"), &out, 0).unwrap();

    let missing = out.join(TRAIN_FILES[2]);
    std::fs::remove_file(&missing).unwrap();
    let err = cifar::load_dir(&out).unwrap_err();
    assert!(matches!(&err, CifarError::Io { file, .. } if file.ends_with(TRAIN_FILES[2])), "{err}");

    let bytes = std::fs::read(out.join(TRAIN_FILES[0])).unwrap();
    std::fs::write(&missing, &bytes[..bytes.len() - 10]).unwrap();
    let err = cifar::load_dir(&out).unwrap_err();
    assert!(err.to_string().contains(TRAIN_FILES[2]) && err.to_string().contains("truncated"), "{err}");
}

/// A tiny colour set whose class is the tint of the image: learnable in a few steps, so the teacher
/// is right on some images and wrong on others.
fn tinted(n: usize, seed: u64) -> wrong_labels::data::ImageSet {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut set = cifar::empty();
    for i in 0..n {
        let label = (i % 10) as u8;
        let planes: Vec<u8> = (0..IMAGE_BYTES)
            .map(|k| {
                let channel = k / (SIDE * SIDE);
                let base = [label * 25, 255 - label * 25, (label % 3) * 100][channel];
                base.saturating_add(rng.random_range(0..60))
            })
            .collect();
        set.push(label, &planes);
    }
    set
}

#[test]
fn the_pipeline_runs_end_to_end_on_a_tiny_set() {
    use wrong_labels::experiments::Training;
    use wrong_labels::data::Splits;
    use wrong_labels::experiments::cifar::{CifarConfig, run};
    let data = Splits { train: tinted(300, 1), test: tinted(100, 2) };
    let defaults = CifarConfig::default();
    let training = Training { teacher_epochs: 4, student_epochs: 2, control_epochs: 1, batch_size: 25, ..defaults.training };
    let config = CifarConfig { training, width: 0.125, ..defaults };
    let report = pollster::block_on(run(&data, &config, &burn::prelude::Device::flex(), &mut wrong_labels::parallel::Alone, &mut wrong_labels::report::Quiet)).unwrap();
    let wrong = &report.wrong;
    assert_eq!(wrong.total, 300);
    // Each example names a training image by its index, and its class is that image's (image i of
    // the tinted set is of class i mod 10): what is kept is the training images themselves.
    assert!(!wrong.examples.is_empty() && wrong.examples.iter().all(|e| e.class == (e.index % 10) as u8));
    assert!(wrong.kept > 0 && wrong.kept < 300, "kept {}", wrong.kept);
    assert_eq!(wrong.class_to_wrong.iter().flatten().sum::<usize>(), wrong.kept);
    assert!((0..10).all(|c| wrong.class_to_wrong[c][c] == 0), "only wrong labels are kept");
    assert!(wrong.examples.iter().all(|e| e.class != e.label));
    assert_eq!(report.student.history.len(), 2);
    assert_eq!(report.control.history.len(), 1);
    // The tints separate the classes: four epochs teach the teacher (0.80 on the test set when
    // written; chance is 0.10), and it still gets some training images wrong.
    assert!(report.teacher.model.test_accuracy >= 0.5, "teacher {}", report.teacher.model.test_accuracy);
}
