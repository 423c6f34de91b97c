// One lab worker: a wasm instance off the main thread, so the page never freezes. On the CPU path
// the page runs several, one replica of the model each (www/pool.js). Requests carry an id and are
// answered by a 'done' or an 'error' message with the same id; a run also streams 'event's, and a
// lost GPU device is announced by a 'lost' message.

import { Group } from './group.js';
import { describeAdapter } from './adapter.js';
import { MODULES } from './pool.js';

let wasm = null;
let lab = null;
let group = null;
// The GPU devices wgpu opens here, watched for loss (tests destroy one to simulate it).
self.gpuDevices = [];
let lost = null;

/** The WebGPU adapter, or why there is none. */
async function findAdapter() {
  if (!self.navigator.gpu) throw new Error('this browser has no WebGPU');
  let adapter = null;
  try { adapter = await navigator.gpu.requestAdapter(); } catch { /* treated as no adapter */ }
  if (!adapter) throw new Error('WebGPU found no GPU adapter');
  return describeAdapter(adapter);
}

function watchDevices() {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.gpuDevices.push(device);
    device.lost.then((info) => {
      lost = info.message || info.reason || 'unknown reason';
      postMessage({ type: 'lost', message: lost });
    });
    return device;
  };
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      // The module's JavaScript half, beside the compiled wasm the pool hands over.
      const { default: init, Lab } = await import(`./${MODULES[msg.backend]}/wrong_labels.js`);
      wasm = await init({ module_or_path: msg.module });
      lab = new Lab();
      const adapter = msg.backend === 'webgpu' ? await findAdapter() : null;
      if (adapter) watchDevices();
      await lab.init(msg.backend);
      group = new Group(msg.rank, msg.size, msg.ports);
      lab.join(msg.rank, msg.size, (parts) => group.gather(parts));
      return { adapter };
    }
    case 'load': {
      const shards = lab.load(msg.dataset, msg.names, msg.files);
      return { result: shards, transfer: shards.flatMap((shard) => (shard ?? []).flatMap((s) => [s.pixels.buffer, s.labels.buffer])) };
    }
    case 'shard':
      lab.setShard(msg.dataset, msg.shard);
      return {};
    case 'measure':
      group.begin(msg.run);
      return { result: await lab.measure(msg.experiment, msg.config) };
    case 'run': {
      group.begin(msg.run);
      const onEvent = msg.events ? (event) => postMessage({ type: 'event', id: msg.id, event }) : () => {};
      return { result: await lab.run(msg.experiment, msg.config, onEvent) };
    }
    case 'images':
      return { result: msg.indices.map((i) => lab.image(msg.set, i)) };
    case 'models':
      return { result: lab.models() };
    case 'answer':
      return { result: await lab.answer(msg.kind, msg.pixels, msg.width, msg.height) };
    case 'save-model': {
      const bytes = lab.saveModel(msg.name);
      return { result: bytes, transfer: [bytes.buffer] };
    }
    case 'load-model':
      return { result: lab.loadModel(msg.bytes) };
    case 'clear-models':
      lab.clearModels();
      return {};
    case 'memory':
      return { result: wasm.memory.buffer.byteLength };
    case 'cancel':
      lab?.cancel();
      group?.cancel(msg.run);
      return {};
    default:
      throw new Error(`unknown request '${msg.type}'`);
  }
}

self.onmessage = async ({ data: msg }) => {
  try {
    const { result, transfer = [], adapter } = await handle(msg);
    postMessage({ type: 'done', id: msg.id, result, adapter }, transfer);
  } catch (e) {
    // A request that failed because the device was lost says so: the loss is announced a moment
    // after the failed read that it causes. (A cancel is not a failure: no wait.)
    const cancelled = e?.name === 'Cancelled';
    if (self.gpuDevices.length && !cancelled) await new Promise((resolve) => setTimeout(resolve, 100));
    if (lost) postMessage({ type: 'lost', message: lost });
    // A RuntimeError is a panic or trap inside wasm: the module is dead and the page must start
    // fresh workers. Anything else (bad data, a cancel) leaves this one usable.
    const fatal = e instanceof WebAssembly.RuntimeError || msg.type === 'init';
    const message = e instanceof Error ? e.message : String(e);
    postMessage({ type: 'error', id: msg.id, message, fatal, cancelled });
  }
};
