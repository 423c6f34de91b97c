// Benchmark (prints figures; asserts nothing): training images/s of the fashion experiment's CNNs in
// headless Chromium — the CPU path with one worker and with one per core, in the page and in a
// cross-origin iframe of a page without COOP/COEP headers, and WebGPU on whatever adapter Chromium
// finds (SwiftShader here) — at batch 64 and 256; the dataset bytes of a first and a second visit.
// Run by scripts/bench after scripts/build-web. BENCH_IMAGES: training images per phase on the CPU
// path; BENCH_GPU_IMAGES: on WebGPU; BENCH_ONLY: a regular expression over "where/backend/model/batch"
// (e.g. "page/cpu/classic/64") that picks the cases to run; BENCH_REPEAT: how many times each CPU case
// runs, the cases taking turns, so that a slow minute of the machine falls on every case alike (the
// speed-ups are then of the medians).

import { resolve } from 'node:path';
import { serve, serveHost } from './server.mjs';
import { launch, waitForReport } from './browser.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');
const images = Number(process.env.BENCH_IMAGES || 2048);
const gpuImages = Number(process.env.BENCH_GPU_IMAGES || 256);
const server = await serve(DIST);
const host = await serveHost();
const only = new RegExp(process.env.BENCH_ONLY || '');
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT || 1));
const rows = [];

const query = (backend, workers, model, batch, n) => `experiment=fashion&backend=${backend}&workers=${workers}&model=${model}&batch_size=${batch}`
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

async function bench(backend, all, rounds = 1) {
  const cases = all.filter(({ where, model, batch }) => only.test(`${where}/${backend}/${model}/${batch}`));
  if (!cases.length) return;
  const browser = await launch({ webgpu: backend === 'webgpu' });
  // One context per browser: its later pages are second visits (datasets from the cache).
  const context = await browser.newContext();
  try {
    for (let round = 0; round < rounds; round++) for (const { where, workers, model, batch, n } of cases) {
      const before = server.stats.datasetBytes;
      const report = await measure(context, `${server.url}?${query(backend, workers, model, batch, n)}`, where === 'iframe');
      const ips = report.images_per_second;
      rows.push({ where, backend, workers: report.config.workers, model, batch, n, teacher: ips.teacher, student: ips.students, relabel: ips.relabel, downloaded: server.stats.datasetBytes - before });
    }
  } finally {
    await browser.close();
  }
}

const grid = (where, ns, workerCounts) => ['small', 'classic'].flatMap((model) => [64, 256].flatMap((batch) =>
  workerCounts.map((workers) => ({ where, workers, model, batch, n: ns }))));
await bench('cpu', [...grid('page', images, [1, 0]), ...grid('iframe', images, [1, 0])], repeat);
await bench('webgpu', grid('page', gpuImages, [1]));
server.close();
host.close();

console.log('fashion experiment, training images/s (teacher on MNIST, students on FashionMNIST); workers 0 in the URL = one per core');
console.log('where   backend workers model   batch images  teacher  student  relabel  dataset bytes downloaded');
for (const r of rows) {
  console.log(`${r.where.padEnd(7)} ${r.backend.padEnd(7)} ${String(r.workers).padStart(7)} ${r.model.padEnd(7)} ${String(r.batch).padStart(5)} ${String(r.n).padStart(6)}`
    + ` ${r.teacher.toFixed(1).padStart(8)} ${r.student.toFixed(1).padStart(8)} ${r.relabel.toFixed(1).padStart(8)}  ${r.downloaded}`);
}
const median = (values) => values.sort((a, b) => a - b)[(values.length - 1) >> 1];
const ratio = (where, model, batch) => {
  const runs = rows.filter((r) => r.where === where && r.backend === 'cpu' && r.model === model && r.batch === batch);
  const one = runs.filter((r) => r.workers === 1);
  const all = runs.filter((r) => r.workers !== 1);
  if (!one.length || !all.length) return null;
  const speedup = (phase) => (median(all.map((r) => r[phase])) / median(one.map((r) => r[phase]))).toFixed(2);
  return `${where} ${model} batch ${batch}: ${all[0].workers} workers / 1 = teacher ${speedup('teacher')}×, student ${speedup('student')}×`;
};
console.log(`\nspeed-up of all workers over one${repeat > 1 ? ` (medians of ${repeat} runs each)` : ''}:`);
for (const where of ['page', 'iframe']) for (const model of ['small', 'classic']) for (const batch of [64, 256]) { const line = ratio(where, model, batch); if (line) console.log(line); }
