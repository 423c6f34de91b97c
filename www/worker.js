// Runs the wasm lab off the main thread, so the page never freezes. Messages in: init, data,
// measure, run, cancel. Messages out: ready, loaded, measured, event, report, error.

import init, { Lab } from './pkg/wrong_labels.js';

let lab = null;

/** WebGPU when a hardware adapter exists; a software one (SwiftShader) is slower than the CPU path. */
async function pickBackend(wanted) {
  if (wanted === 'cpu') return { backend: 'cpu', note: 'CPU (WebAssembly), as chosen in the settings.' };
  const fallback = (why) => ({ backend: 'cpu', note: `${why}, so the models train on the CPU (WebAssembly): slower, but it works everywhere.` });
  if (!self.navigator.gpu) return fallback('This browser has no WebGPU');
  let adapter = null;
  try { adapter = await navigator.gpu.requestAdapter(); } catch { /* treated as no adapter */ }
  if (!adapter) return fallback('WebGPU found no GPU adapter');
  const info = adapter.info || {};
  const software = adapter.isFallbackAdapter || info.isFallbackAdapter || /swiftshader/i.test(`${info.architecture} ${info.description} ${info.vendor}`);
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown GPU';
  if (software && wanted !== 'webgpu') return fallback(`The only WebGPU adapter is a software emulation (${name})`);
  return { backend: 'webgpu', note: `WebGPU on ${name}${software ? ' (software emulation: slow)' : ''}.` };
}

function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      await init();
      lab = new Lab();
      let choice = await pickBackend(msg.backend);
      try {
        await lab.init(choice.backend);
      } catch (e) {
        choice = { backend: 'cpu', note: `${errorMessage(e)}; training on the CPU (WebAssembly) instead.` };
        await lab.init('cpu');
      }
      postMessage({ type: 'ready', ...choice });
      break;
    }
    case 'data':
      if (msg.name === 'mnist') lab.setMnist(...msg.files);
      else if (msg.name === 'fashion') lab.setFashion(...msg.files);
      else lab.setCifar(msg.names, msg.files);
      postMessage({ type: 'loaded', name: msg.name });
      break;
    case 'measure':
      postMessage({ type: 'measured', id: msg.id, speed: await lab.measureCifar(msg.config) });
      break;
    case 'run': {
      const onEvent = (event) => postMessage({ type: 'event', id: msg.id, event });
      const run = { fashion: 'runFashion', toy: 'runToy', cifar: 'runCifar' }[msg.experiment];
      const report = await lab[run](msg.config, onEvent);
      postMessage({ type: 'report', id: msg.id, report, images: galleryImages(msg.experiment, report) });
      break;
    }
    case 'cancel':
      lab?.cancel();
      break;
  }
}

/** Pixels for the page's galleries: relabelled clothes and MNIST test digits, or the CIFAR-10
 * images the teacher got wrong. */
function galleryImages(experiment, report) {
  if (experiment === 'toy') return null;
  if (experiment === 'cifar') return { wrong: report.wrong.examples.map((ex) => lab.image('cifar-train', ex.index)) };
  const fashion = report.relabel.examples.map((ex) => lab.image('fashion', ex.index));
  const digits = report.students[0].sample_predictions.map((_, i) => lab.image('mnist-test', i));
  return { fashion, digits };
}

self.onmessage = async ({ data: msg }) => {
  try {
    await handle(msg);
  } catch (e) {
    // A RuntimeError is a panic or trap inside wasm: the module is dead and the page must start a
    // fresh worker. Anything else (bad data, cancel) leaves this one usable.
    const fatal = e instanceof WebAssembly.RuntimeError || msg.type === 'init';
    postMessage({ type: 'error', id: msg.id, during: msg.type, message: errorMessage(e), fatal });
  }
};
