// The controller: binds the settings forms to the state and the URL, and wires each section's
// Run and Cancel to the backends (backends.js: worker pools, the measured choice, data) and to its
// views.

import { SETTINGS, PRESETS, presetValues, parseState, parseSetting, writeState, changedSettings, fashionConfig, toyConfig, cifarConfig, ilyasConfig, fashionSeconds, cifarSeconds, ilyasSeconds } from './state.js';
import { manifest, chunkFiles, cifarFiles, cifarSource } from './data.js';
import { embed } from './embed.js';
import { Cancelled, DeviceLost } from './pool.js';
import { Backends, DATASET_NAMES } from './backends.js';
import { SectionView, settingsForm, el, seconds, FASHION_CLASSES } from './views.js';
import { showFashion, showToy, showCifar, showIlyas } from './results.js';
import { Tryout } from './tryout.js';
import { History, entry } from './history.js';

const $ = (id) => document.getElementById(id);
const { state, problems: urlProblems } = parseState(location.search);
const published = { lastReport: null, state, busy: false };
window.wrongLabels = published;

// ---- settings forms <-> state <-> URL ----
// A setting shown in several forms (seed, backend) is one setting: a change shows in every form.
const SECTIONS = ['fashion', 'toy', 'cifar', 'ilyas'];
const forms = SECTIONS.map((section) => {
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
  for (const section of SECTIONS) $(section).hidden = name !== section;
  if (name === 'cifar') checkCifar();
}
for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => showExperiment(tab.dataset.experiment));

const backends = new Backends(state);
/** The backends whose workers are running (for the tests). */
published.pools = () => Object.entries(backends.pools).filter(([, pool]) => pool && !pool.dead).map(([backend]) => backend);
const sections = Object.fromEntries(SECTIONS.map((name) => [name, new SectionView($(name))]));

// The trained models to try, after a fashion or an ilyas run (they live in the pool that ran it).
const tryouts = {
  fashion: new Tryout($('fashion-tryout'), 'The teacher learned from digits. The students and the control never saw one: '
    + 'they learned from clothes, with the teacher\'s digits or random ones. Click a garment in the gallery above, or ask for a test garment, to see what each model calls it.'),
  ilyas: new Tryout($('ilyas-tryout'), 'The teacher learned from digits; each student only from attacked digits labelled with the attack\'s target.', { garments: false }),
};
published.tryouts = tryouts;

// The runs finished in this browser; a click loads one's settings back. How this page was opened
// (embedded, run on load) is not a run's setting: it is neither kept nor loaded back.
const OPENED = ['embed', 'autorun'];
const runs = new History($('runs'), (settings, experiment) => {
  const values = presetValues(settings.preset);
  for (const key of Object.keys(state)) if (!OPENED.includes(key)) state[key] = key in settings ? settings[key] : values[key];
  showSettings();
  showExperiment(experiment);
});
published.runs = runs;

