// The controller: reads the settings, chooses the backend by measuring it, feeds the data to the
// workers, and wires their events to the views.

import { SETTINGS, PRESETS, presetValues, parseState, parseSetting, writeState, fashionConfig, toyConfig, cifarConfig, fashionSeconds, cifarSeconds } from './state.js';
import { FILES, loadDataset, cifarFiles, cifarSource } from './data.js';
import { Pool, Cancelled, DeviceLost, workerCount } from './pool.js';
import { Phases, Curves, settingsForm, el, pct, seconds, thumbnail, heatmap, drawToy, FASHION_CLASSES, CIFAR_CLASSES } from './views.js';

const $ = (id) => document.getElementById(id);
const { state, problems: urlProblems } = parseState(location.search);
const published = { lastReport: null, state, busy: false };
window.wrongLabels = published;

// ---- settings forms <-> state <-> URL ----
// A setting shown in several forms (seed, backend) is one setting: a change shows in every form.
const forms = ['fashion', 'toy', 'cifar'].map((section) => {
  const form = $(`${section}-settings`);
  settingsForm(form, SETTINGS.filter((s) => s.forms?.includes(section)));
  return form;
});
const inputs = forms.flatMap((form) => [...form.elements]);
function showSettings() {
  for (const input of inputs) if (input.name in state) input.value = state[input.name];
}
for (const input of inputs) {
  input.addEventListener('change', () => {
    if (input.name === 'preset') {
      // A preset replaces the fashion settings; the others (seed, backend, CIFAR-10's…) stay.
      const values = presetValues(input.value);
      for (const key of Object.keys({ ...PRESETS.article, preset: 1 })) state[key] = values[key];
    } else {
      const { value, error } = parseSetting(input.name, input.value);
      showProblems(error ? [error] : []);
      if (!error) state[input.name] = value;
    }
    showSettings();
    writeState(state);
  });
}
showSettings();

/** Says which settings were refused (each keeps its earlier value). */
function showProblems(problems) {
  $('settings-problems').hidden = !problems.length;
  $('settings-problems').textContent = problems.length ? `Not used: ${problems.join('; ')}.` : '';
}
showProblems(urlProblems);

function showExperiment(name) {
  state.experiment = name;
  writeState(state);
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.experiment === name);
  for (const section of ['fashion', 'toy', 'cifar']) $(section).hidden = name !== section;
  if (name === 'cifar') checkCifar();
}
for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => showExperiment(tab.dataset.experiment));

// ---- workers: a CPU pool and a WebGPU pool, started when first needed ----
const pools = { cpu: null, webgpu: null };
// Whether this browser has a WebGPU adapter at all (the workers find their own).
const gpuAdapter = (async () => {
  try { return (await navigator.gpu?.requestAdapter()) ?? null; } catch { return null; }
})();

/** The started pool of a backend (a fresh one after a failure or a change of worker count). */
async function pool(backend) {
  const size = backend === 'cpu' ? workerCount(state.workers) : 1;
  if (!pools[backend] || pools[backend].dead || pools[backend].size !== size) {
    pools[backend]?.terminate();
    pools[backend] = new Pool(backend, size);
  }
  const started = pools[backend];
  try {
    started.info = await started.ready;
  } catch (e) {
    if (pools[backend] === started) pools[backend] = null;
    throw e;
  }
  return started;
}

const cpuName = (p) => `CPU (WebAssembly), ${p.size} worker${p.size > 1 ? 's' : ''}`;
const backendName = (p) => (p.backend === 'cpu' ? cpuName(p) : `WebGPU on ${p.info.adapter.name}`);
const speed = (ips) => `${Math.round(ips).toLocaleString('en')} images/s`;

/**
 * With `backend=auto`, a measurement of WebGPU gives up after this long: a GPU that cannot finish a
 * few steps in that time (a software one compiles its shaders for a minute) is the slower.
 */
const GPU_MEASURE_MS = 90_000;

/**
 * Measures the training speed of `experiment` with `config` on each backend the settings allow
 * (WebGPU where an adapter exists, the CPU with all its workers), and picks the faster. Returns the
 * pool, its speed, and a line saying what was measured.
 */
