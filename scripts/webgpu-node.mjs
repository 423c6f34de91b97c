#!/usr/bin/env node
// The page's wasm module (pkg/) on WebGPU outside the browser: Node with Dawn's bindings (npm
// `webgpu`), on whatever Vulkan the machine has (Mesa's lavapipe here, a real GPU elsewhere).
//
//   node scripts/webgpu-node.mjs [mode=train|measure|stalls] [backend=webgpu|cpu] [out=FILE] [KEY=VALUE…]
//
// train (default): runs the fashion experiment with the given FashionConfig fields (e.g.
// teacher_epochs=1 mnist_train_limit=2000 preset=small) and prints each phase's images/s and
// accuracy. measure: the steady training images/s (warm steps, src/train.rs measure_speed) of the
// small and classic CNN at batch 64 and 256 (presets=… and batches=… pick others). stalls: what
// a training step waits for (scripts/stalls.mjs). Each writes its figures as JSON to `out`.
// It reads pkg/ and data/ (the page's dataset files, www/data.js) in the repository root.

import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureStalls } from './stalls.mjs';
import { WHOLE_FILES, FOLDER } from '../www/data.js';

const ROOT = resolve(import.meta.dirname, '..');
const PKG = resolve(ROOT, 'pkg');

/** `key=value` arguments; numbers become numbers. */
function parseArgs(argv) {
  const args = {};
  for (const arg of argv) {
    const at = arg.indexOf('=');
    if (at < 1) throw new Error(`expected KEY=VALUE, got '${arg}'`);
    const [key, value] = [arg.slice(0, at), arg.slice(at + 1)];
    args[key] = value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  }
  return args;
}

/** Makes Dawn's WebGPU visible where wgpu looks for it: `navigator.gpu` on a global that has a
 * `Window` (wgpu's test for a browser window). Returns the adapter's name. */
async function exposeWebGpu() {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  globalThis.Window ??= class Window {};
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { ...globalThis.navigator, gpu }, configurable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU found no adapter: is a Vulkan driver installed (e.g. Mesa\'s mesa-vulkan-drivers)?');
  const info = adapter.info || {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'an unnamed adapter';
}

async function openLab(backend) {
  const adapter = backend === 'webgpu' ? await exposeWebGpu() : null;
  const { default: init, Lab } = await import(resolve(PKG, 'wrong_labels.js'));
  await init({ module_or_path: await readFile(resolve(PKG, 'wrong_labels_bg.wasm')) });
  const lab = new Lab();
  await lab.init(backend);
  return { lab, adapter };
}

async function loadData(lab) {
  for (const [dataset, files] of Object.entries(WHOLE_FILES)) {
    const bytes = await Promise.all(files.map((f) => readFile(resolve(ROOT, 'data', FOLDER[dataset], f))));
    lab.load(dataset, files, bytes.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length)));
  }
}

async function train(lab, config) {
  const started = performance.now();
  const report = await lab.runFashion(config, (e) => {
    if (e.kind === 'epoch' && e.record.test_accuracy != null) console.log(`  ${e.phase} epoch ${e.record.epoch}: test ${(100 * e.record.test_accuracy).toFixed(2)}%`);
  });
  const ips = report.images_per_second;
  console.log(`training images/s: teacher ${ips.teacher.toFixed(0)}, students ${ips.students.toFixed(0)}, control ${ips.control.toFixed(0)}; relabel ${ips.relabel.toFixed(0)}`);
  console.log(`teacher ${(100 * report.teacher.test_accuracy).toFixed(2)}%, ${report.students.map((s) => `student ${s.normalize === "none" ? "raw" : s.normalize} ${(100 * s.test_accuracy).toFixed(2)}%`).join(', ')}, control ${(100 * report.control.test_accuracy).toFixed(2)}%`);
  return { report, seconds: (performance.now() - started) / 1000 };
}

async function measure(lab, { presets = 'small,classic', batches = '64,256', ...config }) {
  const rows = [];
  for (const preset of String(presets).split(',')) {
    for (const batch_size of String(batches).split(',').map(Number)) {
      const ips = await lab.measure('fashion', { ...config, preset, batch_size });
      console.log(`${preset.padEnd(7)} batch ${String(batch_size).padStart(3)}: ${ips.toFixed(0)} training images/s`);
      rows.push({ preset, batch_size, images_per_second: ips });
    }
  }
  return { rows };
}

const { mode = 'train', backend = 'webgpu', out, ...config } = parseArgs(process.argv.slice(2));
const { lab, adapter } = await openLab(backend);
console.log(`${mode} on ${backend}${adapter ? ` (${adapter})` : ' (flex, one thread)'}`);
let result;
if (mode === 'train') {
  await loadData(lab);
  result = await train(lab, config);
} else if (mode === 'measure') {
  result = await measure(lab, config);
} else if (mode === 'stalls') {
  await loadData(lab);
  result = await measureStalls(lab);
} else {
  throw new Error(`unknown mode '${mode}' (train, measure or stalls)`);
}
if (out) await writeFile(out, JSON.stringify({ mode, backend, adapter, config, ...result }, null, 1));
// Dawn keeps the process alive; the work is done.
process.exit(0);
