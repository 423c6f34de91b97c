// Benchmark (prints figures; asserts nothing): the default run (?autorun=1) in each engine, one
// after another in one script run: time from load to report, the worker count chosen and how, and
// the figures. Run by scripts/bench after scripts/build-web; WebKit needs Xvfb (scripts/test
// installs the engines).

import { resolve } from 'node:path';
import { serve } from './server.mjs';
import { report, start } from './engines.mjs';

const server = await serve(resolve(import.meta.dirname, '../../dist'));
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const rows = [];
for (const name of ['chromium', 'firefox', 'webkit']) {
  const engine = await start(name);
  try {
    const page = await engine.newPage();
    const started = Date.now();
    await page.goto(`${server.url}?autorun=1`);
    const r = await report(page);
    const measured = r.backend.measured.filter((m) => m.backend === 'cpu').map((m) => `${m.workers}: ${Math.round(m.images_per_second)}`).join(', ');
    rows.push({ name, seconds: (Date.now() - started) / 1000, workers: r.config.workers, measured,
      figures: `teacher ${pct(r.teacher.test_accuracy)}, students ${r.students.map((s) => pct(s.test_accuracy)).join(' / ')}, control ${pct(r.control.test_accuracy)}` });
  } finally {
    await engine.close();
  }
}
server.close();
console.log('the default run (?autorun=1) in each engine, one after another; seconds from load to report');
console.log('engine    seconds  workers  (images/s measured at each count)  figures');
for (const r of rows) console.log(`${r.name.padEnd(9)} ${r.seconds.toFixed(0).padStart(7)}  ${String(r.workers).padStart(7)}  (${r.measured})  ${r.figures}`);
const [firefox, webkit] = ['firefox', 'webkit'].map((n) => rows.find((r) => r.name === n));
console.log(`webkit / firefox time: ${(webkit.seconds / firefox.seconds).toFixed(2)}×`);