async function chooseBackend(experiment, config, run) {
  const candidates = state.backend === 'auto' ? ['webgpu', 'cpu'] : [state.backend];
  const measured = [];
  const notes = [];
  for (const backend of candidates) {
    run.check();
    if (backend === 'webgpu' && !(await gpuAdapter)) {
      notes.push('WebGPU: no adapter in this browser');
      continue;
    }
    let started;
    try {
      started = await pool(backend);
    } catch (e) {
      notes.push(`WebGPU: ${e.message}`);
      continue;
    }
    run.pool = started;
    // A backend the settings force is measured for the estimate alone, however long it takes.
    const limited = backend === 'webgpu' && candidates.length > 1;
    const timeout = new Promise((_, reject) => {
      if (limited) setTimeout(() => reject(new Error(`no result within ${GPU_MEASURE_MS / 1000} s`)), GPU_MEASURE_MS);
    });
    try {
      const ips = await Promise.race([started.measure(experiment, config), timeout]);
      measured.push({ backend, workers: started.size, name: backendName(started), images_per_second: ips, pool: started });
    } catch (e) {
      if (e instanceof Cancelled) throw e;
      if (backend === 'cpu') throw e;
      // A slow (software) GPU is given back rather than left running.
      started.fail(e);
      notes.push(`${backendName(started)}: ${e.message}`);
    }
  }
  if (!measured.length) {
    // Only WebGPU was asked for, and it could not run: the CPU always can.
    notes.push('training on the CPU instead');
    const started = await pool('cpu');
    measured.push({ backend: 'cpu', workers: started.size, name: cpuName(started), images_per_second: await started.measure(experiment, config), pool: started });
  }
  const best = measured.reduce((a, b) => (b.images_per_second > a.images_per_second ? b : a));
  const figures = measured.map((m) => `${m.name}: ${speed(m.images_per_second)}`);
  const line = [...figures, ...notes].join(' · ') + (measured.length > 1 ? ` → ${best.backend === 'cpu' ? 'CPU' : 'WebGPU'}` : '');
  $('backend').textContent = `Backend: ${best.name}.`;
  return { ...best, line, measured: measured.map(({ pool: _, ...m }) => m) };
}

