//! A training step recorded once and replayed: how the GPU path gets past the host.
//!
//! On WebGPU every kernel launch goes through JavaScript and builds its own bind group; a step of
//! the classic CNN is ~200 launches, so the host, not the GPU, sets the pace. burn 0.22 can record
//! a stream's launches, with their bind groups built once, and replay them (`Backend::graph_*`,
//! implemented by cubecl-wgpu): a replayed step only re-encodes prebuilt state.
//!
//! A replay reads and writes the very buffers the recording did, so the step here works on stable
//! buffers. Before each step the batch (its images, its labels and Adam's two factors for the
//! step, uploaded as one array) and dropout's uniform noise are copied into fixed inputs; the step
//! writes the parameters, Adam's moments and the running sums back into their own buffers, in
//! place. Dropout draws its masks from that noise (a random kernel's seed would be recorded with
//! it), and Adam updates all parameters at once as one flat vector.
//!
//! burn's own `capture` helper waits for the device with a blocking sync between its warm-up
//! runs, which a browser cannot do (the wait never ends on the page's only thread), so the
//! sequence is driven here: the first steps run the same code unrecorded and are the warm-up that
//! fills the memory pools the recording draws on, an asynchronous read is the wait, then the next
//! step is recorded and replayed from then on. A backend without recording (burn's CPU backend)
//! runs every step unrecorded.

use burn::backend::{Backend, BackendGraph, Dispatch};
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLoss;
use burn::prelude::*;
use burn::tensor::{Distribution, Gradients, TensorData};

use crate::models::Classifier;
use crate::report::RunError;
use crate::host::read_floats;

/// Steps run unrecorded before the recording: the memory pools then hold every buffer a step
/// needs (burn's `capture` warms up three times too).
pub const WARM_UP_STEPS: usize = 3;

/// Adam's constants: burn's `AdamConfig` defaults, which the eager path uses.
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

/// Whether the steps are recorded, and how far that got.
enum Recording {
    /// Unrecorded steps so far (the warm-up).
    Warming(usize),
    Ready(BackendGraph<Dispatch>),
    /// The recording failed or the backend has none: every step runs unrecorded.
    Off(String),
}

/// The fixed inputs of a step of `len` images.
struct Slot {
    len: usize,
    /// The images, the labels (as floats) and Adam's two factors, in one array.
    input: Option<Tensor<1>>,
    /// Uniform draws in [0, 1), one per dropout decision (none without dropout).
    noise: Option<Tensor<1>>,
}

/// A model in training whose steps are replayed where the device can record them.
pub struct Replayed<M> {
    /// The model's structure: each step replaces its parameters by views of `theta`.
    template: M,
    device: Device,
    loss: CrossEntropyLoss,
    /// Every float parameter, in the model's visiting order, and Adam's two moments of each.
    theta: Option<Tensor<1>>,
    moment_1: Option<Tensor<1>>,
    moment_2: Option<Tensor<1>>,
    /// Running sums over the steps: the loss times the images, and the hits.
    sums: Option<Tensor<1>>,
    /// `sums` at the last read.
    read: [f64; 2],
    /// Adam's step count.
    time: i32,
    /// The batch size's inputs, recorded; and those of a shorter last step, never recorded.
    full: Slot,
    short: Option<Slot>,
    recording: Recording,
    /// The image shape `[channels, side, side]`.
    image: [usize; 3],
}

