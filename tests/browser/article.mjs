// The article preset in headless Chromium (prints figures; asserts nothing): `?preset=article&autorun=1`
// on the CPU path, every worker. About an hour on a 2-core machine. Run after scripts/build-web:
//   node tests/browser/article.mjs [extra URL settings]
// The report is written to out/article-report.json.

import { resolve } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { serve } from './server.mjs';
import { launch, open, waitForReport } from './browser.mjs';

const OUT = resolve(import.meta.dirname, '../../out');
const server = await serve(resolve(import.meta.dirname, '../../dist'));
const browser = await launch({ webgpu: false });
try {
  const loaded = Date.now();
  const { page, errors } = await open(browser, `${server.url}?preset=article&autorun=1${process.argv[2] ? `&${process.argv[2]}` : ''}`);
  const report = await waitForReport(page, null, 3 * 3600_000);
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  const epochs = (h) => h.map((e) => pct(e.test_accuracy)).join(', ');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}/article-report.json`, JSON.stringify(report, null, 2));
  console.log(await page.textContent('#fashion-eta'));
  console.log(`${report.backend.name}; ${Math.round((Date.now() - loaded) / 1000)} s from load to report (${Math.round(report.seconds)} s in the run)`);
  console.log(`teacher ${pct(report.teacher.test_accuracy)} (epochs: ${epochs(report.teacher.history)}), ${Math.round(report.teacher.images_per_second)} images/s`);
  for (const s of report.students) console.log(`student ${s.normalize} ${pct(s.test_accuracy)} (epochs: ${epochs(s.history)}), ${Math.round(s.images_per_second)} images/s`);
  console.log(`control ${pct(report.control.test_accuracy)}`);
  console.log(`wasm memory of each worker (its peak), MB: ${(await page.evaluate(() => window.wrongLabels.memory())).map((b) => Math.round(b / 1e6)).join(', ')}`);
  if (errors.length) console.log('console errors:', errors);
} finally {
  await browser.close();
  server.close();
}
