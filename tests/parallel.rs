//! Data parallelism (src/parallel.rs) with replicas in threads: the gradient they average is the
//! whole batch's, and replicas that train on their shards stay identical and report the same figures.

mod common;

use std::sync::{Arc, Barrier, Mutex};

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use wrong_labels::models::{Cnn, Mlp, Preset};
use wrong_labels::parallel::{self, Group};
use wrong_labels::report::{Quiet, RunError};
use wrong_labels::train::{self, READ_EVERY, Schedule};

/// The backend's random generator (initialization, dropout) is one per process: the tests that
/// draw from it take turns, or one would see the other's draws.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Replicas as threads of one process: each writes its values into a slot, and after a barrier
/// every one combines all slots in rank order, as the page's workers do.
struct Threads {
    rank: usize,
    size: usize,
    shared: Arc<(Mutex<Vec<Vec<f64>>>, Barrier)>,
}

impl Threads {
    fn group(size: usize) -> Vec<Threads> {
        let shared = Arc::new((Mutex::new(vec![Vec::new(); size]), Barrier::new(size)));
        (0..size).map(|rank| Threads { rank, size, shared: shared.clone() }).collect()
    }

    /// Every replica's values, in rank order.
    fn gather(&self, values: Vec<f64>) -> Vec<Vec<f64>> {
        let (slots, barrier) = &*self.shared;
        slots.lock().unwrap()[self.rank] = values;
        barrier.wait();
        let all = slots.lock().unwrap().clone();
        barrier.wait();
        all
    }
}

impl Group for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError> {
        let all = self.gather(values);
        Ok(parallel::add(&all.iter().map(|v| &v[..]).collect::<Vec<_>>()))
    }
    async fn mean(&mut self, values: Vec<f32>, weight: f32) -> Result<Vec<f32>, RunError> {
        let mut mine: Vec<f64> = values.into_iter().map(f64::from).collect();
        mine.push(weight as f64);
        let all: Vec<Vec<f32>> = self.gather(mine).into_iter().map(|v| v.into_iter().map(|x| x as f32).collect()).collect();
        let weights: Vec<f32> = all.iter().map(|v| v[v.len() - 1]).collect();
        Ok(parallel::weighted_mean(all.into_iter().map(|mut v| { v.pop(); v }).collect(), &weights))
    }
}

/// The values of every float parameter of `model` (or, with `grads`, of its gradient), in order.
fn flat<M: Module>(model: &M, grads: Option<&GradientsParams>) -> Vec<f32> {
    struct Collect<'a>(Option<&'a GradientsParams>, Vec<f32>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = match self.0 {
                Some(grads) => grads.get::<D>(param.id).expect("a gradient for every parameter"),
                None => param.val(),
            };
            self.1.extend(tensor.into_data().iter::<f32>());
        }
    }
    let mut collect = Collect(grads, Vec::new());
    model.visit(&mut collect);
    collect.1
}

