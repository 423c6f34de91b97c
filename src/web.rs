//! The wasm-bindgen surface the page's workers drive: translate JS ⇄ Rust, nothing else.
//!
//! Each worker owns one `Lab`. On the CPU path the page starts several, one replica each (see
//! [`crate::parallel`]): the first parses the downloaded files and hands the others their shards,
//! and during a run they exchange their values through the function their worker gives
//! [`Lab::join`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::prelude::Device;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::data::{ImageSet, Splits, cifar, drawing};
use crate::experiments;
use crate::experiments::cifar as cifar_experiment;
use crate::experiments::fashion::{self, FashionData};
use crate::experiments::ilyas;
#[cfg(feature = "cpu")]
use crate::experiments::toy;
use crate::parallel::{self, Group};
use crate::report::{Event, Observer, RunError};
use crate::trained::{Input, TrainedCnn};

/// The lab a worker owns: a device, this replica's shards of the datasets, and a cancel flag a
/// running experiment polls.
#[wasm_bindgen]
pub struct Lab {
    device: Rc<RefCell<Option<Device>>>,
    workers: Rc<RefCell<Workers>>,
    mnist: Rc<RefCell<Option<Rc<Splits>>>>,
    fashion: Rc<RefCell<Option<Rc<ImageSet>>>>,
    cifar: Rc<RefCell<Option<Rc<Splits>>>>,
    cancelled: Rc<Cell<bool>>,
    /// The models of the last run (the first worker's: the replicas hold the same), or loaded
    /// from files, for a visitor to try.
    models: Rc<RefCell<Vec<TrainedCnn>>>,
}

const NO_DEVICE: &str = "call init() first";

/// The backend this module was built for.
const MODULE: &str = if cfg!(feature = "cpu") { "the CPU" } else { "WebGPU" };

/// This worker's place among the run's workers; `gather(parts)` is its worker's JS function that
/// sends the concatenation of the typed arrays `parts` to every other worker and resolves to
/// theirs, in rank order (with nothing at this worker's place), valid until its next call; it
/// rejects with "cancelled" on a cancel.
#[derive(Clone)]
struct Workers {
    rank: usize,
    size: usize,
    gather: Option<Function>,
}

impl Workers {
    const ALONE: Workers = Workers { rank: 0, size: 1, gather: None };

    /// Every other worker's array, each checked to hold `len` values, by rank (`None` at this
    /// worker's place). `gather` copies `parts` before it returns, so they may view wasm memory.
    async fn gather<T: JsCast>(&self, parts: Array, len: usize) -> Result<Vec<Option<T>>, RunError> {
        let Some(gather) = &self.gather else { return Ok(Vec::new()) };
        let promise = gather.call1(&JsValue::NULL, &parts).map_err(|e| RunError::Workers(describe(&e)))?;
        let theirs = JsFuture::from(Promise::from(promise)).await.map_err(|e| match e.as_string().as_deref() {
            Some("cancelled") => RunError::Cancelled,
            _ => RunError::Workers(describe(&e)),
        })?;
        let theirs: Array = theirs.unchecked_into();
        let mut arrays = Vec::with_capacity(self.size);
        for (r, array) in theirs.iter().enumerate() {
            let sent = Reflect::get(&array, &"length".into()).ok().and_then(|n| n.as_f64());
            arrays.push(match (r == self.rank, sent) {
                (true, _) => None,
                (false, Some(n)) if n as usize == len => Some(array.unchecked_into()),
                (false, sent) => return Err(RunError::Workers(format!("worker {r} sent {sent:?} values, not {len}"))),
            });
        }
        Ok(arrays)
    }
}

