// Benchmark (prints figures; asserts nothing): training images/s of the fashion experiment's CNNs in
// headless Chromium — the CPU path with one worker and with one per core, in the page and in a
// cross-origin iframe of a page without COOP/COEP headers, and WebGPU on whatever adapter Chromium
// finds (SwiftShader here) — at batch 64 and 256; the dataset bytes of a first and a second visit.
// Each CPU case runs twice in a fresh browser profile, served with GitHub Pages' cache headers: a
// first visit, which downloads everything and has V8 compile its optimized wasm code while the
// workers train, and a second, which reads the HTTP cache and V8's cache of that code.
// Run by scripts/bench after scripts/build-web. BENCH_IMAGES: training images per phase on the CPU
// path; BENCH_GPU_IMAGES: on WebGPU; BENCH_ONLY: a regular expression over "where/backend/model/batch"
// (e.g. "page/cpu/classic/64") that picks the cases to run; BENCH_REPEAT: how many times each CPU case
// runs, the cases taking turns, so that a slow minute of the machine falls on every case alike (the
// speed-ups are then of the medians).

import { resolve } from 'node:path';
import { serve, serveHost } from './server.mjs';
import { launchProfile, waitForReport } from './browser.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');
const images = Number(process.env.BENCH_IMAGES || 2048);
const gpuImages = Number(process.env.BENCH_GPU_IMAGES || 256);
const server = await serve(DIST, undefined, { cache: true });
const host = await serveHost();
const only = new RegExp(process.env.BENCH_ONLY || '');
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT || 1));
const rows = [];

// Each case at its own batch, on WebGPU too (not the GPU recipe's).
const query = (backend, workers, model, batch, n) => `experiment=fashion&backend=${backend}&workers=${workers}&model=${model}&batch_size=${batch}&gpu_batch_size=${batch}`
  + `&teacher_epochs=1&student_epochs=1&control_epochs=1&mnist_train_limit=${n}&fashion_train_limit=${n}&mnist_test_limit=256&autorun=1`;

/** One run, in the page or in an iframe of the host; returns its report. */
async function measure(context, url, inFrame) {
  const page = await context.newPage();
  try {
    if (!inFrame) {
      await page.goto(url);
      return await waitForReport(page, null, 3_600_000);
    }
    await page.goto(`${host.url}?src=${encodeURIComponent(url)}`);
    await page.frameLocator('#demo').locator('#fashion-status').waitFor();
    return await waitForReport(page.frames().find((f) => f.url().startsWith(server.url)), null, 3_600_000);
  } finally {
    await page.close();
  }
}

/** Runs the cases that BENCH_ONLY picks, each in a fresh profile: `visits` visits, `rounds` times. */
async function bench(backend, all, { rounds = 1, visits = 1 } = {}) {
  const cases = all.filter(({ where, model, batch }) => only.test(`${where}/${backend}/${model}/${batch}`));
  for (let round = 0; round < rounds; round++) for (const { where, workers, model, batch, n } of cases) {
    const browser = await launchProfile({ webgpu: backend === 'webgpu' });
    try {
      for (let visit = 1; visit <= visits; visit++) {
        const before = { ...server.stats };
        const report = await measure(browser.context, `${server.url}?${query(backend, workers, model, batch, n)}`, where === 'iframe');
        const ips = report.images_per_second;
        rows.push({ where, backend, visit, workers: report.config.workers, model, batch, n, teacher: ips.teacher, student: ips.students, relabel: ips.relabel,
          wasm: server.stats.wasmBytes - before.wasmBytes, downloaded: server.stats.datasetBytes - before.datasetBytes });
      }
    } finally {
      await browser.close();
    }
  }
}

const grid = (where, ns, workerCounts) => ['small', 'classic'].flatMap((model) => [64, 256].flatMap((batch) =>
  workerCounts.map((workers) => ({ where, workers, model, batch, n: ns }))));
await bench('cpu', [...grid('page', images, [1, 0]), ...grid('iframe', images, [1, 0])], { rounds: repeat, visits: 2 });
await bench('webgpu', grid('page', gpuImages, [1]));
server.close();
host.close();

console.log('fashion experiment, training images/s (teacher on MNIST, students on FashionMNIST); workers 0 in the URL = one per core');
console.log('visit 1 is a first visit to the page in a fresh profile, 2 the second; bytes downloaded: of the wasm module and of the datasets');
console.log('where   backend visit workers model   batch images  teacher  student  relabel  wasm bytes  dataset bytes');
for (const r of rows) {
  console.log(`${r.where.padEnd(7)} ${r.backend.padEnd(7)} ${String(r.visit).padStart(5)} ${String(r.workers).padStart(7)} ${r.model.padEnd(7)} ${String(r.batch).padStart(5)} ${String(r.n).padStart(6)}`
    + ` ${r.teacher.toFixed(1).padStart(8)} ${r.student.toFixed(1).padStart(8)} ${r.relabel.toFixed(1).padStart(8)} ${String(r.wasm).padStart(11)}  ${r.downloaded}`);
}
const median = (values) => values.sort((a, b) => a - b)[(values.length - 1) >> 1];
const ratio = (where, model, batch, visit) => {
  const runs = rows.filter((r) => r.where === where && r.backend === 'cpu' && r.model === model && r.batch === batch && r.visit === visit);
  const one = runs.filter((r) => r.workers === 1);
  const all = runs.filter((r) => r.workers !== 1);
  if (!one.length || !all.length) return null;
  const speedup = (phase) => (median(all.map((r) => r[phase])) / median(one.map((r) => r[phase]))).toFixed(2);
  return `${where} ${model} batch ${batch}, visit ${visit}: ${all[0].workers} workers / 1 = teacher ${speedup('teacher')}×, student ${speedup('student')}×`;
};
console.log(`\nspeed-up of all workers over one${repeat > 1 ? ` (medians of ${repeat} runs each)` : ''}:`);
for (const where of ['page', 'iframe']) for (const model of ['small', 'classic']) for (const batch of [64, 256]) for (const visit of [1, 2]) {
  const line = ratio(where, model, batch, visit);
  if (line) console.log(line);
}
