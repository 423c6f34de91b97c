// All settings, read from and written to the URL query, so a link can carry a configured run.

import RUST_PRESETS from './presets.js';

/**
 * Every setting of the page, one row each: its URL name; its valid values (`options`, [value,
 * label] pairs, or a number range: `min`, `max`, and `step: 'any'` for a non-integer); its label;
 * the forms that show it; and, per experiment, the Rust config field it fills
 * (`fashion: 'learning_rate'`). Its default is that field's in the section's preset, written once
 * in Rust (`www/presets.js`, see DEFAULTS); only the page's own settings (which experiment,
 * backend, workers…) carry a `value`. The forms, the URL parsing and the configs sent to Rust all
 * come from this table: a new setting is a field of a Rust config and a row here.
 */
export const SETTINGS = [
  { name: 'experiment', value: 'fashion', options: [['fashion'], ['toy'], ['cifar'], ['ilyas']] },
  { name: 'preset', value: 'quick', label: 'preset', forms: ['fashion'], options: [['quick', 'quick (about a minute)'], ['article', 'article (full scale)']] },
  // The fashion section's defaults are the quick preset's (FashionConfig::quick in Rust).
  { name: 'teacher_epochs', min: 1, max: 50, label: 'teacher epochs', forms: ['fashion'], fashion: 'teacher_epochs' },
  { name: 'student_epochs', min: 1, max: 50, label: 'student epochs', forms: ['fashion'], fashion: 'student_epochs' },
  { name: 'control_epochs', min: 1, max: 50, label: 'control epochs', forms: ['fashion'], fashion: 'control_epochs' },
  { name: 'mnist_train_limit', min: 1, max: 60000, label: 'MNIST train images', forms: ['fashion'], fashion: 'mnist_train_limit' },
  { name: 'fashion_train_limit', min: 1, max: 60000, label: 'FashionMNIST images', forms: ['fashion'], fashion: 'fashion_train_limit' },
  { name: 'mnist_test_limit', min: 1, max: 10000, label: 'MNIST test images', forms: ['fashion'], fashion: 'mnist_test_limit' },
  // The random-label control learns nothing whatever its size; a few thousand images show it.
  { name: 'control_limit', min: 1, max: 60000, label: 'control images', forms: ['fashion'], fashion: 'control_limit' },
  { name: 'model', label: 'model', forms: ['fashion'], fashion: 'preset', options: [['fast'], ['small'], ['classic', 'classic (article)']] },
  { name: 'normalize', label: 'normalization', forms: ['fashion'], fashion: 'normalize', options: [['standardize', 'standardize with MNIST\'s mean & std'], ['moments', 'give clothes MNIST\'s mean & std']] },
  // How good must the teacher be: teachers on fewer digits, each with its student (optional: the
  // quick preset's teacher sees 10,000).
  { name: 'teacher_limits', label: 'teacher sweep', forms: ['fashion'], fashion: 'teacher_limits', options: [[[], 'off'], [[300, 1000, 3000], 'also teachers on 300, 1,000, 3,000 digits (about 1.5× as long)']] },
  // Random shifts of the teacher's digits, up to this many pixels each way (0: none).
  { name: 'teacher_shift', min: 0, max: 4, label: 'teacher shifts (px)', forms: ['fashion'], fashion: 'teacher_shift' },
  // The students' loss: plain (the article's), or each digit weighed by its share of the teacher's
  // labels to the power −½, so the digits the teacher rarely gives (7, 9) are not learnt worst.
  { name: 'student_balance', label: 'students\' loss', forms: ['fashion'], fashion: 'student_balance', options: [[0, 'plain (the article\'s)'], [0.5, 'rare labels weigh more (share^−½)']] },
  { name: 'batch_size', min: 1, max: 1024, label: 'batch', forms: ['fashion'], fashion: 'batch_size' },
  // On WebGPU the GPU recipe trains at this batch, its learning rate scaled by √(this / batch): a
  // replayed step costs the host about the same whatever its batch (docs/gpu.md, "The GPU recipe").
  // The quick runs keep the CPU's 64: a batch of 256 leaves a 10,000-digit teacher 40 steps (88.0%
  // against 92.7% natively, students 68.6 / 72.4% against 81.0 / 86.0%); the article preset's is
  // 128, validated at its scale (256 cost a student 1.3–3.3 points there).
  { name: 'gpu_batch_size', min: 1, max: 4096, label: 'batch on WebGPU', forms: ['fashion', 'ilyas'], fashion: 'gpu_batch_size', ilyas: 'gpu_batch_size' },
  { name: 'lr', min: 0.00001, max: 1, step: 'any', label: 'learning rate', forms: ['fashion'], fashion: 'learning_rate' },
  { name: 'toy_runs', min: 1, max: 1000, label: 'seeds to average', forms: ['toy'], toy: 'runs' },
  { name: 'epsilon', min: 0, max: 1, step: 'any', label: 'ε', forms: ['toy'], toy: 'epsilon' },
  // CIFAR-10 at browser scale: a ResNet-18 an eighth as wide, on the first 5,000 training images.
  { name: 'cifar_width', label: 'ResNet-18 width', forms: ['cifar'], cifar: 'width', options: [[0.0625, '1/16'], [0.125, '1/8'], [0.25, '1/4'], [0.5, '1/2'], [1, '1 (article)']] },
  { name: 'cifar_teacher_epochs', min: 1, max: 50, label: 'teacher epochs', forms: ['cifar'], cifar: 'teacher_epochs' },
  { name: 'cifar_student_epochs', min: 1, max: 100, label: 'student epochs', forms: ['cifar'], cifar: 'student_epochs' },
  { name: 'cifar_control_epochs', min: 1, max: 50, label: 'control epochs', forms: ['cifar'], cifar: 'control_epochs' },
  { name: 'cifar_train_limit', min: 1, max: 50000, label: 'training images', forms: ['cifar'], cifar: 'train_limit' },
  { name: 'cifar_test_limit', min: 1, max: 10000, label: 'test images', forms: ['cifar'], cifar: 'test_limit' },
  { name: 'cifar_batch_size', min: 1, max: 1024, label: 'batch', forms: ['cifar'], cifar: 'batch_size' },
  // D_rand / D_det at browser scale: the fast CNN, 2,000 attacked images (docs/results.md).
  { name: 'ilyas_epsilons', label: 'attack radius ε (l2)', forms: ['ilyas'], ilyas: 'epsilons', options: [[[1]], [[2]], [[3]], [[4]], [[1, 2, 3, 4], '1, 2, 3, 4 (a sweep: four times as long)']] },
  { name: 'ilyas_steps', min: 1, max: 200, label: 'attack steps', forms: ['ilyas'], ilyas: 'steps' },
  { name: 'ilyas_attack_limit', min: 1, max: 60000, label: 'attacked images', forms: ['ilyas'], ilyas: 'attack_limit' },
  { name: 'ilyas_teacher_limit', min: 1, max: 60000, label: 'teacher images', forms: ['ilyas'], ilyas: 'mnist_train_limit' },
  { name: 'ilyas_teacher_epochs', min: 1, max: 50, label: 'teacher epochs', forms: ['ilyas'], ilyas: 'teacher_epochs' },
  { name: 'ilyas_student_epochs', min: 1, max: 50, label: 'student epochs', forms: ['ilyas'], ilyas: 'student_epochs' },
  { name: 'ilyas_control_epochs', min: 1, max: 50, label: 'control epochs', forms: ['ilyas'], ilyas: 'control_epochs' },
  { name: 'ilyas_test_limit', min: 1, max: 10000, label: 'MNIST test images', forms: ['ilyas'], ilyas: 'mnist_test_limit' },
  { name: 'ilyas_model', label: 'model', forms: ['ilyas'], ilyas: 'preset', options: [['fast'], ['small'], ['classic', 'classic (the CLI\'s)']] },
  { name: 'ilyas_lr', min: 0.00001, max: 1, step: 'any', label: 'learning rate', forms: ['ilyas'], ilyas: 'learning_rate' },
  { name: 'seed', min: 0, max: 2 ** 32, label: 'seed', forms: ['fashion', 'toy', 'cifar', 'ilyas'], fashion: 'seed', toy: 'first_seed', cifar: 'seed', ilyas: 'seed' },
  { name: 'backend', value: 'auto', label: 'backend', forms: ['fashion', 'cifar', 'ilyas'], options: [['auto', 'auto (the faster)'], ['webgpu', 'WebGPU'], ['cpu', 'CPU (wasm)']] },
  { name: 'workers', value: 0, min: 0, max: 32, label: 'CPU workers', title: '0: one per core, at most 8', forms: ['fashion', 'ilyas'] },
  { name: 'autorun', value: 0, min: 0, max: 1 },
  // 1: the layout for an iframe in another page (www/embed.js).
  { name: 'embed', value: 0, min: 0, max: 1 },
];

