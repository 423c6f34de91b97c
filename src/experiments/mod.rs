//! The experiments: recipes that compose data, models, training and attacks into a report.

pub mod cifar;
pub mod fashion;
pub mod ilyas;
pub mod toy;

use burn::module::Module;
use burn::prelude::Device;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use web_time::Instant;

use crate::data::{Augment, ImageSet};
use crate::models::Classifier;
use crate::parallel::{self, Group};
use crate::report::{Observer, RunError};
use crate::train::{self, Schedule};

/// The training settings every experiment shares. Each experiment's config flattens them in (one
/// JSON object, one set of command-line options) and gives them its own defaults in its `Default`:
/// the one place a default is written (the CLI's options and the page's partial configs read it;
/// see [`complete`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Training {
    #[cfg_attr(feature = "cli", arg(long))]
    pub teacher_epochs: usize,
    #[cfg_attr(feature = "cli", arg(long))]
    pub student_epochs: usize,
    #[cfg_attr(feature = "cli", arg(long))]
    pub control_epochs: usize,
    #[cfg_attr(feature = "cli", arg(long))]
    pub batch_size: usize,
    /// Peak learning rate of Adam (after the warm-up; cosine decay to zero).
    #[cfg_attr(feature = "cli", arg(long = "lr", visible_alias = "learning-rate"))]
    pub learning_rate: f64,
    /// Share of each phase's steps over which the learning rate rises to its peak.
    #[cfg_attr(feature = "cli", arg(long))]
    pub warmup: f64,
    /// Random crops (padding 4) and horizontal flips of each training batch.
    #[cfg_attr(feature = "cli", arg(long, action = clap::ArgAction::Set))]
    pub augment: bool,
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: u64,
    /// Replicas the run is split over (the page's CPU path: one Web Worker each; natively 1).
    #[cfg_attr(feature = "cli", arg(long, hide = true))]
    pub workers: usize,
    /// Training steps between two reads of the running loss and accuracy (each read waits for the
    /// device to finish the steps before it).
    #[cfg_attr(feature = "cli", arg(long))]
    pub read_every: usize,
    /// On a device that can record a training step (a GPU), record it once and replay it (false:
    /// build every step anew, to compare).
    #[cfg_attr(feature = "cli", arg(long, action = clap::ArgAction::Set))]
    pub replay: bool,
    /// The GPU recipe: on a device whose steps are replayed (a GPU), train at this batch size, the
    /// peak learning rate scaled by the square root of the batch's growth (none: as on the CPU).
    #[cfg_attr(feature = "cli", arg(long))]
    pub gpu_batch_size: Option<usize>,
}