impl<M: Classifier> Replayed<M> {
    /// Prepares `model` for replayed steps of `batch` images of shape `image`, or gives it back
    /// when it cannot be replayed (its forward pass keeps state, as batch norm does).
    pub fn new(model: M, batch: usize, image: [usize; 3], loss: CrossEntropyLoss, device: &Device) -> Result<Self, M> {
        if model.dropout_draws(batch).is_none() {
            return Err(model);
        }
        let theta = flatten(&model);
        let zeros = || Tensor::zeros([theta.dims()[0]], device);
        let (moment_1, moment_2) = (zeros(), zeros());
        let recording = match device.is_autodiff() {
            true => Recording::Off("the device given has autodiff".into()),
            false => Recording::Warming(0),
        };
        Ok(Self {
            template: model,
            device: device.clone(),
            loss,
            theta: Some(theta),
            moment_1: Some(moment_1),
            moment_2: Some(moment_2),
            sums: Some(Tensor::zeros([2], device)),
            read: [0.0; 2],
            time: 0,
            full: Slot { len: batch, input: None, noise: None },
            short: None,
            recording,
            image,
        })
    }

    /// Runs every step unrecorded, as a device without recording does (to compare the two).
    pub fn unrecorded(mut self) -> Self {
        self.recording = Recording::Off("asked to run unrecorded".into());
        self
    }

    /// Takes one training step on a batch (its images' values, `[len, channels, side, side]`
    /// flattened, and their labels) at learning rate `rate`.
    pub async fn step(&mut self, images: Vec<f32>, labels: &[u8], rate: f64) -> Result<(), RunError> {
        self.time += 1;
        let len = labels.len();
        let factors = self.adam_factors(rate);
        let mut input = images;
        input.extend(labels.iter().map(|&l| l as f32));
        input.extend(factors);
        let full = len == self.full.len;
        if !full && self.short.as_ref().is_none_or(|s| s.len != len) {
            self.short = Some(Slot { len, input: None, noise: None });
        }
        let draws: usize = self.template.dropout_draws(len).unwrap_or_default().iter().sum();
        let slot = if full { &mut self.full } else { self.short.as_mut().expect("made above") };
        refresh(&mut slot.input, Tensor::from_data(TensorData::new(input, [input_len(len, self.image)]), &self.device));
        if draws > 0 {
            refresh(&mut slot.noise, Tensor::random([draws], Distribution::Default, &self.device));
        }
        if !full {
            return self.run(false);
        }
        match self.recording {
            Recording::Ready(ref graph) => replay(&self.device, graph),
            Recording::Off(_) => self.run(true),
            Recording::Warming(n) if n < WARM_UP_STEPS => {
                if n == 0 && let Err(e) = Dispatch::graph_prepare(self.device.as_dispatch()) {
                    self.recording = Recording::Off(format!("{e:?}"));
                }
                if let Recording::Warming(n) = &mut self.recording {
                    *n += 1;
                }
                self.run(true)
            }
            Recording::Warming(_) => self.record().await,
        }
    }

    /// Records the step whose inputs are in place and replays it; where the device cannot record,
    /// runs the step unrecorded, now and from then on.
    async fn record(&mut self) -> Result<(), RunError> {
        // The wait burn's helper makes with a blocking sync: the warm-up's work is done.
        read_floats(self.sums.clone().expect("sums are in place")).await?;
        let device = self.device.clone();
        let dispatch = device.as_dispatch();
        if let Err(e) = Dispatch::graph_start_capture(dispatch) {
            self.recording = Recording::Off(format!("the step could not be recorded: {e:?}"));
            return self.run(true);
        }
        let run = self.run(true);
        let graph = Dispatch::graph_stop_capture(dispatch);
        // A recorded run writes nothing: every buffer still holds what it held before.
        run?;
        match graph {
            Ok(graph) => {
                replay(&self.device, &graph)?;
                self.recording = Recording::Ready(graph);
                Ok(())
            }
            Err(e) => {
                self.recording = Recording::Off(format!("the step could not be recorded: {e:?}"));
                self.run(true)
            }
        }
    }

