// The controller: reads the settings, owns the worker, feeds the data, and wires events to views.

import { DEFAULTS, readState, writeState, fashionConfig, toyConfig, cifarConfig, cifarSeconds } from './state.js';
import { loadDataset, cifarFiles, cifarSource } from './data.js';
import { Phases, Curves, el, pct, seconds, thumbnail, heatmap, drawToy, FASHION_CLASSES, CIFAR_CLASSES } from './views.js';

const $ = (id) => document.getElementById(id);
const state = readState();
const published = { lastReport: null, state, busy: false };
window.wrongLabels = published;

// ---- settings forms <-> state <-> URL ----
// A setting shown in several forms (seed, backend) is one setting: a change shows in every form.
const forms = [$('fashion-settings'), $('toy-settings'), $('cifar-settings')];
const inputs = forms.flatMap((form) => [...form.elements]);
for (const input of inputs) {
  if (input.name in state) input.value = state[input.name];
  input.addEventListener('change', () => {
    state[input.name] = typeof DEFAULTS[input.name] === 'number' ? Number(input.value) : input.value;
    for (const other of inputs) if (other.name === input.name && other !== input) other.value = input.value;
    writeState(state);
  });
}

function showExperiment(name) {
  state.experiment = name;
  writeState(state);
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.experiment === name);
  for (const section of ['fashion', 'toy', 'cifar']) $(section).hidden = name !== section;
  if (name === 'cifar') checkCifar();
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
  const loaded = { mnist: null, fashion: null, cifar: null };
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
        for (const name of Object.keys(loaded)) {
          loaded[name]?.reject(new Error(msg.message));
          loaded[name] = null;
        }
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

const LABELS = { mnist: 'MNIST', fashion: 'FashionMNIST', cifar: 'CIFAR-10' };

/**
 * Makes sure the worker holds a dataset, downloading it (or reading the cache) with progress.
 * CIFAR-10 comes as the batch files `files` names (the subset a run needs); asking for other
 * files loads them afresh.
 */