impl Group for Workers {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError> {
        if self.size == 1 {
            return Ok(values);
        }
        let parts = Array::new();
        // SAFETY: a view of wasm memory is valid until wasm allocates; gather copies it first.
        parts.push(&unsafe { js_sys::Float64Array::view(&values) }.into());
        let theirs = self.gather::<js_sys::Float64Array>(parts, values.len()).await?;
        let theirs: Vec<Vec<f64>> = theirs.iter().map(|a| a.as_ref().map_or_else(Vec::new, |a| a.to_vec())).collect();
        let all: Vec<&[f64]> = (0..self.size).map(|r| if r == self.rank { &values[..] } else { &theirs[r][..] }).collect();
        Ok(parallel::add(&all))
    }
    async fn mean(&mut self, values: Vec<f32>, weight: f32) -> Result<Vec<f32>, RunError> {
        if self.size == 1 {
            return Ok(values);
        }
        // One message with the weight as its last value; a gradient is a million values, so it
        // is copied once on the way out (into a reused buffer) and once on the way in.
        let n = values.len();
        let parts = Array::of1(&js_sys::Float32Array::from(&[weight][..]));
        // SAFETY: a view of wasm memory is valid until wasm allocates; gather copies it first.
        parts.unshift(&unsafe { js_sys::Float32Array::view(&values) }.into());
        let theirs = self.gather::<js_sys::Float32Array>(parts, n + 1).await?;
        let mut own = Some(values);
        let (mut all, mut weights) = (Vec::with_capacity(self.size), Vec::with_capacity(self.size));
        for array in theirs {
            match array {
                Some(array) => {
                    weights.push(array.get_index(n as u32));
                    all.push(array.subarray(0, n as u32).to_vec());
                }
                None => {
                    weights.push(weight);
                    all.push(own.take().unwrap_or_default());
                }
            }
        }
        Ok(parallel::weighted_mean(all, &weights))
    }
}

fn describe(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Forwards events to a JS callback (if any), reads the shared cancel flag, and keeps the run's
/// models where given a place for them.
struct JsObserver {
    callback: Option<Function>,
    cancelled: Rc<Cell<bool>>,
    models: Option<Rc<RefCell<Vec<TrainedCnn>>>>,
}

impl Observer for JsObserver {
    fn trained(&mut self, model: TrainedCnn) {
        if let Some(models) = &self.models {
            models.borrow_mut().push(model);
        }
    }
    fn event(&mut self, event: Event) {
        if let (Some(callback), Ok(value)) = (&self.callback, to_js(&event)) {
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }
    fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

fn to_js(value: &impl Serialize) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()).into())
}