#[test]
fn replicas_average_to_the_whole_batchs_gradient() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let grad_device = device.clone().autodiff();
    let model = Mlp::new(16, 2, &grad_device);
    let points = Tensor::<2>::random([8, 2], Distribution::Default, &grad_device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 1, 0, 1, 0, 0, 1], [8]), &grad_device);
    let loss_fn = CrossEntropyLossConfig::new().init(&grad_device);
    let grads_of = |model: &Mlp, rows: std::ops::Range<usize>| {
        let loss = loss_fn.forward(model.forward(points.clone().slice(rows.clone())), labels.clone().slice(rows));
        GradientsParams::from_grads(loss.backward(), model)
    };
    let whole = flat(&model, Some(&grads_of(&model, 0..8)));

    // Unequal shares (5 and 3 images): each replica's mean gradient weighs by its images.
    let averaged: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = Threads::group(2)
            .into_iter()
            .zip([0..5, 5..8])
            .map(|(mut group, rows)| {
                let (model, device, grads) = (model.clone(), device.clone(), grads_of(&model, rows.clone()));
                scope.spawn(move || {
                    let grads = pollster::block_on(parallel::average_gradients(&model, grads, rows.len(), &device, &mut group)).unwrap();
                    flat(&model, Some(&grads))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(averaged[0], averaged[1], "every replica receives the same gradient");
    assert_eq!(averaged[0].len(), whole.len());
    for (a, w) in averaged[0].iter().zip(&whole) {
        assert!((a - w).abs() < 1e-5, "averaged {a} vs whole batch {w}");
    }
}

#[test]
fn replicas_training_on_shards_stay_identical_and_learn() {
    // Two replicas, as on this machine; three, four and eight, as on laptops with more cores.
    for size in [2, 3, 4, 8] {
        replicas_stay_identical(size);
    }
}

fn replicas_stay_identical(size: usize) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mnist, _) = common::splits();
    let (train_set, test_set) = (mnist.train.head(Some(2_000)), mnist.test.head(Some(500)));
    let device = Device::flex();
    device.seed(5);
    let model = Cnn::new(Preset::Small.shape(), 28, 10, &device.clone().autodiff());
    let schedule = Schedule { epochs: 2, batch_size: 64, learning_rate: 3e-3, warmup: 0.05, seed: 5, augment: None, read_every: READ_EVERY, balance: 0.0, replay: false };

    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = Threads::group(size)
            .into_iter()
            .map(|mut group| {
                let (model, device) = (model.clone(), device.clone());
                let (train_shard, test_shard) = (parallel::shard(&train_set, group.rank, size), parallel::shard(&test_set, group.rank, size));
                scope.spawn(move || {
                    let trained = pollster::block_on(train::train(model, &train_shard, Some(&test_shard), &schedule, "teacher", &device, &mut group, &mut Quiet)).unwrap();
                    (flat(&trained.model, None), trained.history, trained.test_predictions)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (weights, history, predictions) = &results[0];
    let figures = |h: &[wrong_labels::report::EpochRecord]| h.iter().map(|r| (r.train_loss, r.train_accuracy, r.test_accuracy)).collect::<Vec<_>>();
    for (rank, (w, h, p)) in results.iter().enumerate().skip(1) {
        assert_eq!(weights, w, "{size} replicas: replica {rank}'s weights are replica 0's");
        assert_eq!(figures(history), figures(h), "{size} replicas: replica {rank} reports the same figures");
        assert_eq!(predictions, p);
    }
    // The figures cover every shard: every test image is predicted once.
    assert_eq!(predictions.len(), 500);
    let accuracy = history.last().unwrap().test_accuracy.unwrap();
    assert_eq!(accuracy, train::accuracy(predictions, &test_set.labels));
    assert!(accuracy > 0.7, "a teacher trained on {size} shards of 2,000 digits: {accuracy}");
}

/// Replica 0 of two whose twin holds the same data and computes the same: every sum is twice
/// the values, every mean the values themselves. Training with it must equal training alone at half the batch, bit for bit.
struct Twin;

impl Group for Twin {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        2
    }
    async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError> {
        Ok(values.into_iter().map(|v| v * 2.0).collect())
    }
    async fn mean(&mut self, values: Vec<f32>, _weight: f32) -> Result<Vec<f32>, RunError> {
        Ok(values)
    }
}

#[test]
fn a_replica_with_an_identical_twin_trains_exactly_as_one_alone_at_half_the_batch() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mnist, _) = common::splits();
    let (train_set, test_set) = (mnist.train.head(Some(640)), mnist.test.head(Some(200)));
    let device = Device::flex();
    let run = |batch_size: usize, twin: bool| {
        device.seed(3);
        let model = Cnn::new(Preset::Small.shape(), 28, 10, &device.clone().autodiff());
        // Balanced: the twin's label counts must enter the loss's weights as the group's sums.
        let schedule = Schedule { epochs: 1, batch_size, learning_rate: 3e-3, warmup: 0.05, seed: 3, augment: None, read_every: READ_EVERY, balance: 0.5, replay: false };
        let trained = if twin {
            pollster::block_on(train::train(model, &train_set, Some(&test_set), &schedule, "t", &device, &mut Twin, &mut Quiet))
        } else {
            pollster::block_on(train::train(model, &train_set, Some(&test_set), &schedule, "t", &device, &mut parallel::Alone, &mut Quiet))
        };
        flat(&trained.unwrap().model, None)
    };
    let (twin, alone) = (run(64, true), run(32, false));
    let differing = twin.iter().zip(&alone).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "weights that differ, of {}", alone.len());
}
