// Prints figures, asserts nothing: the memory of RUNS default runs (`?autorun=1`, then Run again)
// in one page of headless Chromium on the CPU path. After each run: each worker's wasm memory (it
// grows to its peak and never shrinks, so a run that needed more than the last shows here), the
// page's JS heap, and the peak resident memory of all of Chromium's processes during the run,
// sampled every 250 ms from /proc, and after the run by process type. Run it after scripts/build-web: node tests/browser/memory.mjs

import { resolve } from 'node:path';
import { chromiumRss, launch, open, waitForReport } from './browser.mjs';
import { serve } from './server.mjs';

const RUNS = Number(process.env.RUNS || 3);
const MB = (bytes) => Math.round(bytes / 1e6);

const total = (byType) => Object.values(byType).reduce((a, b) => a + b, 0);
const breakdown = (byType) => Object.entries(byType).map(([type, bytes]) => `${type} ${MB(bytes)}`).join(', ');

const site = await serve(resolve('dist'));
const browser = await launch({ webgpu: false });
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, total(chromiumRss())); }, 250);
try {
  console.log(`before loading: Chromium ${MB(total(chromiumRss()))} MB resident (${breakdown(chromiumRss())})`);
  const { page, errors } = await open(browser, `${site.url}?autorun=1`);
  let report = null;
  for (let run = 1; run <= RUNS; run++) {
    peak = total(chromiumRss());
    if (run > 1) await page.click('#fashion-run');
    report = await waitForReport(page, report);
    const wasm = await page.evaluate(() => window.wrongLabels.memory());
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
    const pct = (x) => (x * 100).toFixed(2);
    const figures = `teacher ${pct(report.teacher.test_accuracy)}%, students ${report.students.map((s) => pct(s.test_accuracy)).join(' / ')}%, control ${pct(report.control.test_accuracy)}%`;
    console.log(`run ${run}: wasm memory per worker ${wasm.map(MB).join(', ')} MB; page JS heap ${MB(heap)} MB; `
      + `Chromium peak ${MB(peak)} MB resident (after it: ${breakdown(chromiumRss())}); ${figures}`);
  }
  if (errors.length) console.log(`console errors: ${errors.join(' | ')}`);
} finally {
  clearInterval(sampler);
  await browser.close();
  site.close();
}