fn error(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

/// A run's error, named "Cancelled" when it was cancelled, so the page need not read the text.
fn run_error(e: RunError) -> JsValue {
    let js = js_sys::Error::new(&e.to_string());
    if e == RunError::Cancelled {
        js.set_name("Cancelled");
    }
    js.into()
}

/// A run's settings from the page: a JS object in the report's JSON shape, holding the fields
/// the page sets (the others keep their defaults; see `experiments::complete`).
fn parse_config<T: serde::Serialize + serde::de::DeserializeOwned + Default>(config: JsValue) -> Result<T, JsValue> {
    let partial = serde_wasm_bindgen::from_value(config).map_err(|e| error(format!("bad config: {e}")))?;
    experiments::complete(partial).map_err(run_error)
}

/// What a slot of the lab holds, or an error naming what the page has not loaded yet.
fn loaded<T>(slot: &RefCell<Option<Rc<T>>>, what: &str) -> Result<Rc<T>, JsValue> {
    slot.borrow().clone().ok_or_else(|| error(format!("{what} is not loaded")))
}

/// An image set as a plain JS object, to hand a shard to another worker.
fn set_to_js(set: &ImageSet) -> Result<JsValue, JsValue> {
    let object = Object::new();
    Reflect::set(&object, &"side".into(), &set.side.into())?;
    Reflect::set(&object, &"channels".into(), &set.channels.into())?;
    Reflect::set(&object, &"pixels".into(), &Uint8Array::from(&set.pixel_bytes()[..]))?;
    Reflect::set(&object, &"labels".into(), &Uint8Array::from(&set.labels[..]))?;
    Ok(object.into())
}

/// The inverse of [`set_to_js`], checked: a shard comes from another worker, but through JS.
fn set_from_js(value: &JsValue) -> Result<ImageSet, JsValue> {
    let field = |name: &str| Reflect::get(value, &name.into());
    let number = |name: &str| field(name)?.as_f64().map(|n| n as usize).ok_or_else(|| error(format!("shard: no {name}")));
    let bytes = |name: &str| -> Result<Vec<u8>, JsValue> { Ok(Uint8Array::new(&field(name)?).to_vec()) };
    let (side, channels, pixels, labels) = (number("side")?, number("channels")?, bytes("pixels")?, bytes("labels")?);
    if pixels.len() != labels.len() * channels * side * side || labels.iter().any(|&l| l >= 10) {
        return Err(error("shard: pixels and labels do not match"));
    }
    let set = ImageSet::new(channels, side, pixels, labels);
    Ok(set)
}

#[wasm_bindgen]
impl Lab {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Lab {
        Lab {
            device: Rc::default(),
            workers: Rc::new(RefCell::new(Workers::ALONE)),
            mnist: Rc::default(),
            fashion: Rc::default(),
            cifar: Rc::default(),
            cancelled: Rc::default(),
            models: Rc::default(),
        }
    }

    /// Picks the backend: `"webgpu"` initialises burn's WebGPU runtime (the page has already
    /// checked that an adapter exists), `"cpu"` uses burn's flex compiled to wasm. Each module
    /// has one of them: the CPU module flex, the GPU module wgpu. Resolves to the backend's name.
    pub fn init(&self, backend: String) -> Promise {
        let slot = self.device.clone();
        future_to_promise(async move {
            let device = match backend.as_str() {
                #[cfg(feature = "wgpu")]
                "webgpu" => Device::wgpu_options().init_async().await.map_err(|e| error(format!("WebGPU could not start: {e:?}")))?,
                #[cfg(feature = "cpu")]
                "cpu" => Device::flex(),
                other => return Err(error(format!("this module has no backend '{other}' (it was built for {MODULE})"))),
            };
            *slot.borrow_mut() = Some(device);
            Ok(JsValue::from_str(&backend))
        })
    }

    /// Makes this lab replica `rank` of `size`; `gather(typedArray)` exchanges an array with the
    /// others (see `Workers`).
    pub fn join(&self, rank: usize, size: usize, gather: Function) -> Result<(), JsValue> {
        if size == 0 || rank >= size {
            return Err(error(format!("no worker {rank} of {size}")));
        }
        *self.workers.borrow_mut() = Workers { rank, size, gather: (size > 1).then_some(gather) };
        Ok(())
    }

    /// Parses a dataset's files (`"mnist"` and `"fashion"`: IDX files in (images, labels) pairs,
    /// whole sets or chunks of them, the training set's first, then MNIST's test set; `"cifar"`:
    /// batch files, `test_batch.bin` the test set and the others, in the order given, the
    /// training set), raw or gzip bytes, `names[i]` naming `files[i]`. Keeps this worker's shard
    /// and returns one shard per worker for [`Lab::set_shard`] (null at this worker's place).
    pub fn load(&self, dataset: &str, names: Vec<String>, files: Array) -> Result<Array, JsValue> {
        if names.len() != files.length() as usize {
            return Err(error(format!("{} names for {} files", names.len(), files.length())));
        }
        let files: Vec<(String, Vec<u8>)> = names.into_iter().zip(files.iter().map(|f| Uint8Array::new(&f).to_vec())).collect();
        let sets = parse(dataset, &files)?;
        let Workers { rank, size, .. } = self.workers.borrow().clone();
        let shards = Array::new();
        for r in 0..size {
            if r == rank {
                shards.push(&JsValue::NULL);
                continue;
            }
            let shard = Array::new();
            for set in &sets {
                shard.push(&set_to_js(&parallel::shard(set, r, size))?);
            }
            shards.push(&shard);
        }
        let own = if size == 1 { sets } else { sets.iter().map(|s| parallel::shard(s, rank, size)).collect() };
        self.store(dataset, own)?;
        Ok(shards)
    }

    /// Stores a shard that [`Lab::load`] made in another worker.
    #[wasm_bindgen(js_name = setShard)]
    pub fn set_shard(&self, dataset: &str, shard: Array) -> Result<(), JsValue> {
        let sets = shard.iter().map(|s| set_from_js(&s)).collect::<Result<Vec<_>, _>>()?;
        self.store(dataset, sets)
    }

    fn store(&self, dataset: &str, sets: Vec<ImageSet>) -> Result<(), JsValue> {
        let mut sets = sets.into_iter();
        let mut next = || sets.next().ok_or_else(|| error(format!("{dataset}: a set is missing")));
        match dataset {
            "mnist" => *self.mnist.borrow_mut() = Some(Rc::new(Splits { train: next()?, test: next()? })),
            "fashion" => *self.fashion.borrow_mut() = Some(Rc::new(next()?)),
            "cifar" => *self.cifar.borrow_mut() = Some(Rc::new(Splits { train: next()?, test: next()? })),
            other => return Err(error(format!("unknown dataset '{other}'"))),
        }
        Ok(())
    }

    /// Pixels of image `index` of a set (`"mnist-test"`, `"mnist-train"`, `"fashion"` or
    /// `"cifar-train"`; its index over all workers), for galleries: one plane per channel.
    /// Undefined where another worker's shard holds it.
    pub fn image(&self, set: &str, index: usize) -> Result<Option<Vec<u8>>, JsValue> {
        let Workers { rank, size, .. } = *self.workers.borrow();
        let Some(local) = parallel::shard_position(index, rank, size) else { return Ok(None) };
        let pick = |s: &ImageSet| (local < s.len()).then(|| s.image(local).to_vec());
        let found = match set {
            "mnist-test" => self.mnist.borrow().as_ref().and_then(|m| pick(&m.test)),
            "mnist-train" => self.mnist.borrow().as_ref().and_then(|m| pick(&m.train)),
            "fashion" => self.fashion.borrow().as_ref().and_then(|f| pick(f)),
            "cifar-train" => self.cifar.borrow().as_ref().and_then(|c| pick(&c.train)),
            _ => None,
        };
        found.map(Some).ok_or_else(|| error(format!("no image {index} in '{set}'")))
    }

    /// Runs `experiment` (`"fashion"`, `"toy"`, `"cifar"` or `"ilyas"`) with `config` (partial:
    /// completed from the experiment's `Default`) on the loaded data; `on_event` receives progress
    /// events. Resolves to the report (the CLI's JSON shape). The toy runs on the CPU, in one
    /// worker: its networks are so small that a GPU round trip per step costs far more than the
    /// arithmetic.
    pub fn run(&self, experiment: String, config: JsValue, on_event: Function) -> Promise {
        let (device, mut workers) = (self.device.clone(), self.workers.borrow().clone());
        let (mnist, fashion, cifar) = (self.mnist.clone(), self.fashion.clone(), self.cifar.clone());
        let mut observer = self.observer(Some(on_event));
        // A run replaces the models a visitor tries; the replicas other than the first drop theirs.
        self.models.borrow_mut().clear();
        observer.models = (workers.rank == 0).then(|| self.models.clone());
        future_to_promise(async move {
            let observer = &mut observer;
            #[cfg(feature = "cpu")]
            if experiment == "toy" {
                return to_js(&toy::run(&parse_config(config)?, &Device::flex(), observer).await.map_err(run_error)?);
            }
            let device = device.borrow().clone().ok_or_else(|| error(NO_DEVICE))?;
            let (device, group) = (&device, &mut workers);
            match experiment.as_str() {
                "fashion" => {
                    let (mnist, fashion_train) = (loaded(&mnist, "MNIST")?, loaded(&fashion, "FashionMNIST")?);
                    let data = FashionData { mnist: &mnist, fashion_train: &fashion_train };
                    to_js(&fashion::run(&data, &parse_config(config)?, device, group, observer).await.map_err(run_error)?)
                }
                "cifar" => {
                    let cifar = loaded(&cifar, "CIFAR-10")?;
                    to_js(&cifar_experiment::run(&cifar, &parse_config(config)?, device, group, observer).await.map_err(run_error)?)
                }
                "ilyas" => {
                    let mnist = loaded(&mnist, "MNIST")?;
                    to_js(&ilyas::run(&mnist, &parse_config(config)?, device, group, observer).await.map_err(run_error)?)
                }
                other => Err(error(format!("this module cannot run '{other}' (it was built for {MODULE})"))),
            }
        })
    }

    /// Measures the training speed, in images/s over all workers, of an experiment's
    /// configuration (`"fashion"`, `"ilyas"` or `"cifar"`) on random images (see `train::measure_speed`).
    /// The page picks a backend and estimates a run's time from it.
    pub fn measure(&self, experiment: String, config: JsValue) -> Promise {
        let (device, mut workers) = (self.device.clone(), self.workers.borrow().clone());
        let observer = self.observer(None);
        future_to_promise(async move {
            let device = device.borrow().clone().ok_or_else(|| error(NO_DEVICE))?;
            let speed = match experiment.as_str() {
                "fashion" => fashion::measure_speed(&parse_config(config)?, &device, &mut workers, &observer).await,
                "ilyas" => ilyas::measure_speed(&parse_config(config)?, &device, &mut workers, &observer).await,
                "cifar" => cifar_experiment::measure_speed(&parse_config(config)?, &device, &mut workers, &observer).await,
                other => return Err(error(format!("cannot measure '{other}'"))),
            };
            Ok(JsValue::from_f64(speed.map_err(run_error)?))
        })
    }

    /// Asks the running experiment to stop at its next step.
    pub fn cancel(&self) {
        self.cancelled.set(true);
    }

    /// An observer for a new run (which clears an earlier cancel).
    fn observer(&self, callback: Option<Function>) -> JsObserver {
        self.cancelled.set(false);
        JsObserver { callback, cancelled: self.cancelled.clone(), models: None }
    }

    /// The models a visitor can try: each one's card (name, preset, side, normalizations).
    pub fn models(&self) -> Result<JsValue, JsValue> {
        to_js(&self.models.borrow().iter().map(|m| &m.card).collect::<Vec<_>>())
    }

    /// What every model answers for one image: `kind` `"drawing"` (a `width`×`height` pad's grey
    /// values, prepared as MNIST's digits were), `"digit"` or `"garment"` (an image of the
    /// models' side, as is). Resolves to `{ image, answers }`: the image the models read (null
    /// when nothing is drawn, and no answers) and, per model, `{ name, probabilities }`.
    pub fn answer(&self, kind: String, pixels: Vec<u8>, width: usize, height: usize) -> Promise {
        let (device, models) = (self.device.clone(), self.models.clone());
        future_to_promise(async move {
            let device = device.borrow().clone().ok_or_else(|| error(NO_DEVICE))?;
            let (image, input) = match kind.as_str() {
                "drawing" => (drawing::mnist_like(&pixels, width, height).map_err(error)?, Input::Digit),
                "digit" | "garment" if pixels.len() == width * height && width == height => {
                    (Some(pixels), if kind == "digit" { Input::Digit } else { Input::Garment })
                }
                "digit" | "garment" => return Err(error(format!("a {kind} must be a square image, not {width}×{height} with {} pixels", pixels.len()))),
                other => return Err(error(format!("unknown kind of image '{other}'"))),
            };
            #[derive(Serialize)]
            struct Answer<'a> {
                name: &'a str,
                probabilities: [f32; 10],
            }
            #[derive(Serialize)]
            struct Answers<'a> {
                image: Option<&'a [u8]>,
                answers: Vec<Answer<'a>>,
            }
            let models = models.borrow().clone();
            let mut answers = Vec::new();
            if let Some(image) = &image {
                let side = (image.len() as f64).sqrt() as usize;
                let set = ImageSet::new(1, side, image.clone(), vec![0]);
                for model in &models {
                    let probabilities = model.probabilities(&set, input, &device).await.map_err(run_error)?;
                    answers.push(Answer { name: &model.card.name, probabilities: probabilities[0] });
                }
            }
            to_js(&Answers { image: image.as_deref(), answers })
        })
    }

    /// Model `name`'s file (see [`crate::trained`]).
    #[wasm_bindgen(js_name = saveModel)]
    pub fn save_model(&self, name: &str) -> Result<Vec<u8>, JsValue> {
        let models = self.models.borrow();
        let model = models.iter().find(|m| m.card.name == name).ok_or_else(|| error(format!("no model '{name}' is loaded")))?;
        model.to_bytes().map_err(error)
    }

    /// Adds the model in a file's bytes to those a visitor tries (replacing one of its name);
    /// resolves to its name. A damaged or foreign file is refused with the reason.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, bytes: Vec<u8>) -> Result<String, JsValue> {
        let device = self.device.borrow().clone().ok_or_else(|| error(NO_DEVICE))?;
        let model = TrainedCnn::from_bytes(&bytes, &device).map_err(error)?;
        let name = model.card.name.clone();
        let mut models = self.models.borrow_mut();
        models.retain(|m| m.card.name != name);
        models.push(model);
        Ok(name)
    }

    /// Forgets every model a visitor could try (their memory is freed).
    #[wasm_bindgen(js_name = clearModels)]
    pub fn clear_models(&self) {
        self.models.borrow_mut().clear();
    }
}

