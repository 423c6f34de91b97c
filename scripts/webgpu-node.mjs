#!/usr/bin/env node
// The page's wasm module (pkg/) on WebGPU outside the browser: Node with Dawn's bindings (npm
// `webgpu`), on whatever Vulkan the machine has (Mesa's lavapipe here, a real GPU elsewhere).
//
//   node scripts/webgpu-node.mjs [mode=train|measure|count|stalls] [backend=webgpu|cpu] [out=FILE] [KEY=VALUE…]
//
// train (default): runs the fashion experiment with the given FashionConfig fields (e.g.
// teacher_epochs=1 mnist_train_limit=2000 preset=small) and prints each phase's images/s and
// accuracy. measure: the steady training images/s (warm steps, src/train.rs measure_speed) of the
// small and classic CNN at batch 64 and 256 (presets=… and batches=… pick others). count: what a
// training step costs the host (see `count`), with the step replayed and run eagerly. stalls: what
// a training step waits for (scripts/stalls.mjs). Each writes its figures as JSON to `out`.
// It reads pkg/ (the module of the backend) and data/ (the page's dataset files, www/data.js) in
// the repository root.

import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureStalls } from './stalls.mjs';
import { WHOLE_FILES, FOLDER } from '../www/data.js';
import { MODULES } from '../www/pool.js';

const ROOT = resolve(import.meta.dirname, '..');

/** `key=value` arguments; numbers and true/false become numbers and booleans. */
function parseArgs(argv) {
  const args = {};
  for (const arg of argv) {
    const at = arg.indexOf('=');
    if (at < 1) throw new Error(`expected KEY=VALUE, got '${arg}'`);
    const [key, value] = [arg.slice(0, at), arg.slice(at + 1)];
    if (value === 'true' || value === 'false') args[key] = value === 'true';
    else args[key] = value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
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
  const pkg = resolve(ROOT, MODULES[backend]);
  const { default: init, Lab } = await import(resolve(pkg, 'wrong_labels.js'));
  await init({ module_or_path: await readFile(resolve(pkg, 'wrong_labels_bg.wasm')) });
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
  const report = await lab.run('fashion', config, (e) => {
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
      // The batch asked for, not the GPU recipe's.
      const ips = await lab.measure('fashion', { ...config, preset, batch_size, gpu_batch_size: null });
      console.log(`${preset.padEnd(7)} batch ${String(batch_size).padStart(3)}: ${ips.toFixed(0)} training images/s`);
      rows.push({ preset, batch_size, images_per_second: ips });
    }
  }
  return { rows };
}

/** The WebGPU calls `count` counts: those that build a step's work, and those that run it. */
const CALLS = {
  GPUDevice: ['createBindGroup', 'createBuffer', 'createCommandEncoder'],
  GPUQueue: ['writeBuffer', 'submit'],
  GPUBuffer: ['mapAsync'],
  GPUComputePassEncoder: ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect'],
};

/** Wraps the WebGPU prototypes' methods in CALLS so that each call is counted in `counts`. */
function countCalls(counts) {
  for (const [type, methods] of Object.entries(CALLS)) {
    for (const method of methods) {
      const original = globalThis[type].prototype[method];
      counts[method] = 0;
      globalThis[type].prototype[method] = function (...args) {
        counts[method]++;
        return original.apply(this, args);
      };
    }
  }
}

/** CPU seconds of this process's main thread (Linux; the thread that runs the wasm). */
async function mainThreadSeconds() {
  const fields = (await readFile(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

/**
 * What one training step costs the host: the WebGPU calls and the main thread's CPU time, per
 * teacher step of the fashion experiment (classic CNN, batch 64 and 256 unless `presets=` and
 * `batches=` say otherwise), replayed and run eagerly (`replay=false`). Each figure is the
 * difference between two runs that differ only in the teacher's steps (`steps=6,16`: both past
 * the warm-up and the recording), divided by the steps between them, after a run that compiles
 * the shaders: what a step adds, warm-up and compilation left out.
 */
async function count(lab, { presets = 'classic', batches = '64,256', steps = '6,16', modes = 'replayed,eager', ...config }) {
  const counts = {};
  countCalls(counts);
  const [few, many] = String(steps).split(',').map(Number);
  const rows = [];
  for (const preset of String(presets).split(',')) {
    for (const batch_size of String(batches).split(',').map(Number)) {
      for (const mode of String(modes).split(',')) {
        // The smallest run around the teacher: one student step each, a test set of one batch.
        const run = async (teacherSteps) => {
          const before = { ...counts, seconds: await mainThreadSeconds() };
          await lab.run('fashion', {
            ...config, preset, batch_size, gpu_batch_size: null, replay: mode === 'replayed', teacher_epochs: 1, student_epochs: 1, control_epochs: 1,
            mnist_train_limit: teacherSteps * batch_size, fashion_train_limit: batch_size, control_limit: batch_size, mnist_test_limit: batch_size,
          }, () => {});
          const seconds = await mainThreadSeconds();
          return Object.fromEntries(Object.keys(before).map((k) => [k, (k === 'seconds' ? seconds : counts[k]) - before[k]]));
        };
        await run(few);
        const [a, b] = [await run(few), await run(many)];
        const row = { preset, batch_size, mode, ...Object.fromEntries(Object.keys(a).map((k) => [k, (b[k] - a[k]) / (many - few)])) };
        const { seconds, ...calls } = row;
        console.log(`${preset} batch ${batch_size}, ${mode}: per step ${Object.entries(calls).filter(([k]) => k in counts).map(([k, v]) => `${k} ${+v.toFixed(2)}`).join(', ')}; main thread ${(1000 * seconds).toFixed(1)} ms`);
        rows.push(row);
      }
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
} else if (mode === 'count') {
  await loadData(lab);
  result = await count(lab, config);
} else if (mode === 'stalls') {
  await loadData(lab);
  result = await measureStalls(lab);
} else {
  throw new Error(`unknown mode '${mode}' (train, measure, count or stalls)`);
}
if (out) await writeFile(out, JSON.stringify({ mode, backend, adapter, config, ...result }, null, 1));
// Dawn keeps the process alive; the work is done.
process.exit(0);