/** Publishes a run's report, and the wasm memory of the workers that ran it; keeps it in the history. */
function publish(report, ran = null) {
  postReport?.(state.experiment, report);
  const settings = Object.fromEntries(Object.entries(changedSettings(state)).filter(([key]) => !OPENED.includes(key)));
  runs.add(entry(state.experiment, settings, report));
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

/** The run in progress: a cancel stops its current step, or the next. */
let current = null;

/**
 * Runs `work(view, run)` as the run of section `name`: one run at a time, its Run and Cancel
 * buttons, its status line; a cancel or an error ends up there. After a lost GPU device the status
 * offers the CPU.
 */
async function runInSection(name, work, again) {
  if (published.busy) return;
  published.busy = true;
  const view = sections[name];
  const run = {
    cancelled: false,
    pool: null,
    // Aborted by a cancel: the run's downloads stop at once.
    downloads: new AbortController(),
    check() { if (this.cancelled) throw new Cancelled(); },
  };
  current = run;
  view.busy(true);
  // A run replaces the models there were to try.
  for (const tryout of Object.values(tryouts)) tryout.detach();
  try {
    await work(view, run);
  } catch (e) {
    if (e instanceof Cancelled) {
      // How the last cancel ended the run (for the tests): the workers' own answer, or the pool's
      // timer that ends workers too busy to answer.
      published.cancelledBy = e.killed ? 'timer' : 'workers';
      view.say('Cancelled.');
    } else if (e instanceof DeviceLost) {
      const button = el('button', {}, 'Run on the CPU instead');
      button.addEventListener('click', () => { state.backend = 'cpu'; showSettings(); writeState(state); again(); });
      view.say(`Error: ${e.message}. `, true);
      view.status.append(button);
    } else {
      view.say(`Error: ${e.message}`, true);
    }
  } finally {
    current = null;
    published.busy = false;
    view.busy(false);
    if (name === 'cifar') checkCifar();
  }
}

function cancel() {
  if (!current) return;
  current.cancelled = true;
  current.downloads.abort();
  current.pool?.cancel();
}
for (const button of document.querySelectorAll('[id$="-cancel"]')) button.addEventListener('click', cancel);

/**
 * What the fashion and CIFAR-10 runs share: starts the downloads, measures the backends and shows
 * the measurement with `estimate(choice)`, trains, and hands the report and the chosen pool to
 * `show`, with the time it took.
 */
async function measureAndTrain(view, run, experiment, config, datasets, testName, estimate, show) {
  view.clear();
  const get = backends.downloads(datasets, (dataset) => view.downloadRow(DATASET_NAMES[dataset]), run.downloads.signal);
  view.say('measuring the backends…');
  const choice = await backends.choose(experiment, config, run);
  $('backend').textContent = `Backend: ${choice.name}.`;
  view.eta.textContent = `Measured: ${choice.line}. Estimated time: ${estimate(choice.images_per_second)}`;
  const started = performance.now();
  const report = await backends.train(choice, experiment, config, [datasets, get], view.progress(testName), (text) => view.say(text), run);
  if (choice.backend === 'webgpu' && report.config.gpu_batch_size) $('backend').textContent += ` ${recipe(report.config)}`;
  await show(report, choice.pool);
  view.say(`done in ${seconds((performance.now() - started) / 1000)}`);
  publish(report, choice.pool);
}

/** What a WebGPU run trained with (the report's config: the GPU recipe, src/experiments/mod.rs). */
const recipe = (config) => `Trained with the GPU recipe: batch ${config.batch_size}, peak learning rate ${+config.learning_rate.toPrecision(3)}.`;

// ---- MNIST → FashionMNIST ----
async function runFashion() {
  await runInSection('fashion', async (view, run) => {
    const config = fashionConfig(state);
    const m = await manifest();
    const datasets = [
      ['mnist', chunkFiles(m, 'mnist', { train: config.mnist_train_limit, t10k: config.mnist_test_limit })],
      ['fashion', chunkFiles(m, 'fashion', { train: config.fashion_train_limit })],
    ];
    const estimate = (ips) => `${seconds(fashionSeconds(config, ips))}.`;
    await measureAndTrain(view, run, 'fashion', config, datasets, 'MNIST', estimate, async (report, pool) => {
      const images = {
        fashion: await pool.images('fashion', report.relabel.examples.map((ex) => ex.index)),
        digits: await pool.images('mnist-test', report.students[0].sample_predictions.map((_, i) => i)),
      };
      showFashion(view.results, report, images);
      await tryouts.fashion.attach(pool);
      // A garment of the gallery, clicked: what every model calls it.
      [...$('relabel-gallery').children].forEach((figure, k) => {
        const ex = report.relabel.examples[k];
        figure.addEventListener('click', () => tryouts.fashion.garment(images.fashion[k], `A ${FASHION_CLASSES[ex.class].toLowerCase()} the teacher called ${ex.digit}: what each model says it is`));
      });
      $('relabel-gallery').classList.add('pickable');
    });
  }, runFashion);
}
$('fashion-run').addEventListener('click', runFashion);

// ---- 2-D toy: tiny networks, always one CPU worker ----
async function runToy() {
  await runInSection('toy', async (view, run) => {
    view.say('running…');
    run.pool = await backends.pool('cpu');
    const started = performance.now();
    const report = await run.pool.run('toy', toyConfig(state), (e) => {
      if (e.kind === 'step') view.say(`seed ${e.step}/${e.steps}`);
    });
    view.say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    showToy(view.results, report);
    publish(report);
  }, runToy);
}
$('toy-run').addEventListener('click', runToy);
$('toy-next').addEventListener('click', () => {
  state.seed += 1;
  showSettings();
  writeState(state);
  runToy();
});

// ---- CIFAR-10 ----
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
  await runInSection('cifar', async (view, run) => {
    const config = cifarConfig(state);
    const datasets = [['cifar', cifarFiles(config.train_limit)]];
    const estimate = (ips) => {
      const [low, high] = cifarSeconds(config, ips);
      return `${seconds(low)} to ${seconds(high)} (the range is the unknown share of images the teacher gets wrong, 40% to 80%).`;
    };
    await measureAndTrain(view, run, 'cifar', config, datasets, 'CIFAR-10', estimate, async (report, pool) => {
      const images = { wrong: await pool.images('cifar-train', report.wrong.examples.map((ex) => ex.index)) };
      showCifar(view.results, report, images);
    });
  }, runCifar);
}
$('cifar-run').addEventListener('click', runCifar);

// ---- Ilyas et al.'s D_rand / D_det on MNIST ----
async function runIlyas() {
  await runInSection('ilyas', async (view, run) => {
    const config = ilyasConfig(state);
    const estimate = (ips) => `${seconds(ilyasSeconds(config, ips))}.`;
    // The teacher learns from the first mnist_train_limit digits, the attacks take the first attack_limit.
    const train = Math.max(config.mnist_train_limit ?? Infinity, config.attack_limit ?? Infinity);
    const files = chunkFiles(await manifest(), 'mnist', { train, t10k: config.mnist_test_limit });
    await measureAndTrain(view, run, 'ilyas', config, [['mnist', files]], 'MNIST', estimate, async (report, pool) => {
      const originals = [];
      for (const set of report.sets) originals.push(await pool.images('mnist-train', set.examples.slice(0, 4).map((ex) => ex.index)));
      showIlyas(view.results, report, { originals });
      await tryouts.ilyas.attach(pool);
    });
  }, runIlyas);
}
$('ilyas-run').addEventListener('click', runIlyas);

// ---- start: say what this browser offers; nothing heavy loads before Run ----
const postReport = state.embed ? embed() : null;
showExperiment(state.experiment);
backends.describe().then((text) => { $('backend').textContent = text; });
if (state.autorun) ({ toy: runToy, fashion: runFashion, cifar: runCifar, ilyas: runIlyas })[state.experiment]?.();