/// The image sets in a dataset's files: MNIST's training and test sets, FashionMNIST's training
/// set, or CIFAR-10's training and test sets.
fn parse(dataset: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<ImageSet>, JsValue> {
    match dataset {
        "mnist" => idx_splits("mnist", &["train", "t10k"], files),
        "fashion" => idx_splits("fashion-mnist", &["train"], files),
        "cifar" => {
            let (mut train, mut test) = (cifar::empty(), None);
            for (name, bytes) in files {
                let set = cifar::parse_batch(&format!("cifar-10/{name}"), bytes).map_err(error)?;
                if name == cifar::TEST_FILE { test = Some(set) } else { train.append(set) }
            }
            let test = test.ok_or_else(|| error(format!("cifar-10: {} was not given", cifar::TEST_FILE)))?;
            if train.is_empty() {
                return Err(error("cifar-10: no training batch was given"));
            }
            Ok(vec![train, test])
        }
        other => Err(error(format!("unknown dataset '{other}'"))),
    }
}

/// The sets of IDX files given as (images, labels) pairs, each pair a chunk of a split named by
/// its file names' first word (`train-images-03.gz`, `train-labels-03.gz`): a split's chunks are
/// joined in the order given, and the splits must be `splits`, in that order.
fn idx_splits(folder: &str, splits: &[&str], files: &[(String, Vec<u8>)]) -> Result<Vec<ImageSet>, JsValue> {
    let mut sets: Vec<(&str, ImageSet)> = Vec::new();
    for pair in files.chunks(2) {
        let [(images_name, images), (labels_name, labels)] = pair else {
            return Err(error(format!("{folder}: {} has no labels file beside it", pair[0].0)));
        };
        let split = images_name.split('-').next().unwrap_or_default();
        let chunk = ImageSet::from_idx(&format!("{folder}/{images_name}"), images, &format!("{folder}/{labels_name}"), labels).map_err(error)?;
        match sets.last_mut() {
            Some((name, set)) if *name == split => {
                if (set.channels, set.side) != (chunk.channels, chunk.side) {
                    return Err(error(format!("{folder}/{images_name}: its images are {0}×{0}, the earlier ones {1}×{1}", chunk.side, set.side)));
                }
                set.append(chunk);
            }
            _ => sets.push((split, chunk)),
        }
    }
    let given: Vec<&str> = sets.iter().map(|(name, _)| *name).collect();
    if given != splits {
        return Err(error(format!("{folder}: the files hold the sets {given:?}, not {splits:?}")));
    }
    Ok(sets.into_iter().map(|(_, set)| set).collect())
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

/// Panics become a message on the console, with the stack (and the worker reports the module as
/// dead).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