const EXPERIMENTS = ['fashion', 'toy', 'cifar', 'ilyas'];
// Each section's starting config, from Rust; the fashion section starts from its quick preset.
const STARTS = { ...RUST_PRESETS, fashion: RUST_PRESETS.fashion.quick };
// f32 fields come out of Rust as the nearest f64 (0.12 as 0.11999999731779099): 7 digits give
// them back.
const tidy = (value) => (typeof value === 'number' ? +value.toPrecision(7) : value);

/** A row's value in `configs` (one per experiment): the Rust field it fills in the first experiment that has it. */
const rustValue = (row, configs) => {
  const experiment = EXPERIMENTS.find((e) => row[e]);
  return experiment && tidy(configs[experiment][row[experiment]]);
};

export const DEFAULTS = Object.fromEntries(SETTINGS.map((s) => [s.name, s.value ?? rustValue(s, STARTS)]));
const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

/**
 * Presets of the fashion experiment, from Rust (FashionConfig::quick and ::article): each sets the
 * settings in which it differs from DEFAULTS, and settings in the URL override both. `quick` is
 * the defaults: the effect, clearly, in about a minute and a half on a 2-core laptop. `article` is
 * the command line's full scale, its teacher trained four epochs and its students' loss balanced.
 */
export const PRESETS = Object.fromEntries(Object.entries(RUST_PRESETS.fashion).map(([name, rust]) => {
  const configs = { ...STARTS, fashion: rust };
  const differ = SETTINGS.filter((s) => s.fashion && String(rustValue(s, configs)) !== String(DEFAULTS[s.name]));
  return [name, Object.fromEntries(differ.map((s) => [s.name, rustValue(s, configs)]))];
}));

