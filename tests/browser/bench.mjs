// Benchmark (prints figures; asserts nothing): training and relabelling images/s of the classic CNN in
// headless Chromium, on WebGPU (SwiftShader here) and on the CPU fallback, at batch 64 and 256; the
// dataset bytes a first and a second visit download. Run by scripts/bench after scripts/build-web.

import { resolve } from 'node:path';
import { serve } from './server.mjs';
import { launch, waitForReport } from './browser.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');
const images = Number(process.env.BENCH_IMAGES || 512);
const server = await serve(DIST);
const rows = [];

for (const backend of ['cpu', 'webgpu']) {
  const browser = await launch({ webgpu: backend === 'webgpu' });
  // One browser context per backend: its second page is a second visit (datasets from the cache).
  const context = await browser.newContext();
  try {
    for (const batch of [64, 256]) {
      const query = `experiment=fashion&preset=classic&backend=${backend}&batch_size=${batch}&teacher_epochs=1&student_epochs=1&control_epochs=1`
        + `&mnist_train_limit=${images}&fashion_train_limit=${images}&mnist_test_limit=256&autorun=1`;
      const before = server.stats.datasetBytes;
      const page = await context.newPage();
      await page.goto(`${server.url}?${query}`);
      const report = await waitForReport(page, null, 3_600_000);
      const downloaded = server.stats.datasetBytes - before;
      const ips = report.images_per_second;
      rows.push({ where: `browser ${backend}`, batch, teacher: ips.teacher, student: ips.students, relabel: ips.relabel, downloaded });
      await page.close();
    }
  } finally {
    await browser.close();
  }
}
server.close();

console.log(`classic CNN, ${images} training images per phase; images/s`);
console.log('where            batch  teacher  student  relabel  dataset bytes downloaded');
for (const r of rows) {
  console.log(`${r.where.padEnd(16)} ${String(r.batch).padStart(5)} ${r.teacher.toFixed(1).padStart(8)} ${r.student.toFixed(1).padStart(8)} ${r.relabel.toFixed(1).padStart(8)}  ${r.downloaded}`);
}
