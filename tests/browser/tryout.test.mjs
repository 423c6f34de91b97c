// Trying the trained models in the page: the drawing pad (mouse and touch), a garment of the
// gallery, a model downloaded, scored by the command line, and loaded back; damaged files refused.
// Needs `scripts/build-web`, and the command line built (`cargo build --release`), as scripts/test does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from './server.mjs';
import { launch, open, waitForReport } from './browser.mjs';
import { SMALL } from './engines.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/wrong-labels/target'), 'release/wrong-labels');

let server;
before(async () => { server = await serve(resolve(ROOT, 'dist')); });
after(() => server.close());

/** Each model row of a section's panel: its name, its bars' probabilities, its most probable digit. */
const answers = (page, section) => page.$$eval(`#${section}-tryout .model-row`, (rows) => rows.map((row) => ({
  name: row.dataset.model,
  probabilities: [...row.querySelectorAll('.bar')].map((b) => Number(b.dataset.p)),
  top: row.dataset.top,
})));

/** Waits until every model has answered for what is on the pad now. */
async function settled(page, section) {
  await page.waitForFunction((section) => {
    const t = window.wrongLabels.tryouts[section];
    return !t.inFlight && !t.pending && [...document.querySelectorAll(`#${section}-tryout .model-row`)].every((r) => r.dataset.top);
  }, section, { timeout: 10_000 });
}

/** A stroke on the pad through `points` (fractions of its side), with the mouse. */
async function mouseStroke(page, points) {
  await page.locator('#fashion-tryout canvas.pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#fashion-tryout canvas.pad').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

/** The same with a finger: touch events, which the browser turns into pointer events of type touch. */
async function touchStroke(page, cdp, points) {
  await page.locator('#fashion-tryout canvas.pad').scrollIntoViewIfNeeded();
  const box = await page.locator('#fashion-tryout canvas.pad').boundingBox();
  const at = ([x, y]) => ({ x: box.x + x * box.width, y: box.y + y * box.height });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(points[0])] });
  for (const p of points.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(p)] });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

const vertical = Array.from({ length: 9 }, (_, i) => [0.5, 0.15 + i * 0.09]);

test('after a run, a drawn 1 is read as 1 by the teacher, with every model\'s bars; by touch too; a garment clicked; models downloaded, scored by the CLI and loaded back', async (t) => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, context, errors } = await open(browser, `${server.url}?${SMALL}`);
    const report = await waitForReport(page);
    await page.locator('#fashion-tryout').waitFor({ state: 'visible' });
    const names = await page.$$eval('#fashion-tryout .model-row', (rows) => rows.map((r) => r.dataset.model));
    assert.deepEqual(names, ['teacher', 'student raw', 'student standardize', 'control']);

    await mouseStroke(page, vertical);
    await settled(page, 'fashion');
    const read = await answers(page, 'fashion');
    t.diagnostic(`a vertical stroke: ${read.map((a) => `${a.name} ${a.top}`).join(', ')}`);
    assert.equal(read[0].top, '1', 'the teacher reads a 1');
    for (const a of read) {
      const sum = a.probabilities.reduce((x, y) => x + y);
      assert.ok(Math.abs(sum - 1) <= 0.01, `${a.name}'s bars sum to ${sum}`);
      assert.equal(a.top, String(a.probabilities.indexOf(Math.max(...a.probabilities))), `${a.name}'s top digit is marked`);
    }
    // What the models saw: 28×28, the stroke scaled to 20 rows, centred.
    const preview = await page.$eval('#fashion-tryout canvas.preview', (c) => {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const rows = new Set();
      for (let i = 0; i < c.width * c.height; i++) if (data[4 * i] < 128) rows.add(Math.floor(i / c.width));
      return { width: c.width, height: c.height, rows: [...rows].sort((a, b) => a - b) };
    });
    assert.deepEqual([preview.width, preview.height], [28, 28]);
    assert.equal(preview.rows.length, 20, `inked rows: ${preview.rows}`);
    assert.ok(preview.rows[0] >= 3 && preview.rows[19] <= 24, `inked rows: ${preview.rows}`);
    const timings = await page.evaluate(() => window.wrongLabels.tryouts.fashion.timings);
    t.diagnostic(`${timings.length} answers while drawing, median ${median(timings).toFixed(1)} ms (scripts/bench measures it)`);

    // A finger: clear, then the same stroke by touch.
    await page.click('#fashion-tryout [data-part="pad-clear"]');
    assert.deepEqual((await answers(page, 'fashion')).map((a) => a.top), ['', '', '', ''], 'Clear empties the bars');
    const cdp = await context.newCDPSession(page);
    await touchStroke(page, cdp, vertical);
    await settled(page, 'fashion');
    assert.equal((await answers(page, 'fashion'))[0].top, '1', 'drawn by touch, the teacher reads a 1');
    assert.equal(await page.$eval('#fashion-tryout canvas.pad', (c) => getComputedStyle(c).touchAction), 'none', 'a finger draws instead of scrolling');

    // A garment of the gallery: every model answers, the teacher with the digit it gave it.
    await page.click('#relabel-gallery figure:nth-child(1) canvas');
    await page.waitForFunction(() => /the teacher called/.test(document.querySelector('#fashion-tryout [data-part="answers-caption"]').textContent));
    await settled(page, 'fashion');
    const garment = await answers(page, 'fashion');
    assert.equal(garment[0].top, String(report.relabel.examples[0].digit), 'the teacher gives the garment the digit of the report');
    // A test garment, at random: fetched on demand (a chunk of the test set), answered by every model.
    await page.click('#fashion-tryout [data-part="test-garment"]');
    await page.waitForFunction(() => /from the test set/.test(document.querySelector('#fashion-tryout [data-part="answers-caption"]').textContent));
    await settled(page, 'fashion');
    t.diagnostic(await page.textContent('#fashion-tryout [data-part="answers-caption"]'));

    // A student's file, downloaded: the command line scores it as the page did, on the same test digits.
    await page.selectOption('#fashion-tryout [data-part="model-picker"]', 'student standardize');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#fashion-tryout [data-part="model-save"]')]);
    const dir = mkdtempSync(join(tmpdir(), 'wrong-labels-models-'));
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    assert.equal(download.suggestedFilename(), 'student-standardize.model');
    const student = report.students.find((s) => s.normalize === 'standardize');
    if (existsSync(CLI)) {
      const out = execFileSync(CLI, ['eval', '--model', file, '--data', join(ROOT, 'data'), '--mnist-test-limit', String(report.config.mnist_test_limit)], { encoding: 'utf8' });
      const scored = Number(out.match(/([\d.]+)% of the first/)[1]);
      t.diagnostic(`the page's student standardize: ${(student.test_accuracy * 100).toFixed(2)}%; wrong-labels eval: ${out.trim()}`);
      assert.ok(Math.abs(scored - student.test_accuracy * 100) <= 0.1, `eval ${scored}% against the page's ${student.test_accuracy * 100}%`);
    } else {
      assert.fail(`${CLI} is missing: build it with cargo build --release`);
    }

    // Forgotten, then loaded back from the file: the pad answers with it alone.
    await page.click('#fashion-tryout [data-part="models-forget"]');
    await page.waitForFunction(() => document.querySelectorAll('#fashion-tryout .model-row').length === 0);
    await page.setInputFiles('#fashion-tryout [data-part="model-load"]', file);
    await page.waitForFunction(() => /Loaded student standardize/.test(document.querySelector('#fashion-tryout [data-part="tryout-status"]').textContent));
    assert.deepEqual(await page.$$eval('#fashion-tryout .model-row', (rows) => rows.map((r) => r.dataset.model)), ['student standardize']);

    // Damaged and foreign files: refused with the reason; the loaded model stays.
    const bytes = readFileSync(file);
    for (const [name, content, reason] of [['cut.model', bytes.subarray(0, bytes.length - 500), /cut short/], ['photo.model', Buffer.from('\xff\xd8\xff\xe0 JFIF'), /not a Wrong Labels model file/]]) {
      writeFileSync(join(dir, name), content);
      await page.setInputFiles('#fashion-tryout [data-part="model-load"]', join(dir, name));
      await page.waitForFunction((name) => document.querySelector('#fashion-tryout [data-part="tryout-status"]').textContent.startsWith(`${name} was not loaded`), name);
      assert.match(await page.textContent('#fashion-tryout [data-part="tryout-status"]'), reason);
    }
    assert.deepEqual(await page.$$eval('#fashion-tryout .model-row', (rows) => rows.map((r) => r.dataset.model)), ['student standardize']);
    assert.deepEqual(errors, [], 'console errors');
  } finally {
    await browser.close();
  }
});

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
}

