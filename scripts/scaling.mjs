#!/usr/bin/env node
// Prints figures, asserts nothing: training images/s of the page's CPU path at 1, 2, 4, 8 and 16
// workers. Each worker is a Node worker thread with its own instance of the CPU module (pkg/cpu),
// joined to the others by the page's own exchange (www/group.js over MessageChannels), as the
// page's Web Workers are; each count is timed as the page times a backend (Lab.measure: warm
// training steps of the fashion experiment's CNN on random images).
//
//   node scripts/scaling.mjs [workers=1,2,4,8,16] [preset=classic] [batch=64] [all=0]
//
// Counts above the machine's cores are skipped (all=1 runs them anyway). After scripts/build-web.

import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const ROOT = resolve(import.meta.dirname, '..');

if (isMainThread) {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
  const cores = availableParallelism();
  const counts = (args.workers ?? '1,2,4,8,16').split(',').map(Number).filter((n) => n >= 1 && (args.all === '1' || n <= cores));
  const config = { preset: args.preset ?? 'classic', batch_size: Number(args.batch ?? 64) };
  console.log(`the page's CPU path in Node worker threads, ${config.preset} CNN, batch ${config.batch_size}, ${cores} cores; training images/s over all workers`);
  let one = null;
  for (const size of counts) {
    const ips = await measure(size, config);
    one ??= size === 1 ? ips : null;
    console.log(`${String(size).padStart(3)} worker${size > 1 ? 's' : ' '}: ${Math.round(ips).toLocaleString('en').padStart(7)} images/s${one ? `  (${(ips / one).toFixed(2)}× one)` : ''}`);
  }
} else {
  await work(workerData);
}

/** Starts `size` worker threads joined pairwise, times them, ends them; resolves to images/s. */
async function measure(size, config) {
  const ports = Array.from({ length: size }, () => new Array(size).fill(null));
  for (let a = 0; a < size; a++) {
    for (let b = a + 1; b < size; b++) {
      const { port1, port2 } = new MessageChannel();
      [ports[a][b], ports[b][a]] = [port1, port2];
    }
  }
  const wasm = await readFile(resolve(ROOT, 'pkg/cpu/wrong_labels_bg.wasm'));
  const workers = ports.map((own, rank) => new Worker(new URL(import.meta.url), {
    workerData: { rank, size, config, wasm, ports: own },
    transferList: own.filter(Boolean),
  }));
  try {
    const results = await Promise.all(workers.map((w) => new Promise((done, fail) => {
      w.once('message', done);
      w.once('error', fail);
    })));
    return results[0];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One worker: the page's worker.js, reduced to what a measurement needs. */
async function work({ rank, size, config, wasm, ports }) {
  const { Group } = await import('../www/group.js');
  const { default: init, Lab } = await import(resolve(ROOT, 'pkg/cpu/wrong_labels.js'));
  await init({ module_or_path: wasm });
  const lab = new Lab();
  await lab.init('cpu');
  const group = new Group(rank, size, ports);
  lab.join(rank, size, (parts) => group.gather(parts));
  group.begin(1);
  parentPort.postMessage(await lab.measure('fashion', { ...config, workers: size }));
}
