// The page in Firefox and WebKit (Safari's engine), as in Chromium: the default run, with the figures
// Chromium gives at the same worker count; a damaged cached chunk fetched again; a cancel, then a
// run again; the embed mode in a cross-origin iframe. Needs `scripts/build-web`, Debian's
// firefox-esr, webkit2gtk-driver and xvfb (scripts/test installs them).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { serve, serveHost } from './server.mjs';
import { SMALL, damageCachedChunk, figures, report, start, waitFor } from './engines.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const summary = (r) => `teacher ${pct(r.teacher.test_accuracy)}, students ${r.students.map((s) => pct(s.test_accuracy)).join(' / ')}, `
  + `control ${pct(r.control.test_accuracy)}, ${r.config.workers} workers, ${Math.round(r.seconds)} s`;

let server;
before(async () => { server = await serve(DIST); });
after(() => server.close());

/** Chromium's default run at a worker count, run once per count (the reference figures). */
const chromiumRuns = new Map();
function chromiumDefault(workers) {
  if (!chromiumRuns.has(workers)) {
    chromiumRuns.set(workers, (async () => {
      const chromium = await start('chromium');
      try {
        const page = await chromium.newPage();
        await page.goto(`${server.url}?autorun=1&workers=${workers}`);
        return await report(page);
      } finally {
        await chromium.close();
      }
    })());
  }
  return chromiumRuns.get(workers);
}

for (const name of ['firefox', 'webkit']) {
  describe(name, () => {
    let engine;
    before(async () => { engine = await start(name); });
    after(() => engine?.close());

    test(`${name}: the default run (?autorun=1), within noise of Chromium's figures at the same worker count`, async (t) => {
      const page = await engine.newPage();
      const started = Date.now();
      await page.goto(`${server.url}?autorun=1`);
      const ours = await report(page);
      const seconds = (Date.now() - started) / 1000;
      const theirs = await chromiumDefault(ours.config.workers);
      t.diagnostic(`${name}: ${summary(ours)}, ${Math.round(seconds)} s from load; ${await page.evaluate(() => document.getElementById('fashion-eta').textContent)}`);
      t.diagnostic(`chromium: ${summary(theirs)}`);
      t.diagnostic(JSON.stringify(figures(ours)) === JSON.stringify(figures(theirs)) ? 'the same figures, bit for bit' : 'the figures differ');
      const models = (r) => [r.teacher, ...r.students, r.control].map((m) => m.test_accuracy);
      models(ours).forEach((a, i) => assert.ok(Math.abs(a - models(theirs)[i]) <= 0.01, `model ${i}: ${a} against Chromium's ${models(theirs)[i]}`));
      assert.ok(ours.students.every((s) => s.test_accuracy >= 0.6) && ours.control.test_accuracy <= 0.15, summary(ours));
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test(`${name}: a damaged cached chunk is fetched again; a cancel, then a run again: the same report`, async () => {
      const page = await engine.newPage();
      // Two workers, forced: the figures depend on the count, and these runs must match.
      await page.goto(`${server.url}?${SMALL}&workers=2`);
      const first = await report(page);
      const damaged = await page.evaluate(damageCachedChunk);
      const requests = server.stats.datasetRequests;
      await page.goto(`${server.url}?${SMALL}&workers=2`);
      const second = await report(page);
      assert.equal(server.stats.datasetRequests - requests, 1, `only the damaged chunk (${damaged}) is fetched again`);
      assert.deepEqual(figures(second), figures(first), 'the same data, the same run');

      // Cancel once the teacher trains, then run again.
      await page.evaluate(() => document.getElementById('fashion-run').click());
      await waitFor(page, () => Number(document.querySelector('#phases progress')?.value) > 0, null, { what: 'the first steps' });
      await page.evaluate(() => document.getElementById('fashion-cancel').click());
      await waitFor(page, () => document.getElementById('fashion-status').textContent === 'Cancelled.', null, { timeout: 10_000, what: 'Cancelled.' });
      assert.equal(await page.evaluate(() => window.wrongLabels.cancelledBy), 'workers', 'the workers stopped the run themselves');
      await page.evaluate(() => document.getElementById('fashion-run').click());
      const third = await report(page, second);
      assert.deepEqual(figures(third), figures(first), 'a run after a cancel is the run');
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test(`${name}: embed mode in a cross-origin iframe: the report and the height posted to the parent`, async (t) => {
      const host = await serveHost();
      try {
        const page = await engine.newPage();
        await page.goto(`${host.url}?src=${encodeURIComponent(`${server.url}?embed=1&${SMALL}`)}`);
        const posted = await waitFor(page, () => window.messages.find((m) => m.data.type === 'report'), null, { what: 'a posted report' });
        const r = posted.data.report;
        t.diagnostic(`${name}, in a cross-origin iframe: ${summary(r)}`);
        assert.equal(posted.origin, new URL(server.url).origin);
        assert.ok(r.students.at(-1).test_accuracy > r.control.test_accuracy + 0.2, summary(r));
        // (Read at once: the frame may post a new height meanwhile.)
        const [heights, frame] = await page.evaluate(() => [window.messages.filter((m) => m.data.type === 'height').map((m) => m.data.height), Number(document.getElementById('demo').height)]);
        assert.ok(heights.length >= 2 && heights.every((h) => h > 100), `heights ${heights}`);
        assert.equal(frame, heights.at(-1), 'the parent sized the frame by its last height');
        await page.close();
      } finally {
        host.close();
      }
    });
  });
}