async function ensureData(name, files = undefined) {
  const loaded = await ensureWorker();
  const key = files?.join() ?? name;
  if (loaded[name]?.key === key) return loaded[name].promise;
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  loaded[name] = { promise, resolve, reject, key };
  const bar = el('progress', { max: '1', value: '0' });
  const text = el('span', {}, 'starting…');
  $(name === 'cifar' ? 'cifar-downloads' : 'downloads').append(el('div', { class: 'download-row' }, el('span', {}, `download ${LABELS[name]}`), bar, text));
  try {
    const bytes = await loadDataset(name, (received, total, cached) => {
      bar.max = total || received || 1;
      bar.value = received;
      text.textContent = cached ? 'from the browser cache' : `${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
    }, files);
    worker.postMessage({ type: 'data', name, names: files, files: bytes }, bytes.map((f) => f.buffer));
  } catch (e) {
    loaded[name] = null;
    reject(e);
  }
  return promise;
}

/** Sends a request (run or measure) to the worker; resolves to its answer (report or measured). */
function request(type, experiment, config, onEvent = () => {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, {
      handle(msg) {
        if (msg.type === 'event') return onEvent(msg.event);
        pending.delete(id);
        if (msg.type === 'report' || msg.type === 'measured') return resolve(msg);
        if (msg.fatal) killWorker();
        reject(new Error(msg.message));
      },
    });
    worker.postMessage({ type, id, experiment, config });
  });
}

/** Runs an experiment in the worker; resolves to {report, images}. */
function startRun(experiment, config, onEvent) {
  return request('run', experiment, config, onEvent);
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

/** Routes a run's progress events to its section's phase bars and charts. */
function progressHandler(phases, curves, testName) {
  const lastStep = {};
  return (e) => {
    if (e.kind === 'phase') {
      phases.start(e.phase, e.steps);
      if (!e.phase.startsWith('relabel')) curves.add(e.phase);
    } else if (e.kind === 'step') {
      phases.step(e);
      curves.step(e);
      lastStep[e.phase] = e.step;
    } else if (e.kind === 'epoch') {
      curves.epoch(e.phase, e.record, lastStep[e.phase]);
      if (e.record.test_accuracy != null) phases.finish(e.phase, `epoch ${e.record.epoch}: ${testName} test ${pct(e.record.test_accuracy)}`);
    }
  };
}

/**
 * Runs `work(status)` as the run of section `name` (fashion or cifar): one run at a time, the
 * section's Run and Cancel buttons, its status line; a cancel or an error ends up there.
 */
async function runInSection(name, work) {
  if (published.busy) return;
  published.busy = true;
  $(`${name}-run`).disabled = true;
  $(`${name}-cancel`).disabled = false;
  $(`${name}-results`).hidden = true;
  try {
    await work((text) => setStatus(`${name}-status`, text));
  } catch (e) {
    const cancelled = e.message === 'the run was cancelled';
    setStatus(`${name}-status`, cancelled ? 'Cancelled.' : `Error: ${e.message}`, !cancelled);
  } finally {
    published.busy = false;
    $(`${name}-run`).disabled = false;
    $(`${name}-cancel`).disabled = true;
  }
}

// ---- MNIST → FashionMNIST ----
const phases = new Phases($('phases'));
const curves = new Curves($('loss-chart'), $('accuracy-chart'));

async function runFashion() {
  await runInSection('fashion', async (status) => {
    phases.clear();
    curves.clear();
    status('loading data…');
    await Promise.all([ensureData('mnist'), ensureData('fashion')]);
    status('running…');
    const started = performance.now();
    const { report, images } = await startRun('fashion', fashionConfig(state), progressHandler(phases, curves, 'MNIST'));
    status(`done in ${seconds((performance.now() - started) / 1000)}`);
    showFashion(report, images);
    publish(report);
  });
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

// ---- CIFAR-10 ----
const cifarPhases = new Phases($('cifar-phases'));
const cifarCurves = new Curves($('cifar-loss-chart'), $('cifar-accuracy-chart'));
let cifarServed = null;
// Loading and measuring do not poll the worker's cancel flag: a cancel then stops the run here.
let cifarCancelRequested = false;

/** Whether the site serves CIFAR-10 (build-web copies it when scripts/fetch-data cifar has run). */
async function checkCifar() {
  cifarServed ??= cifarSource();
  const source = await cifarServed;
  $('cifar-source').textContent = source
    ? `Data: CIFAR-10, ${source}. A run downloads only the batch files its training subset needs (30.7 MB each, plus the test batch), once.`
    : 'This site does not serve the CIFAR-10 files (data/cifar-10/). To add them: scripts/fetch-data cifar, then scripts/build-web.';
  $('cifar-source').classList.toggle('warn', !source);
  $('cifar-run').disabled = !source || published.busy;
  return source;
}

async function runCifar() {
  if (published.busy || !(await checkCifar())) return;
  await runInSection('cifar', async (status) => {
    $('cifar-eta').textContent = '';
    cifarCancelRequested = false;
    cifarPhases.clear();
    cifarCurves.clear();
    const config = cifarConfig(state);
    status('loading data…');
    await ensureData('cifar', cifarFiles(config.train_limit));
    status('measuring this device\'s speed…');
    const { speed } = await request('measure', 'cifar', config);
    const [low, high] = cifarSeconds(config, speed);
    $('cifar-eta').textContent = `Estimated time: ${seconds(low)} to ${seconds(high)} (training measured at ${Math.round(speed)} images/s `
      + `on this ${published.backend === 'webgpu' ? 'GPU' : 'CPU'}; the range is the unknown share of images the teacher gets wrong, 40% to 80%).`;
    if (cifarCancelRequested) throw new Error('the run was cancelled');
    status('running…');
    const started = performance.now();
    const { report, images } = await startRun('cifar', config, progressHandler(cifarPhases, cifarCurves, 'CIFAR-10'));
    status(`done in ${seconds((performance.now() - started) / 1000)}`);
    showCifar(report, images);
    publish(report);
  });
}

function showCifar(report, images) {
  const { teacher, wrong, student, control, paper } = report;
  const rows = [
    ['teacher, trained on CIFAR-10', pct(teacher.test_accuracy), pct(paper.teacher_test_accuracy)],
    ['teacher on its own training images', pct(teacher.train_accuracy), pct(paper.teacher_train_accuracy)],
    ['training images it got wrong (kept)', `${wrong.kept} of ${wrong.total}`, `${paper.kept} of 50000`],
    ['student, trained only on those wrong labels', pct(student.test_accuracy), pct(paper.student_test_accuracy)],
    ['control, same images with random labels', pct(control.test_accuracy), pct(0.1)],
  ];
  $('cifar-table').replaceChildren(
    el('tr', {}, el('th', {}, 'model'), el('th', {}, 'this run'), el('th', {}, 'article')),
    ...rows.map(([name, ours, theirs]) => el('tr', {}, el('td', { style: 'text-align:left' }, name), el('td', {}, ours), el('td', {}, theirs))),
  );
  $('cifar-gallery').replaceChildren(...wrong.examples.map((ex, k) =>
    thumbnail(images.wrong[k], `${CIFAR_CLASSES[ex.class]} → ${CIFAR_CLASSES[ex.label]}`, false, 3)));
  $('cifar-matrix').replaceChildren(heatmap(wrong.class_to_wrong, CIFAR_CLASSES, CIFAR_CLASSES));
  $('cifar-results').hidden = false;
}

$('cifar-run').addEventListener('click', runCifar);
$('cifar-cancel').addEventListener('click', () => {
  cifarCancelRequested = true;
  worker?.postMessage({ type: 'cancel' });
});

// ---- start ----
showExperiment(state.experiment);
ensureWorker().catch((e) => { $('backend').textContent = `Could not start the lab: ${e.message}`; $('backend').classList.add('warn'); });
if (state.autorun) ({ toy: runToy, fashion: runFashion, cifar: runCifar })[state.experiment]?.();
