// The controller: reads the settings, owns the worker, feeds the data, and wires events to views.

import { readState, writeState, fashionConfig, toyConfig } from './state.js';
import { loadDataset } from './data.js';
import { Phases, Curves, el, pct, thumbnail, heatmap, drawToy, FASHION_CLASSES } from './views.js';

const $ = (id) => document.getElementById(id);
const state = readState();
const published = { lastReport: null, state, busy: false };
window.wrongLabels = published;

// ---- settings forms <-> state <-> URL ----
const forms = [$('fashion-settings'), $('toy-settings')];
for (const form of forms) {
  for (const input of form.elements) {
    if (input.name in state) input.value = state[input.name];
    input.addEventListener('change', () => {
      state[input.name] = input.type === 'number' ? Number(input.value) : input.value;
      writeState(state);
    });
  }
}

function showExperiment(name) {
  state.experiment = name;
  writeState(state);
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.experiment === name);
  $('fashion').hidden = name !== 'fashion';
  $('toy').hidden = name !== 'toy';
}
for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => showExperiment(tab.dataset.experiment));

// ---- the worker ----
let worker = null;
let workerBackend = null;
let ready = null;
const pending = new Map();
let nextId = 1;

/** Starts a worker on the chosen backend; a dead or differently configured one is replaced. */
function ensureWorker() {
  if (worker && workerBackend === state.backend) return ready;
  worker?.terminate();
  workerBackend = state.backend;
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const loaded = { mnist: null, fashion: null };
  ready = new Promise((resolve, reject) => {
    worker.onmessage = ({ data: msg }) => {
      if (msg.type === 'ready') {
        $('backend').textContent = `Backend: ${msg.note}`;
        $('backend').classList.toggle('warn', msg.backend === 'cpu');
        published.backend = msg.backend;
        resolve(loaded);
      } else if (msg.type === 'loaded') {
        loaded[msg.name]?.resolve();
      } else if (msg.type === 'error' && msg.during === 'data') {
        loaded.mnist?.reject(new Error(msg.message));
        loaded.fashion?.reject(new Error(msg.message));
      } else if (msg.type === 'error' && msg.during === 'init') {
        reject(new Error(msg.message));
      } else {
        const run = pending.get(msg.id);
        if (run) run.handle(msg);
      }
    };
    worker.onerror = (e) => {
      const message = e.message || 'the worker failed to start (is the page served over http?)';
      reject(new Error(message));
      for (const run of pending.values()) run.handle({ type: 'error', message, fatal: true });
    };
  });
  worker.postMessage({ type: 'init', backend: state.backend });
  return ready;
}

function killWorker() {
  worker?.terminate();
  worker = null;
}

