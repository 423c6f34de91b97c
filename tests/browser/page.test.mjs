// The built page in a real browser: real data, real training, through the page's own URL settings.
// Needs `scripts/build-web` first (scripts/test does it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { serve } from './server.mjs';
import { launch, open, waitForReport } from './browser.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');
const SHOTS = resolve(import.meta.dirname, '../../out');
mkdirSync(SHOTS, { recursive: true });
// The page's default scale (small CNN, 6,000 / 6,000 / 2,000 images): ~80 s on the CPU fallback here.
const FASHION = 'experiment=fashion&preset=small&teacher_epochs=2&student_epochs=2&control_epochs=1'
  + '&mnist_train_limit=6000&fashion_train_limit=6000&mnist_test_limit=2000&autorun=1';
// SwiftShader trains at ~25 images/s, so the WebGPU run is a tenth of that: it proves the GPU path
// trains (the teacher learns); the student-versus-control claim is checked on the CPU path above.
// It takes the other normalization, so that the page runs both.
const FASHION_GPU = 'experiment=fashion&backend=webgpu&preset=small&normalize=moments&teacher_epochs=2&student_epochs=1&control_epochs=1'
  + '&mnist_train_limit=1200&fashion_train_limit=1200&mnist_test_limit=500&autorun=1';

// CIFAR-10 at a tiny scale (ResNet-18 a sixteenth wide, 600 training images): the section's whole
// path — download of only the batches needed, speed measurement and estimate, training, gallery.
const CIFAR = 'experiment=cifar&cifar_width=0.0625&cifar_train_limit=600&cifar_test_limit=300&cifar_teacher_epochs=1'
  + '&cifar_student_epochs=2&cifar_control_epochs=1&cifar_batch_size=50&autorun=1';
const CIFAR_BATCH_BYTES = 30_730_000;

let server;
before(async () => { server = await serve(DIST); });
after(() => server.close());

function checkFashion(report) {
  assert.ok(report.teacher.test_accuracy > 0.85, `teacher ${report.teacher.test_accuracy}`);
  assert.ok(report.control.test_accuracy < 0.2, `control ${report.control.test_accuracy}`);
  for (const s of report.students) {
    assert.ok(s.test_accuracy > report.control.test_accuracy + 0.12, `student ${s.normalize} ${s.test_accuracy} vs control ${report.control.test_accuracy}`);
  }
}

const status = (page) => page.textContent('#fashion-status');

/** The figures a run reports, for the test log. */
const summary = (r) => `teacher ${pct(r.teacher.test_accuracy)}, students ${r.students.map((s) => `${s.normalize} ${pct(s.test_accuracy)}`).join(', ')}, `
  + `control ${pct(r.control.test_accuracy)}, ${Math.round(r.seconds)} s`;
const pct = (x) => `${(100 * x).toFixed(2)}%`;