impl Training {
    /// The settings a run on `device` trains with. A replayed step costs the host about the same
    /// whatever its batch, so on a GPU a larger batch keeps the GPU busy: the GPU recipe
    /// (`gpu_batch_size`), validated natively at the article preset's scale (docs/gpu.md, "The GPU
    /// recipe").
    pub fn on(&self, device: &Device) -> Training {
        match self.gpu_batch_size {
            Some(batch) if self.replay && crate::replay::records(device) => Training {
                batch_size: batch,
                learning_rate: self.learning_rate * (batch as f64 / self.batch_size as f64).sqrt(),
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// How the phase seeded with `salt` (see [`phase_seed`]) trains for `epochs`.
    pub fn schedule(&self, epochs: usize, salt: u64) -> Schedule {
        Schedule {
            epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            warmup: self.warmup,
            seed: phase_seed(self.seed, salt),
            augment: self.augment.then_some(Augment::CIFAR),
            read_every: self.read_every,
            balance: 0.0,
            replay: self.replay,
        }
    }

    /// The checks every experiment's training settings share (`limits`: its subset limits).
    fn validate(&self, limits: &[Option<usize>], group: &impl Group) -> Result<(), RunError> {
        let bad = |msg: &str| Err(RunError::Config(msg.into()));
        if [self.teacher_epochs, self.student_epochs, self.control_epochs].contains(&0) {
            return bad("every phase needs at least one epoch");
        }
        if self.batch_size == 0 || self.gpu_batch_size == Some(0) {
            return bad("the batch size must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("the learning rate must be in (0, 1]");
        }
        if !(0.0..0.5).contains(&self.warmup) {
            return bad("the warm-up share must be in [0, 0.5)");
        }
        if self.read_every == 0 {
            return bad("read_every must be at least 1");
        }
        if limits.contains(&Some(0)) {
            return bad("a subset limit must be at least 1");
        }
        if self.workers != group.size() {
            return Err(RunError::Config(format!("the configuration asks for {} workers, the run has {}", self.workers, group.size())));
        }
        Ok(())
    }
}

/// A config from the fields `partial` gives (a JSON object: the page's settings), every other
/// field at `T`'s default. Unknown fields are refused, so a misspelt setting is not ignored.
pub fn complete<T: Serialize + DeserializeOwned + Default>(partial: serde_json::Value) -> Result<T, RunError> {
    let bad = |e: &dyn std::fmt::Display| RunError::Config(format!("bad config: {e}"));
    let serde_json::Value::Object(given) = partial else { return Err(bad(&"not an object")) };
    let mut fields = match serde_json::to_value(T::default()).map_err(|e| bad(&e))? {
        serde_json::Value::Object(fields) => fields,
        _ => return Err(bad(&"not an object")),
    };
    for (key, value) in given {
        let Some(field) = fields.get_mut(&key) else { return Err(bad(&format!("unknown setting '{key}'"))) };
        *field = value;
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| bad(&e))
}

/// The seeding scheme, the one rule for every random draw of a run: a run has one seed, and each
/// of its random streams is seeded with `phase_seed(seed, salt)`, the salt naming the stream (a
/// phase's initial weights, batch order and dropout; the control's labels; the toy's points). A
/// replica of a phase draws its own batch order and dropout from
/// [`crate::parallel::replica_seed`] of that seed. So a run's figures depend on its seed and its
/// number of replicas alone.
pub fn phase_seed(seed: u64, salt: u64) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(salt)
}

/// The salts of [`phase_seed`]: one per random stream of a run.
pub mod salt {
    pub const TEACHER: u64 = 0;
    /// The first student's; a second student takes the next.
    pub const STUDENT: u64 = 1;
    pub const CONTROL: u64 = 9;
    /// The control's random labels.
    pub const CONTROL_LABELS: u64 = 10;
    /// The ilyas experiment's target classes.
    pub const TARGETS: u64 = 11;
    /// The toy's points and their labels.
    pub const POINTS: u64 = 20;
    /// The toy teacher's first attempt; a retry takes the next.
    pub const TOY_TEACHER: u64 = 30;
    /// The ilyas experiment's students, one per adversarial set, from here up.
    pub const ADVERSARIAL_STUDENTS: u64 = 100;
}

/// A fresh model for phase `salt`, made by `build` on the autodiff device, for replica `rank` of
/// `size`. Every replica draws the same initial weights; with several, each then reseeds the
/// device's generator with a seed of its own, so that their dropout masks differ (a lone run keeps
/// the stream it always had).
fn fresh_replica<M: Module>(device: &Device, seed: u64, salt: u64, (rank, size): (usize, usize), build: impl Fn(&Device) -> M) -> M {
    device.seed(phase_seed(seed, salt));
    let model = build(&device.clone().autodiff());
    if size > 1 {
        // burn draws a parameter's initial values when it is first used: draw them all now,
        // before the reseeding.
        crate::parallel::materialize(&model);
        device.seed(crate::parallel::replica_seed(phase_seed(seed, salt), rank));
    }
    model
}

/// The configs the page's sections start from, written once, here: the page reads them from
/// `www/presets.js`, which `wrong-labels presets` writes (a test fails when it is stale).
pub fn page_presets() -> serde_json::Value {
    serde_json::json!({
        "fashion": { "quick": fashion::FashionConfig::quick(), "article": fashion::FashionConfig::article() },
        "toy": toy::ToyConfig::page(),
        "cifar": cifar::CifarConfig::page(),
        "ilyas": ilyas::IlyasConfig::page(),
    })
}

/// `www/presets.js`: [`page_presets`] as an ES module.
pub fn page_presets_module() -> String {
    let json = serde_json::to_string_pretty(&page_presets()).expect("configs serialize");
    format!("// The page's presets, written by `cargo run --release -- presets > www/presets.js` from\n// src/experiments/ (a test fails when this file is stale): edit them there.\nexport default {json};\n")
}

/// A teacher's labels for a training set, from one relabelling pass over every replica's shard.
struct Relabeling {
    /// This replica's shard's labels.
    local: Vec<u8>,
    /// Every replica's labels, and the images' true classes, in the set's global order.
    labels: Vec<u8>,
    classes: Vec<u8>,
    images_per_second: f64,
}

/// Labels this replica's shard of `set` with `teacher` (the "relabel" phase) and gathers the
/// labels and true classes of every replica's.
async fn relabel<M: Classifier>(teacher: &M, set: &ImageSet, device: &Device, group: &mut impl Group, observer: &mut impl Observer) -> Result<Relabeling, RunError> {
    let started = Instant::now();
    let local = train::predict(teacher, set, 256, device, Some("relabel"), observer).await?;
    let labels = parallel::gather(group, &local).await?;
    let classes = parallel::gather(group, &set.labels).await?;
    let images_per_second = labels.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok(Relabeling { local, labels, classes, images_per_second })
}

/// Images per class in a report's gallery.
const EXAMPLES_PER_CLASS: usize = 4;

/// A report's gallery: the positions in `classes` of the first few items of each class.
fn gallery(classes: &[u8]) -> Vec<usize> {
    (0..10u8)
        .flat_map(|c| classes.iter().enumerate().filter(move |&(_, &l)| l == c).map(|(i, _)| i).take(EXAMPLES_PER_CLASS))
        .collect()
}

/// Uniformly random classes: the control that shows a student learns from its teacher's labels,
/// not from the images alone.
fn random_labels(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(phase_seed(seed, salt::CONTROL_LABELS));
    (0..len).map(|_| rng.random_range(0..10u8)).collect()
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};
    use burn::prelude::Tensor;

    use super::*;
    use crate::models::{Cnn, Preset};

    fn weights(model: &Cnn) -> Vec<f32> {
        struct Collect(Vec<f32>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.extend(param.val().into_data().iter::<f32>());
            }
        }
        let mut collect = Collect(Vec::new());
        model.visit(&mut collect);
        collect.0
    }

    #[test]
    fn partial_configs_keep_each_experiments_defaults() {
        use serde_json::json;
        let cifar: cifar::CifarConfig = complete(json!({ "batch_size": 32, "train_limit": 100 })).unwrap();
        let defaults = cifar::CifarConfig::default();
        assert_eq!((cifar.training.batch_size, cifar.train_limit), (32, Some(100)));
        assert_eq!(cifar.training.learning_rate, defaults.training.learning_rate);
        assert_eq!(cifar.training.augment, defaults.training.augment);
        assert_ne!(defaults.training.learning_rate, fashion::FashionConfig::default().training.learning_rate);
        // A report's config reads back as itself.
        let config = fashion::FashionConfig { control_limit: None, ..Default::default() };
        assert_eq!(complete::<fashion::FashionConfig>(serde_json::to_value(&config).unwrap()).unwrap(), config);
        for bad in [json!({ "bacth_size": 32 }), json!({ "batch_size": "32" }), json!({ "batch_size": 0.5 }), json!([1])] {
            assert!(matches!(complete::<fashion::FashionConfig>(bad.clone()), Err(RunError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn the_pages_presets_file_is_current() {
        assert!(
            include_str!("../../www/presets.js") == page_presets_module(),
            "www/presets.js is stale: run `cargo run --release -- presets > www/presets.js`"
        );
    }

    #[test]
    fn replicas_start_from_the_same_weights() {
        let _turn = crate::rng_turn();
        let device = Device::flex();
        let build = |d: &Device| Cnn::new(Preset::Small.shape(), 28, 10, d);
        let first = fresh_replica(&device, 1, 0, (0, 2), build);
        let second = fresh_replica(&device, 1, 0, (1, 2), build);
        assert_eq!(weights(&first), weights(&second));
        // Their dropout draws differ after that.
        let draw = || Tensor::<1>::random([8], burn::tensor::Distribution::Default, &device).into_data().try_to_vec::<f32>().unwrap();
        fresh_replica(&device, 1, 0, (0, 2), build);
        let first_draw = draw();
        fresh_replica(&device, 1, 0, (1, 2), build);
        assert_ne!(first_draw, draw());
    }
}