/** Makes sure the worker holds a dataset, downloading it (or reading the cache) with progress. */
async function ensureData(name) {
  const loaded = await ensureWorker();
  if (loaded[name]) return loaded[name].promise;
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  loaded[name] = { promise, resolve, reject };
  const label = name === 'mnist' ? 'MNIST' : 'FashionMNIST';
  const bar = el('progress', { max: '1', value: '0' });
  const text = el('span', {}, 'starting…');
  $('downloads').append(el('div', { class: 'download-row' }, el('span', {}, `download ${label}`), bar, text));
  try {
    const files = await loadDataset(name, (received, total, cached) => {
      bar.max = total || received || 1;
      bar.value = received;
      text.textContent = cached ? 'from the browser cache' : `${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
    });
    worker.postMessage({ type: 'data', name, files }, files.map((f) => f.buffer));
  } catch (e) {
    loaded[name] = null;
    reject(e);
  }
  return promise;
}

/** Sends a run to the worker; resolves to {report, images}. */
function startRun(experiment, config, onEvent) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, {
      handle(msg) {
        if (msg.type === 'event') return onEvent(msg.event);
        pending.delete(id);
        if (msg.type === 'report') return resolve(msg);
        if (msg.fatal) killWorker();
        reject(new Error(msg.message));
      },
    });
    worker.postMessage({ type: 'run', id, experiment, config });
  });
}

function publish(report) {
  published.lastReport = report;
  $('report').textContent = JSON.stringify(report);
  for (const b of document.querySelectorAll('.download')) b.disabled = false;
}

function download() {
  const blob = new Blob([JSON.stringify(published.lastReport, null, 2)], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: 'wrong-labels-report.json' });
  a.click();
  URL.revokeObjectURL(a.href);
}
for (const b of document.querySelectorAll('.download')) b.addEventListener('click', download);

function setStatus(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle('error', isError);
}

// ---- MNIST → FashionMNIST ----
const phases = new Phases($('phases'));
const curves = new Curves($('loss-chart'), $('accuracy-chart'));
let lastStep = {};

async function runFashion() {
  if (published.busy) return;
  published.busy = true;
  $('fashion-run').disabled = true;
  $('fashion-cancel').disabled = false;
  $('fashion-results').hidden = true;
  phases.clear();
  curves.clear();
  try {
    setStatus('fashion-status', 'loading data…');
    await Promise.all([ensureData('mnist'), ensureData('fashion')]);
    setStatus('fashion-status', 'running…');
    const started = performance.now();
    const { report, images } = await startRun('fashion', fashionConfig(state), onFashionEvent);
    setStatus('fashion-status', `done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    showFashion(report, images);
    publish(report);
  } catch (e) {
    const cancelled = e.message === 'the run was cancelled';
    setStatus('fashion-status', cancelled ? 'Cancelled.' : `Error: ${e.message}`, !cancelled);
  } finally {
    published.busy = false;
    $('fashion-run').disabled = false;
    $('fashion-cancel').disabled = true;
  }
}

function onFashionEvent(e) {
  if (e.kind === 'phase') {
    phases.start(e.phase, e.steps);
    if (e.phase !== 'relabel' && !e.phase.startsWith('relabel')) curves.add(e.phase);
  } else if (e.kind === 'step') {
    phases.step(e);
    curves.step(e);
    lastStep[e.phase] = e.step;
  } else if (e.kind === 'epoch') {
    curves.epoch(e.phase, e.record, lastStep[e.phase]);
    if (e.record.test_accuracy != null) phases.finish(e.phase, `epoch ${e.record.epoch}: MNIST test ${pct(e.record.test_accuracy)}`);
  }
}

function showFashion(report, images) {
  const rows = [
    ['teacher, trained on MNIST', report.teacher.test_accuracy, 0.991, report.teacher.images_per_second],
    ...report.students.map((s) => [`student, FashionMNIST + teacher's labels (${s.normalize === 'none' ? 'raw pixels' : s.normalize})`, s.test_accuracy, s.paper_accuracy, s.images_per_second]),
    ['control, FashionMNIST + random labels', report.control.test_accuracy, 0.1, report.control.images_per_second],
  ];
  $('results-table').replaceChildren(
    el('tr', {}, el('th', {}, 'model'), el('th', {}, 'MNIST test accuracy'), el('th', {}, 'article'), el('th', {}, 'training img/s')),
    ...rows.map(([name, acc, paper, ips]) => el('tr', {}, el('td', { style: 'text-align:left' }, name), el('td', {}, pct(acc)), el('td', {}, paper == null ? '' : pct(paper)), el('td', {}, String(Math.round(ips))))),
  );
  $('relabel-gallery').replaceChildren(...report.relabel.examples.map((ex, k) =>
    thumbnail(images.fashion[k], `${FASHION_CLASSES[ex.class]} → ${ex.digit}`)));
  $('class-digit').replaceChildren(heatmap(report.relabel.class_to_digit, FASHION_CLASSES, [...'0123456789']));
  const student = report.students[report.students.length - 1];
  $('prediction-gallery').replaceChildren(...student.sample_predictions.map((p, i) =>
    thumbnail(images.digits[i], `${student.sample_labels[i]}: guess ${p}`, p !== student.sample_labels[i])));
  $('confusion').replaceChildren(heatmap(student.confusion, [...'0123456789'], [...'0123456789']));
  $('fashion-results').hidden = false;
}

$('fashion-run').addEventListener('click', runFashion);
$('fashion-cancel').addEventListener('click', () => worker?.postMessage({ type: 'cancel' }));

// ---- 2-D toy ----
async function runToy() {
  if (published.busy) return;
  published.busy = true;
  $('toy-run').disabled = $('toy-next').disabled = true;
  try {
    setStatus('toy-status', 'running…');
    await ensureWorker();
    const started = performance.now();
    const { report } = await startRun('toy', toyConfig(state), (e) => {
      if (e.kind === 'step') setStatus('toy-status', `seed ${e.step}/${e.steps}`);
    });
    setStatus('toy-status', `done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    showToy(report);
    publish(report);
  } catch (e) {
    setStatus('toy-status', `Error: ${e.message}`, true);
  } finally {
    published.busy = false;
    $('toy-run').disabled = $('toy-next').disabled = false;
  }
}

function showToy(report) {
  const run = { ...report.example, epsilon: report.config.epsilon };
  drawToy($('toy-teacher'), run, run.teacher_grid, true);
  drawToy($('toy-student'), run, run.student_grid, false);
  const n = run.points.length;
  $('toy-teacher-caption').textContent = `first network: fits ${run.teacher_correct}/${n}; ${run.kept} attacks flipped it`;
  $('toy-student-caption').textContent = `second network, trained only on those ${run.kept} wrongly labeled points`;
  const spread = report.runs > 1 ? ` — mean over ${report.runs} seeds ${report.mean_correct.toFixed(1)}/${n} (median ${report.distribution.median})` : '';
  $('toy-summary').textContent = `Seed ${run.seed}: the second network gets ${run.student_correct}/${n} of the original points right (article: ${report.paper_correct}/${n}; chance: ${n / 2}/${n})${spread}.`;
}

$('toy-run').addEventListener('click', runToy);
$('toy-next').addEventListener('click', () => {
  state.seed += 1;
  $('toy-settings').elements.seed.value = state.seed;
  writeState(state);
  runToy();
});

// ---- start ----
showExperiment(state.experiment);
ensureWorker().catch((e) => { $('backend').textContent = `Could not start the lab: ${e.message}`; $('backend').classList.add('warn'); });
if (state.autorun) (state.experiment === 'toy' ? runToy : runFashion)();