    /// Runs the step whose inputs are in the full-batch slot (`full`) or the short one.
    fn run(&mut self, full: bool) -> Result<(), RunError> {
        let slot = if full { &self.full } else { self.short.as_ref().expect("a short step has its slot") };
        let (len, [channels, side, _]) = (slot.len, self.image);
        let pixels = len * channels * side * side;
        let input = slot.input.clone().expect("inputs are in place");
        let images = input.clone().slice(0..pixels).reshape([len, channels, side, side]);
        let labels = input.clone().slice(pixels..pixels + len).int();
        let factors = input.slice(pixels + len..pixels + len + 2);
        let noise = split(slot.noise.clone(), &self.template.dropout_draws(len).unwrap_or_default());

        let theta = self.theta.take().expect("parameters are in place");
        let model = self.template.clone().map(&mut Views { theta: &theta, offset: 0, grad: true });
        let logits = model.forward_noisy(images.autodiff(), &noise);
        let hits = logits.clone().inner().argmax(1).squeeze_dim::<1>(1).equal(labels.clone()).int().sum().float();
        let loss = self.loss.forward(logits, labels);
        let loss_sum = loss.clone().inner().mul_scalar(len as f32);
        let mut grads = loss.backward();
        let mut collect = Collect { grads: &mut grads, parts: Vec::new() };
        model.visit(&mut collect);
        let grad = Tensor::cat(collect.parts, 0);
        // Nothing may hold a view of the parameters when they are written.
        drop((model, grads));

        // Adam over every parameter at once, as burn's `Adam` computes it per parameter.
        let moment_1 = self.moment_1.take().expect("moments are in place");
        let moment_2 = self.moment_2.take().expect("moments are in place");
        let new_1 = moment_1.clone().mul_scalar(BETA_1) + grad.clone().mul_scalar(1.0 - BETA_1);
        let new_2 = moment_2.clone().mul_scalar(BETA_2) + grad.square().mul_scalar(1.0 - BETA_2);
        let (scale, epsilon) = (factors.clone().slice(0..1), factors.slice(1..2));
        let update = new_1.clone().mul(scale).div(new_2.clone().sqrt().add(epsilon));
        let new_theta = theta.clone() - update;
        let sums = self.sums.take().expect("sums are in place");
        let new_sums = sums.clone() + Tensor::cat(vec![loss_sum, hits], 0);
        self.moment_1 = Some(write(moment_1, new_1)?);
        self.moment_2 = Some(write(moment_2, new_2)?);
        self.theta = Some(write(theta, new_theta)?);
        self.sums = Some(write(sums, new_sums)?);
        Ok(())
    }

    /// Adam's factors for the current step at learning rate `rate`: the update is
    /// `m · scale / (√v + epsilon)` (burn's `Adam`, with its bias corrections folded in).
    fn adam_factors(&self, rate: f64) -> [f32; 2] {
        let correction_2 = (1.0 - BETA_2.powi(self.time)).sqrt();
        let combined = correction_2 / (1.0 - BETA_1.powi(self.time));
        [combined * rate as f32, EPSILON * correction_2]
    }

    /// The loss summed over the images and the hits, over the steps since the last call.
    pub async fn sums(&mut self) -> Result<[f64; 2], RunError> {
        let now = read_floats(self.sums.clone().expect("sums are in place")).await?;
        let now = [now[0] as f64, now[1] as f64];
        let since = [now[0] - self.read[0], now[1] - self.read[1]];
        self.read = now;
        Ok(since)
    }

    /// The model with its current weights (views of the parameters: drop it before the next step).
    pub fn model(&self) -> M {
        self.template.clone().map(&mut Views { theta: self.theta.as_ref().expect("parameters are in place"), offset: 0, grad: false })
    }

    /// Whether the steps are replayed, or why not (while warming up: `Ok(false)`).
    pub fn replayed(&self) -> Result<bool, &str> {
        match &self.recording {
            Recording::Ready(_) => Ok(true),
            Recording::Warming(_) => Ok(false),
            Recording::Off(why) => Err(why),
        }
    }
}