test('runs kept: two runs with other settings are listed after a reload, the first one\'s settings load back, the CSV has both; no storage or a full one: a message, the page still works', async (t) => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await open(browser, `${server.url}?experiment=toy&toy_runs=3&autorun=1`);
    const first = await waitForReport(page);
    await page.fill('#toy-settings [name="toy_runs"]', '4');
    await page.dispatchEvent('#toy-settings [name="toy_runs"]', 'change');
    await page.click('#toy-run');
    await waitForReport(page, first);
    await page.reload();
    await page.locator('#runs table tr.run').first().waitFor();
    const rows = await page.$$eval('#runs table tr.run', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.match(rows[0], /toy_runs=4/, 'the latest first');
    assert.match(rows[1], /toy_runs=3/);
    assert.equal(await page.inputValue('#toy-settings [name="toy_runs"]'), '4', 'the reload kept the URL\'s settings');
    // The first run's settings, loaded back.
    await page.click('#runs table tr.run:nth-child(3)');
    assert.equal(await page.inputValue('#toy-settings [name="toy_runs"]'), '3');
    assert.match(page.url(), /toy_runs=3/);
    assert.match(await page.textContent('#runs .run-detail'), /originals right \(of 32\): [\d.]+/);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#runs [data-part="runs-csv"]')]);
    const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
    t.diagnostic(lines.join(' | '));
    assert.equal(lines.length, 3, 'a header and two rows');
    assert.match(lines[0], /^when,experiment,settings,backend,workers,seconds,originals right \(of 32\)$/);
    assert.match(lines[1], /,toy,.*toy_runs=3/);
    await page.click('#runs [data-part="runs-clear"]');
    await page.reload();
    assert.equal(await page.locator('#runs table tr.run').count(), 0, 'Clear forgets them');
    assert.deepEqual(errors, []);

    // Storage refused, then full: the run completes and the page says the run is not kept.
    for (const [why, script, message] of [
      ['no storage', () => Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('denied', 'SecurityError'); } }), /not kept in this browser/],
      ['full', () => { Storage.prototype.setItem = () => { throw new DOMException('full', 'QuotaExceededError'); }; }, /storage for this site is full/],
    ]) {
      const visit = await open(browser, 'about:blank');
      await visit.context.addInitScript(script);
      await visit.page.goto(`${server.url}?experiment=toy&toy_runs=2&autorun=1`);
      await waitForReport(visit.page);
      assert.match(await visit.page.textContent('#runs [role="status"]'), message, why);
      assert.equal(await visit.page.locator('#runs table tr.run').count(), 1, `${why}: the run is listed`);
      assert.deepEqual(visit.errors, [], why);
      await visit.context.close();
    }
  } finally {
    await browser.close();
  }
});