test('CPU fallback: fashion run, cancel then run again, second visit from the cache', async (t) => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await open(browser, `${server.url}?${FASHION}`);
    const first = await waitForReport(page);
    t.diagnostic(`page defaults on the CPU fallback: ${summary(first)}`);
    assert.match(await page.textContent('#backend'), /no WebGPU|no GPU adapter/);
    checkFashion(first);
    const table = await page.textContent('#results-table');
    for (const s of first.students) assert.ok(table.includes((s.test_accuracy * 100).toFixed(2)), 'the page shows the report\'s numbers');
    assert.equal(await page.locator('#relabel-gallery canvas').count(), first.relabel.examples.length);
    await page.screenshot({ path: `${SHOTS}/page-cpu.png`, fullPage: true });

    // Cancel mid-run, then a second full run in the same page.
    await page.click('#fashion-run');
    await page.waitForFunction(() => document.querySelectorAll('#phases progress').length >= 2);
    await page.click('#fashion-cancel');
    await page.waitForFunction(() => document.getElementById('fashion-status').textContent === 'Cancelled.');
    await page.click('#fashion-run');
    const second = await waitForReport(page, first);
    checkFashion(second);
    assert.equal(second.teacher.test_accuracy, first.teacher.test_accuracy, 'same seed, same teacher');

    // A second visit reads every dataset from the Cache API; its autorun is cancelled once training starts.
    const sentBefore = server.stats.datasetBytes;
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#phases progress'));
    assert.match(await page.textContent('#downloads'), /from the browser cache/);
    assert.equal(server.stats.datasetBytes, sentBefore, 'no dataset bytes on the second visit');
    await page.click('#fashion-cancel');
    await page.waitForFunction(() => document.getElementById('fashion-status').textContent === 'Cancelled.');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('WebGPU (SwiftShader): the toy from the URL, then a small fashion run on the GPU', async (t) => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await open(browser, `${server.url}?experiment=toy&toy_runs=10&autorun=1`);
    const toy = await waitForReport(page);
    assert.equal(toy.runs, 10);
    assert.ok(toy.teacher_correct.every((c) => c === 32), `teacher ${toy.teacher_correct}`);
    assert.ok(toy.mean_correct > 16, `toy mean ${toy.mean_correct}/32`);
    assert.ok((await page.textContent('#toy-summary')).includes(`${toy.example.student_correct}/32`));
    // "New seed" redraws from a fresh run.
    await page.click('#toy-next');
    const next = await waitForReport(page, toy);
    assert.equal(next.example.seed, toy.example.seed + 1);
    await page.screenshot({ path: `${SHOTS}/page-toy.png`, fullPage: true });

    await page.goto(`${server.url}?${FASHION_GPU}`);
    const report = await waitForReport(page, null, 900_000);
    t.diagnostic(`WebGPU (SwiftShader), 1,200 images: ${summary(report)}`);
    assert.match(await page.textContent('#backend'), /WebGPU on/);
    assert.ok(report.teacher.test_accuracy > 0.7, `teacher on WebGPU ${report.teacher.test_accuracy}`);
    assert.equal(report.students.length, 2);
    for (const s of report.students) assert.equal(s.history.length, 1);
    await page.screenshot({ path: `${SHOTS}/page-webgpu.png`, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('CPU fallback: CIFAR-10 at a tiny scale', async (t) => {
  const browser = await launch({ webgpu: false });
  try {
    if (!existsSync(`${DIST}/data/cifar-10/test_batch.bin`)) {
      // Without the files the section says how to add them and cannot be started.
      const { page } = await open(browser, `${server.url}?experiment=cifar`);
      await page.waitForFunction(() => !document.getElementById('cifar-source').textContent.startsWith('Looking'));
      assert.match(await page.textContent('#cifar-source'), /scripts\/fetch-data cifar/);
      assert.ok(await page.isDisabled('#cifar-run'));
      t.skip('dist/ has no CIFAR-10 files (scripts/fetch-data cifar found no source): only the missing-data message was checked');
      return;
    }
    const sentBefore = server.stats.datasetBytes;
    const { page, errors } = await open(browser, `${server.url}?${CIFAR}`);
    const report = await waitForReport(page);
    t.diagnostic(`CIFAR-10, tiny: teacher ${pct(report.teacher.train_accuracy)} train / ${pct(report.teacher.test_accuracy)} test, `
      + `kept ${report.wrong.kept}, student ${pct(report.student.test_accuracy)}, control ${pct(report.control.test_accuracy)}, ${Math.round(report.seconds)} s`);
    assert.equal(server.stats.datasetBytes - sentBefore, 2 * CIFAR_BATCH_BYTES, 'only data_batch_1.bin and test_batch.bin are downloaded');
    assert.match(await page.textContent('#cifar-eta'), /Estimated time: .* measured at \d+ images\/s/);
    assert.equal(report.wrong.total, 600);
    assert.equal(report.wrong.kept, 600 - Math.round(report.teacher.train_accuracy * 600), 'kept = the images the teacher got wrong');
    assert.equal(report.student.history.length, 2);
    for (const acc of [report.teacher.test_accuracy, report.student.test_accuracy, report.control.test_accuracy]) assert.ok(acc >= 0 && acc <= 1);
    assert.equal(await page.locator('#cifar-gallery canvas').count(), report.wrong.examples.length);
    assert.ok(report.wrong.examples.every((ex) => ex.class !== ex.label), 'every kept image has a wrong label');
    assert.equal(await page.locator('#cifar-matrix tr').count(), 11);
    assert.ok((await page.textContent('#cifar-table')).includes(`${report.wrong.kept} of 600`));
    await page.screenshot({ path: `${SHOTS}/page-cifar.png`, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
