//! The wasm-bindgen surface the page's worker drives: translate JS ⇄ Rust, nothing else.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::prelude::Device;
use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::data::{ImageSet, Splits, cifar};
use crate::experiments::cifar::{self as cifar_experiment, CifarConfig, CifarData};
use crate::experiments::fashion::{self, FashionConfig, FashionData};
use crate::experiments::toy::{self, ToyConfig};
use crate::report::{Event, Observer};

/// The lab the worker owns: a device, the datasets, and a cancel flag a running experiment polls.
#[wasm_bindgen]
pub struct Lab {
    device: Rc<RefCell<Option<Device>>>,
    mnist: Rc<RefCell<Option<Splits>>>,
    fashion: Rc<RefCell<Option<ImageSet>>>,
    cifar: Rc<RefCell<Option<Rc<CifarData>>>>,
    cancelled: Rc<Cell<bool>>,
}

const NO_DEVICE: &str = "call init() first";
const NO_CIFAR: &str = "CIFAR-10 is not loaded";

/// Forwards events to a JS callback and reads the shared cancel flag.
struct JsObserver {
    callback: Function,
    cancelled: Rc<Cell<bool>>,
}

impl Observer for JsObserver {
    fn event(&mut self, event: Event) {
        if let Ok(value) = to_js(&event) {
            let _ = self.callback.call1(&JsValue::NULL, &value);
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

/// A run's settings from the page (a JS object in the CLI's JSON shape).
fn parse_config<T: serde::de::DeserializeOwned>(config: JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(config).map_err(|e| error(format!("bad config: {e}")))
}

/// What a slot of the lab holds, or `missing` as the error when the page has not filled it yet.
fn loaded<T: Clone>(slot: &RefCell<Option<T>>, missing: &str) -> Result<T, JsValue> {
    slot.borrow().clone().ok_or_else(|| error(missing))
}

#[wasm_bindgen]
impl Lab {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Lab {
        Lab {
            device: Rc::default(),
            mnist: Rc::default(),
            fashion: Rc::default(),
            cifar: Rc::default(),
            cancelled: Rc::default(),
        }
    }

    /// Picks the backend: `"webgpu"` initialises burn's WebGPU runtime (the page has already
    /// checked that an adapter exists), `"cpu"` uses burn's flex compiled to wasm. Resolves to
    /// the backend's name.
    pub fn init(&self, backend: String) -> Promise {
        let slot = self.device.clone();
        future_to_promise(async move {
            let device = match backend.as_str() {
                "webgpu" => Device::wgpu_options().init_async().await.map_err(|e| error(format!("WebGPU could not start: {e:?}")))?,
                "cpu" => Device::flex(),
                other => return Err(error(format!("unknown backend '{other}' (expected webgpu or cpu)"))),
            };
            *slot.borrow_mut() = Some(device);
            Ok(JsValue::from_str(&backend))
        })
    }

    /// MNIST's four IDX files (raw or gzip bytes), in the order train images, train labels,
    /// test images, test labels.
    #[wasm_bindgen(js_name = setMnist)]
    pub fn set_mnist(&self, train_images: &[u8], train_labels: &[u8], test_images: &[u8], test_labels: &[u8]) -> Result<(), JsValue> {
        let names = crate::data::IDX_FILES.map(|f| format!("mnist/{f}"));
        let splits = Splits::from_idx_files([
            (&names[0], train_images),
            (&names[1], train_labels),
            (&names[2], test_images),
            (&names[3], test_labels),
        ])
        .map_err(error)?;
        *self.mnist.borrow_mut() = Some(splits);
        Ok(())
    }

    /// FashionMNIST's training images and labels (raw or gzip bytes).
    #[wasm_bindgen(js_name = setFashion)]
    pub fn set_fashion(&self, images: &[u8], labels: &[u8]) -> Result<(), JsValue> {
        let [images_name, labels_name, ..] = crate::data::IDX_FILES.map(|f| format!("fashion-mnist/{f}"));
        let set = ImageSet::from_idx(&images_name, images, &labels_name, labels).map_err(error)?;
        *self.fashion.borrow_mut() = Some(set);
        Ok(())
    }

    /// CIFAR-10 batch files in the official binary format: `names[i]` names `files[i]` (a
    /// Uint8Array); `test_batch.bin` is the test set, every other file part of the training set,
    /// in the order given. The page sends only the training batches its subset needs.
    #[wasm_bindgen(js_name = setCifar)]
    pub fn set_cifar(&self, names: Vec<String>, files: js_sys::Array) -> Result<(), JsValue> {
        if names.len() != files.length() as usize {
            return Err(error(format!("{} names for {} CIFAR-10 files", names.len(), files.length())));
        }
        let (mut train, mut test) = (cifar::ColorSet::default(), None);
        for (name, file) in names.iter().zip(files.iter()) {
            let bytes = js_sys::Uint8Array::new(&file).to_vec();
            let set = cifar::parse_batch(&format!("cifar-10/{name}"), &bytes).map_err(error)?;
            if name == cifar::TEST_FILE { test = Some(set) } else { train.append(set) }
        }
        let test = test.ok_or_else(|| error(format!("cifar-10: {} was not given", cifar::TEST_FILE)))?;
        if train.is_empty() {
            return Err(error("cifar-10: no training batch was given"));
        }
        *self.cifar.borrow_mut() = Some(Rc::new(CifarData { train: ImageSet::from_color(train), test: ImageSet::from_color(test) }));
        Ok(())
    }

    /// Pixels of image `index` of a loaded set (`"mnist-test"`, `"fashion"` or `"cifar-train"`),
    /// for galleries: one plane per channel.
    pub fn image(&self, set: &str, index: usize) -> Result<Vec<u8>, JsValue> {
        let pick = |s: &ImageSet| (index < s.len()).then(|| s.image(index).to_vec());
        let found = match set {
            "mnist-test" => self.mnist.borrow().as_ref().and_then(|m| pick(&m.test)),
            "fashion" => self.fashion.borrow().as_ref().and_then(pick),
            "cifar-train" => self.cifar.borrow().as_ref().and_then(|c| pick(&c.train)),
            _ => None,
        };
        found.ok_or_else(|| error(format!("no image {index} in '{set}'")))
    }

    /// Runs the MNIST → FashionMNIST experiment; `on_event` receives progress events. Resolves to
    /// the report (the CLI's JSON shape).
    #[wasm_bindgen(js_name = runFashion)]
    pub fn run_fashion(&self, config: JsValue, on_event: Function) -> Promise {
        let (device, mnist, fashion, cancelled) = (self.device.clone(), self.mnist.clone(), self.fashion.clone(), self.cancelled.clone());
        cancelled.set(false);
        future_to_promise(async move {
            let config: FashionConfig = parse_config(config)?;
            let device = loaded(&device, NO_DEVICE)?;
            let data = FashionData { mnist: loaded(&mnist, "MNIST is not loaded")?, fashion_train: loaded(&fashion, "FashionMNIST is not loaded")? };
            let mut observer = JsObserver { callback: on_event, cancelled };
            let report = fashion::run(&data, &config, &device, &mut observer).await.map_err(error)?;
            to_js(&report)
        })
    }

    /// Runs the CIFAR-10 experiment on the loaded batches; resolves to the report.
    #[wasm_bindgen(js_name = runCifar)]
    pub fn run_cifar(&self, config: JsValue, on_event: Function) -> Promise {
        let (device, data, cancelled) = (self.device.clone(), self.cifar.clone(), self.cancelled.clone());
        cancelled.set(false);
        future_to_promise(async move {
            let config: CifarConfig = parse_config(config)?;
            let (device, data) = (loaded(&device, NO_DEVICE)?, loaded(&data, NO_CIFAR)?);
            let mut observer = JsObserver { callback: on_event, cancelled };
            let report = cifar_experiment::run(&data, &config, &device, &mut observer).await.map_err(error)?;
            to_js(&report)
        })
    }

    /// Measures this device's training speed for a CIFAR-10 configuration (a few steps on the
    /// loaded images), in images/s: the page's estimate of a run's time before it starts.
    #[wasm_bindgen(js_name = measureCifar)]
    pub fn measure_cifar(&self, config: JsValue) -> Promise {
        let (device, data) = (self.device.clone(), self.cifar.clone());
        future_to_promise(async move {
            let config: CifarConfig = parse_config(config)?;
            let (device, data) = (loaded(&device, NO_DEVICE)?, loaded(&data, NO_CIFAR)?);
            let speed = cifar_experiment::measure_speed(&data, &config, &device, &mut crate::report::Quiet).await.map_err(error)?;
            Ok(JsValue::from_f64(speed))
        })
    }

    /// Runs the 2-D toy experiment, always on the CPU: its networks are so small that a GPU round
    /// trip per step costs far more than the arithmetic.
    #[wasm_bindgen(js_name = runToy)]
    pub fn run_toy(&self, config: JsValue, on_event: Function) -> Promise {
        let cancelled = self.cancelled.clone();
        cancelled.set(false);
        future_to_promise(async move {
            let config: ToyConfig = parse_config(config)?;
            let device = Device::flex();
            let mut observer = JsObserver { callback: on_event, cancelled };
            let report = toy::run(&config, &device, &mut observer).await.map_err(error)?;
            to_js(&report)
        })
    }

    /// Asks the running experiment to stop at its next step.
    pub fn cancel(&self) {
        self.cancelled.set(true);
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

/// Panics become a message on the console (and the worker reports the module as dead).
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("wrong-labels panicked: {info}").into());
    }));
}