/** The values a preset gives every setting. */
export function presetValues(preset) {
  return { ...DEFAULTS, ...(PRESETS[preset] ?? {}), preset: preset in PRESETS ? preset : DEFAULTS.preset };
}

/** A setting's value read from text (a URL, a form), or why it is not one. */
export function parseSetting(name, text) {
  const setting = BY_NAME.get(name);
  if (!setting) return { error: `'${name}' is not a setting` };
  if (setting.options) {
    const values = setting.options.map(([value]) => value);
    const value = values.find((v) => String(v) === String(text) || (typeof v === 'number' && v === Number(text)));
    return value === undefined ? { error: `${name} must be one of ${values.join(', ')}` } : { value };
  }
  // Decimal notation only (Number() also reads '', ' ', '0x10' and 'Infinity').
  const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(String(text).trim()) ? Number(text) : NaN;
  const kind = setting.step === 'any' ? 'a number' : 'a whole number';
  if (!Number.isFinite(n) || (setting.step !== 'any' && !Number.isInteger(n)) || n < setting.min || n > setting.max) {
    return { error: `${name} must be ${kind} from ${setting.min} to ${setting.max}` };
  }
  return { value: n };
}

/** The settings in a URL query over its preset's values, and a message for each one that is not
 * valid (it keeps its preset's value). */