impl<M> Drop for Replayed<M> {
    fn drop(&mut self) {
        // A recording prepared but never made (a phase of too few steps) holds the stream, and the
        // next phase could prepare none: closing it unwinds the preparation.
        if matches!(self.recording, Recording::Warming(n) if n > 0) {
            let _ = Dispatch::graph_stop_capture(self.device.as_dispatch());
        }
    }
}

/// Whether `device`'s backend can record a step: the GPU's can; burn's CPU backend would only
/// rerun it, and its eager path is the one whose figures the README gives.
pub fn records(device: &Device) -> bool {
    #[cfg(feature = "cpu")]
    if matches!(device.as_dispatch(), burn::backend::DispatchDevice::Flex(_)) {
        return false;
    }
    !device.is_autodiff()
}

/// Replays a recorded step. The buffers it reads and writes are alive: `Replayed` holds the inputs,
/// the parameters, the moments and the sums, and the recording guards the pages of everything
/// else it touched; every read and write of them is issued on this thread's stream.
fn replay(device: &Device, graph: &BackendGraph<Dispatch>) -> Result<(), RunError> {
    // SAFETY: as said above.
    unsafe { Dispatch::graph_replay(device.as_dispatch(), graph) }.map_err(|e| RunError::Device(format!("{e:?}")))
}

/// The length of a step's input array: the images, the labels and Adam's two factors.
fn input_len(len: usize, [channels, side, _]: [usize; 3]) -> usize {
    len * channels * side * side + len + 2
}

/// Writes `value` into `slot`'s buffer (a new buffer the first time).
fn refresh(slot: &mut Option<Tensor<1>>, value: Tensor<1>) {
    *slot = Some(match slot.take() {
        Some(buffer) => buffer.slice_assign(0..value.dims()[0], value),
        None => value,
    });
}

/// Writes `value` into `target`'s own buffer, which nothing else may hold: a replay reads the
/// buffers the recording saw.
fn write(target: Tensor<1>, value: Tensor<1>) -> Result<Tensor<1>, RunError> {
    if !target.can_mut() {
        return Err(RunError::Device("a training buffer is shared and cannot be written in place".into()));
    }
    let len = target.dims()[0];
    Ok(target.slice_assign(0..len, value))
}

/// `noise` cut into consecutive parts of the given sizes.
fn split(noise: Option<Tensor<1>>, sizes: &[usize]) -> Vec<Tensor<1>> {
    let mut offset = 0;
    sizes
        .iter()
        .map(|&n| {
            offset += n;
            noise.clone().expect("noise is in place for dropout").slice(offset - n..offset)
        })
        .collect()
}

/// Every float parameter of `model`, flattened and joined in visiting order, without autodiff.
fn flatten<M: Classifier>(model: &M) -> Tensor<1> {
    struct Parts(Vec<Tensor<1>>);
    impl ModuleVisitor for Parts {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val().inner();
            let n = value.shape().num_elements();
            self.0.push(value.reshape([n]));
        }
    }
    let mut parts = Parts(Vec::new());
    model.visit(&mut parts);
    Tensor::cat(parts.0, 0)
}

/// Replaces each float parameter by its view of `theta` (in visiting order); with `grad`, as a
/// leaf of autodiff whose gradient is kept.
struct Views<'a> {
    theta: &'a Tensor<1>,
    offset: usize,
    grad: bool,
}

impl ModuleMapper for Views<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.shape();
        let end = self.offset + shape.num_elements();
        let view = self.theta.clone().slice(self.offset..end).reshape(shape);
        self.offset = end;
        param.map(|_| if self.grad { view.autodiff().require_grad() } else { view })
    }
}

/// The gradient of each float parameter, flattened, in visiting order (zeros where none).
struct Collect<'a> {
    grads: &'a mut Gradients,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        let grad = value.grad_remove(self.grads).unwrap_or_else(|| value.inner().zeros_like());
        self.parts.push(grad.reshape([n]));
    }
}