/** Downloads (or reads from the cache) a dataset's files, with a progress row. */
async function download(name, files, into) {
  const label = { mnist: 'MNIST', fashion: 'FashionMNIST', cifar: 'CIFAR-10' }[name];
  const bar = el('progress', { max: '1', value: '0' });
  const text = el('span', {}, 'starting…');
  $(into).append(el('div', { class: 'download-row' }, el('span', {}, `download ${label}`), bar, text));
  return loadDataset(name, (received, total, cached) => {
    bar.max = total || received || 1;
    bar.value = received;
    text.textContent = cached ? 'from the browser cache' : `${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
  }, files);
}

/**
 * Downloads for a run's datasets ([name, files] pairs): each starts at once (while the backends
 * are measured) unless a pool already holds that dataset, and at most once.
 */
function downloads(datasets, into) {
  const started = {};
  const get = (name, files) => (started[name] ??= download(name, files, into));
  for (const [name, files] of datasets) {
    if (!Object.values(pools).some((p) => p?.loaded[name] === files.join())) get(name, files).catch(() => {});
  }
  return get;
}

/** Hands a pool the datasets it lacks. */
async function feed(target, datasets, get) {
  for (const [name, files] of datasets) {
    if (target.loaded[name] !== files.join()) await target.load(name, files, await get(name, files));
  }
}

/** Publishes a run's report, and the wasm memory of the workers that ran it. */
function publish(report, ran = null) {
  published.lastReport = report;
  published.memory = () => (ran ? ran.memory() : Promise.resolve([]));
  $('report').textContent = JSON.stringify(report);
  for (const b of document.querySelectorAll('.download')) b.disabled = false;
}

function saveReport() {
  const blob = new Blob([JSON.stringify(published.lastReport, null, 2)], { type: 'application/json' });
  const a = el('a', { href: URL.createObjectURL(blob), download: 'wrong-labels-report.json' });
  a.click();
  URL.revokeObjectURL(a.href);
}
for (const b of document.querySelectorAll('.download')) b.addEventListener('click', saveReport);

function setStatus(id, text, isError = false) {
  $(id).replaceChildren(text);
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

/** The run in progress: a cancel stops its current step, or the next. */
let current = null;

/**
 * Runs `work(status, run)` as the run of section `name`: one run at a time, the section's Run and
 * Cancel buttons, its status line; a cancel or an error ends up there. After a lost GPU device
 * the status offers the CPU.
 */
async function runInSection(name, work, again) {
  if (published.busy) return;
  published.busy = true;
  const run = {
    cancelled: false,
    pool: null,
    check() { if (this.cancelled) throw new Cancelled(); },
  };
  current = run;
  const buttons = [...document.querySelectorAll(`#${name} .actions button:not(.download)`)];
  buttons.forEach((b) => { b.disabled = !b.id.endsWith('cancel'); });
  if ($(`${name}-results`)) $(`${name}-results`).hidden = true;
  try {
    await work((text) => setStatus(`${name}-status`, text), run);
  } catch (e) {
    if (e instanceof Cancelled) {
      setStatus(`${name}-status`, 'Cancelled.');
    } else if (e instanceof DeviceLost) {
      const button = el('button', {}, 'Run on the CPU instead');
      button.addEventListener('click', () => { state.backend = 'cpu'; showSettings(); writeState(state); again(); });
      setStatus(`${name}-status`, `Error: ${e.message}. `, true);
      $(`${name}-status`).append(button);
    } else {
      setStatus(`${name}-status`, `Error: ${e.message}`, true);
    }
  } finally {
    current = null;
    published.busy = false;
    buttons.forEach((b) => { b.disabled = b.id.endsWith('cancel'); });
    if (name === 'cifar') checkCifar();
  }
}

function cancel() {
  if (!current) return;
  current.cancelled = true;
  current.pool?.cancel();
}
for (const button of document.querySelectorAll('[id$="-cancel"]')) button.addEventListener('click', cancel);

/** What the report records of the backend that ran it. */
function backendRecord(choice) {
  return { backend: choice.backend, workers: choice.workers, name: choice.name, measured: choice.measured };
}

/**
 * The part of a run that every section shares once its backend is chosen: hands the chosen pool
 * the data (`[datasets, downloads]`), runs `experiment` on it, and returns the report with the
 * backend recorded.
 */
async function train(choice, experiment, config, [datasets, get], onEvent, status, run) {
  run.pool = choice.pool;
  status('loading data…');
  await feed(choice.pool, datasets, get);
  run.check();
  status('running…');
  const report = await choice.pool.run(experiment, config, onEvent);
  report.backend = backendRecord(choice);
  return report;
}

// ---- MNIST → FashionMNIST ----
const phases = new Phases($('phases'));
const curves = new Curves($('loss-chart'), $('accuracy-chart'));

async function runFashion() {
  await runInSection('fashion', async (status, run) => {
    phases.clear();
    curves.clear();
    $('downloads').replaceChildren();
    $('fashion-eta').textContent = '';
    const config = fashionConfig(state);
    const datasets = [['mnist', FILES.mnist], ['fashion', FILES.fashion]];
    const get = downloads(datasets, 'downloads');
    status('measuring the backends…');
    const choice = await chooseBackend('fashion', config, run);
    $('fashion-eta').textContent = `Measured: ${choice.line}. Estimated time: ${seconds(fashionSeconds(config, choice.images_per_second))}.`;
    const started = performance.now();
    const report = await train(choice, 'fashion', config, [datasets, get], progressHandler(phases, curves, 'MNIST'), status, run);
    const images = {
      fashion: await choice.pool.images('fashion', report.relabel.examples.map((ex) => ex.index)),
      digits: await choice.pool.images('mnist-test', report.students[0].sample_predictions.map((_, i) => i)),
    };
    status(`done in ${seconds((performance.now() - started) / 1000)}`);
    showFashion(report, images);
    publish(report, choice.pool);
  }, runFashion);
}

function showFashion(report, images) {
  const rows = [
    ['teacher, trained on MNIST', report.teacher.test_accuracy, report.paper.teacher_test_accuracy, report.teacher.images_per_second],
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

// ---- 2-D toy: tiny networks, always one CPU worker ----
async function runToy() {
  await runInSection('toy', async (status, run) => {
    status('running…');
    run.pool = await pool('cpu');
    const started = performance.now();
    const report = await run.pool.run('toy', toyConfig(state), (e) => {
      if (e.kind === 'step') status(`seed ${e.step}/${e.steps}`);
    });
    status(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    showToy(report);
    publish(report);
  }, runToy);
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
  showSettings();
  writeState(state);
  runToy();
});

// ---- CIFAR-10 ----
const cifarPhases = new Phases($('cifar-phases'));
const cifarCurves = new Curves($('cifar-loss-chart'), $('cifar-accuracy-chart'));
let cifarServed = null;

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
  await runInSection('cifar', async (status, run) => {
    $('cifar-eta').textContent = '';
    $('cifar-downloads').replaceChildren();
    cifarPhases.clear();
    cifarCurves.clear();
    const config = cifarConfig(state);
    const datasets = [['cifar', cifarFiles(config.train_limit)]];
    const get = downloads(datasets, 'cifar-downloads');
    status('measuring the backends…');
    const choice = await chooseBackend('cifar', config, run);
    const [low, high] = cifarSeconds(config, choice.images_per_second);
    $('cifar-eta').textContent = `Measured: ${choice.line}. Estimated time: ${seconds(low)} to ${seconds(high)} `
      + '(the range is the unknown share of images the teacher gets wrong, 40% to 80%).';
    const started = performance.now();
    const report = await train(choice, 'cifar', config, [datasets, get], progressHandler(cifarPhases, cifarCurves, 'CIFAR-10'), status, run);
    const images = { wrong: await choice.pool.images('cifar-train', report.wrong.examples.map((ex) => ex.index)) };
    status(`done in ${seconds((performance.now() - started) / 1000)}`);
    showCifar(report, images);
    publish(report, choice.pool);
  }, runCifar);
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

// ---- start: say what this browser offers; nothing heavy loads before Run ----
async function describeBackends() {
  const cores = `the CPU (WebAssembly) with ${workerCount(state.workers)} workers`;
  const adapter = await gpuAdapter;
  const forced = { cpu: `Backend: ${cores}, as chosen in the settings.`, webgpu: 'Backend: WebGPU, as chosen in the settings.' };
  $('backend').textContent = forced[state.backend]
    ?? (adapter ? `WebGPU found a GPU adapter: each run first times a few training steps on it and on ${cores}, and trains on the faster.`
      : `No WebGPU adapter here, so the models train on ${cores}.`);
}
showExperiment(state.experiment);
describeBackends();
if (state.autorun) ({ toy: runToy, fashion: runFashion, cifar: runCifar })[state.experiment]?.();