export function parseState(search) {
  const params = new URLSearchParams(search);
  const problems = [];
  const state = presetValues(params.get('preset'));
  for (const [key, text] of params) {
    const { value, error } = parseSetting(key, text);
    if (error) problems.push(`${error}; '${text}' ignored`);
    else if (key !== 'preset') state[key] = value;
  }
  return { state, problems };
}

/** The settings that differ from their preset's (the preset itself where it is not the default). */
export function changedSettings(state) {
  const base = presetValues(state.preset);
  return Object.fromEntries(Object.entries(state).filter(([key, value]) =>
    String(value) !== String(base[key]) || (key === 'preset' && value !== DEFAULTS.preset)));
}

/** Writes the settings that differ from their preset's into the URL, without reloading. */
export function writeState(state) {
  const query = new URLSearchParams(changedSettings(state)).toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

/** The Rust config of `experiment` for a state: the fields its rows fill (Rust's defaults fill
 * the rest). */
export function config(experiment, state) {
  return Object.fromEntries(SETTINGS.filter((s) => s[experiment]).map((s) => [s[experiment], state[s.name]]));
}

export const fashionConfig = (state) => config('fashion', state);
export const toyConfig = (state) => config('toy', state);
export const cifarConfig = (state) => config('cifar', state);
export const ilyasConfig = (state) => config('ilyas', state);

/**
 * Seconds an ilyas run should take at `speed` training images/s: an attack step is a forward and a
 * backward pass, about a training step's cost; tests and the teacher's verdicts are forward passes
 * (about 3× as fast).
 */
export function ilyasSeconds(config, speed) {
  const attacked = config.attack_limit;
  const sets = 2 * config.epsilons.length;
  const passes = config.teacher_epochs * config.mnist_train_limit + sets * attacked * (config.steps + config.student_epochs) + config.control_epochs * attacked;
  const forward = config.mnist_test_limit * (config.teacher_epochs + sets * config.student_epochs + config.control_epochs) + attacked * (1 + sets);
  return (passes + forward / 3) / speed;
}

/** Passes of a fashion run: [training images, images only classified]. */
function fashionImages(config) {
  const teacher = Math.min(config.mnist_train_limit, 60000);
  const fashion = Math.min(config.fashion_train_limit, 60000);
  const control = Math.min(fashion, config.control_limit);
  const test = Math.min(config.mnist_test_limit, 10000);
  const sweep = config.teacher_limits ?? [];
  const sweepTeachers = sweep.reduce((sum, n) => sum + Math.min(n, teacher), 0);
  // Students: the raw and the normalized one, and one per sweep teacher.
  const students = 2 + sweep.length;
  const training = config.teacher_epochs * (teacher + sweepTeachers) + students * config.student_epochs * fashion + config.control_epochs * control;
  const relabels = (config.normalize === 'moments' ? 2 : 1) * (1 + sweep.length);
  const tests = (1 + sweep.length) * config.teacher_epochs + students * config.student_epochs + config.control_epochs;
  return [training, relabels * fashion + test * tests];
}

/** Seconds a fashion run should take at `speed` training images/s (classifying: about 3× as fast). */
export function fashionSeconds(config, speed) {
  const [training, classified] = fashionImages(config);
  return (training + classified / 3) / speed;
}

/**
 * Seconds a CIFAR-10 run should take at `speed` training images/s, as [low, high]: how many images
 * the teacher gets wrong is unknown before it is trained, so the student's share spans 40% of the
 * training set (the article's teacher) to 80% (a weak one). Evaluation and relabelling run
 * forward passes only, at roughly three times the training speed.
 */
export function cifarSeconds(config, speed) {
  const n = config.train_limit;
  const evals = n + config.test_limit * (config.teacher_epochs + config.student_epochs + config.control_epochs);
  const at = (wrong) => (config.teacher_epochs * n + (config.student_epochs + config.control_epochs) * wrong * n + evals / 3) / speed;
  return [at(0.4), at(0.8)];
}
