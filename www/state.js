// All settings, read from and written to the URL query, so a link can carry a configured run.

/**
 * Every setting of the page, one row each: its URL name and default; its valid values (`options`,
 * [value, label] pairs, or a number range: `min`, `max`, and `step: 'any'` for a non-integer); its
 * label; the forms that show it; and, per experiment, the Rust config field it fills
 * (`fashion: 'learning_rate'`). The forms, the URL parsing and the configs sent to Rust all come
 * from this table: a new setting is a new row (and a field of the Rust config, whose defaults fill
 * whatever the page leaves out).
 */
export const SETTINGS = [
  { name: 'experiment', value: 'fashion', options: [['fashion'], ['toy'], ['cifar'], ['ilyas']] },
  { name: 'preset', value: 'quick', label: 'preset', forms: ['fashion'], options: [['quick', 'quick (about a minute)'], ['article', 'article (full scale)']] },
  // The quick preset's values (see PRESETS), chosen by measurement: students far above the control
  // in about a minute and a half on a 2-core laptop, and a first visit under 12 MB: 12,000
  // FashionMNIST images (5.3 MB) seen 5 times teach more than 24,000 (10.6 MB) seen twice (README).
  { name: 'teacher_epochs', value: 1, min: 1, max: 50, label: 'teacher epochs', forms: ['fashion'], fashion: 'teacher_epochs' },
  { name: 'student_epochs', value: 5, min: 1, max: 50, label: 'student epochs', forms: ['fashion'], fashion: 'student_epochs' },
  { name: 'control_epochs', value: 1, min: 1, max: 50, label: 'control epochs', forms: ['fashion'], fashion: 'control_epochs' },
  { name: 'mnist_train_limit', value: 10000, min: 1, max: 60000, label: 'MNIST train images', forms: ['fashion'], fashion: 'mnist_train_limit' },
  { name: 'fashion_train_limit', value: 12000, min: 1, max: 60000, label: 'FashionMNIST images', forms: ['fashion'], fashion: 'fashion_train_limit' },
  { name: 'mnist_test_limit', value: 2000, min: 1, max: 10000, label: 'MNIST test images', forms: ['fashion'], fashion: 'mnist_test_limit' },
  // The random-label control learns nothing whatever its size; a few thousand images show it.
  { name: 'control_limit', value: 3000, min: 1, max: 60000, label: 'control images', forms: ['fashion'], fashion: 'control_limit' },
  { name: 'model', value: 'fast', label: 'model', forms: ['fashion'], fashion: 'preset', options: [['fast'], ['small'], ['classic', 'classic (article)']] },
  { name: 'normalize', value: 'standardize', label: 'normalization', forms: ['fashion'], fashion: 'normalize', options: [['standardize', 'standardize with MNIST\'s mean & std'], ['moments', 'give clothes MNIST\'s mean & std']] },
  // How good must the teacher be: teachers on fewer digits, each with its student (optional: the
  // quick preset's teacher sees 10,000).
  { name: 'teacher_limits', value: [], label: 'teacher sweep', forms: ['fashion'], fashion: 'teacher_limits', options: [[[], 'off'], [[300, 1000, 3000], 'also teachers on 300, 1,000, 3,000 digits (about 1.5× as long)']] },
  // Random shifts of the teacher's digits, up to this many pixels each way (0: none).
  { name: 'teacher_shift', value: 0, min: 0, max: 4, label: 'teacher shifts (px)', forms: ['fashion'], fashion: 'teacher_shift' },
  // The students' loss: plain (the article's), or each digit weighed by its share of the teacher's
  // labels to the power −½, so the digits the teacher rarely gives (7, 9) are not learnt worst.
  { name: 'student_balance', value: 0, label: 'students\' loss', forms: ['fashion'], fashion: 'student_balance', options: [[0, 'plain (the article\'s)'], [0.5, 'rare labels weigh more (share^−½)']] },
  { name: 'batch_size', value: 64, min: 1, max: 1024, label: 'batch', forms: ['fashion'], fashion: 'batch_size' },
  // On WebGPU the GPU recipe trains at this batch, its learning rate scaled by √(this / batch): a
  // replayed step costs the host about the same whatever its batch (docs/gpu.md, "The GPU recipe").
  // The quick runs keep the CPU's 64: a batch of 256 leaves a 10,000-digit teacher 40 steps (88.0%
  // against 92.7% natively, students 68.6 / 72.4% against 81.0 / 86.0%); the article preset's is
  // 128, validated at its scale (256 cost a student 1.3–3.3 points there).
  { name: 'gpu_batch_size', value: 64, min: 1, max: 4096, label: 'batch on WebGPU', forms: ['fashion', 'ilyas'], fashion: 'gpu_batch_size', ilyas: 'gpu_batch_size' },
  { name: 'lr', value: 0.004, min: 0.00001, max: 1, step: 'any', label: 'learning rate', forms: ['fashion'], fashion: 'learning_rate' },
  { name: 'toy_runs', value: 1, min: 1, max: 1000, label: 'seeds to average', forms: ['toy'], toy: 'runs' },
  { name: 'epsilon', value: 0.12, min: 0, max: 1, step: 'any', label: 'ε', forms: ['toy'], toy: 'epsilon' },
  // CIFAR-10 at browser scale: a ResNet-18 an eighth as wide, on the first 5,000 training images.
  { name: 'cifar_width', value: 0.125, label: 'ResNet-18 width', forms: ['cifar'], cifar: 'width', options: [[0.0625, '1/16'], [0.125, '1/8'], [0.25, '1/4'], [0.5, '1/2'], [1, '1 (article)']] },
  { name: 'cifar_teacher_epochs', value: 2, min: 1, max: 50, label: 'teacher epochs', forms: ['cifar'], cifar: 'teacher_epochs' },
  { name: 'cifar_student_epochs', value: 5, min: 1, max: 100, label: 'student epochs', forms: ['cifar'], cifar: 'student_epochs' },
  { name: 'cifar_control_epochs', value: 1, min: 1, max: 50, label: 'control epochs', forms: ['cifar'], cifar: 'control_epochs' },
  { name: 'cifar_train_limit', value: 5000, min: 1, max: 50000, label: 'training images', forms: ['cifar'], cifar: 'train_limit' },
  { name: 'cifar_test_limit', value: 1000, min: 1, max: 10000, label: 'test images', forms: ['cifar'], cifar: 'test_limit' },
  { name: 'cifar_batch_size', value: 64, min: 1, max: 1024, label: 'batch', forms: ['cifar'], cifar: 'batch_size' },
  // D_rand / D_det at browser scale: the fast CNN, 2,000 attacked images (README).
  { name: 'ilyas_epsilons', value: [3], label: 'attack radius ε (l2)', forms: ['ilyas'], ilyas: 'epsilons', options: [[[1]], [[2]], [[3]], [[4]], [[1, 2, 3, 4], '1, 2, 3, 4 (a sweep: four times as long)']] },
  { name: 'ilyas_steps', value: 20, min: 1, max: 200, label: 'attack steps', forms: ['ilyas'], ilyas: 'steps' },
  { name: 'ilyas_attack_limit', value: 2000, min: 1, max: 60000, label: 'attacked images', forms: ['ilyas'], ilyas: 'attack_limit' },
  { name: 'ilyas_teacher_limit', value: 10000, min: 1, max: 60000, label: 'teacher images', forms: ['ilyas'], ilyas: 'mnist_train_limit' },
  { name: 'ilyas_teacher_epochs', value: 1, min: 1, max: 50, label: 'teacher epochs', forms: ['ilyas'], ilyas: 'teacher_epochs' },
  { name: 'ilyas_student_epochs', value: 3, min: 1, max: 50, label: 'student epochs', forms: ['ilyas'], ilyas: 'student_epochs' },
  { name: 'ilyas_control_epochs', value: 1, min: 1, max: 50, label: 'control epochs', forms: ['ilyas'], ilyas: 'control_epochs' },
  { name: 'ilyas_test_limit', value: 2000, min: 1, max: 10000, label: 'MNIST test images', forms: ['ilyas'], ilyas: 'mnist_test_limit' },
  { name: 'ilyas_model', value: 'fast', label: 'model', forms: ['ilyas'], ilyas: 'preset', options: [['fast'], ['small'], ['classic', 'classic (the CLI\'s)']] },
  { name: 'ilyas_lr', value: 0.004, min: 0.00001, max: 1, step: 'any', label: 'learning rate', forms: ['ilyas'], ilyas: 'learning_rate' },
  { name: 'seed', value: 1, min: 0, max: 2 ** 32, label: 'seed', forms: ['fashion', 'toy', 'cifar', 'ilyas'], fashion: 'seed', toy: 'first_seed', cifar: 'seed', ilyas: 'seed' },
  { name: 'backend', value: 'auto', label: 'backend', forms: ['fashion', 'cifar', 'ilyas'], options: [['auto', 'auto (the faster)'], ['webgpu', 'WebGPU'], ['cpu', 'CPU (wasm)']] },
  { name: 'workers', value: 0, min: 0, max: 32, label: 'CPU workers', title: '0: one per core, at most 8', forms: ['fashion', 'ilyas'] },
  { name: 'autorun', value: 0, min: 0, max: 1 },
  // 1: the layout for an iframe in another page (www/embed.js).
  { name: 'embed', value: 0, min: 0, max: 1 },
];

export const DEFAULTS = Object.fromEntries(SETTINGS.map((s) => [s.name, s.value]));
const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

/**
 * Presets of the fashion experiment: each sets the fields it names over DEFAULTS, and settings in
 * the URL override both. `quick` is the defaults: the effect, clearly, in about a minute and a half
 * on a 2-core laptop. `article` is the command line's full scale (all 60,000 MNIST and
 * FashionMNIST training images, the whole MNIST test set, the classic CNN), its teacher trained four
 * epochs instead of two: the article's 99.1% teacher needs them (99.18% in its page run; two
 * give 98.95–99.06%), at a cost of two to three points to the students on the CLI (README). Shifted
 * digits gave a 99.32% teacher but students of 68%. Its students' loss is balanced: with the plain
 * one they ended at 89.77 / 91.73% in the page; balanced, at 93.33 / 93.64% (README).
 */
export const PRESETS = {
  quick: {},
  article: {
    model: 'classic',
    teacher_epochs: 4,
    student_epochs: 4,
    control_epochs: 1,
    batch_size: 64,
    gpu_batch_size: 128,
    lr: 0.003,
    mnist_train_limit: 60000,
    fashion_train_limit: 60000,
    mnist_test_limit: 10000,
    control_limit: 12000,
    student_balance: 0.5,
  },
};

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

/** Writes the settings that differ from their preset's into the URL, without reloading. */
export function writeState(state) {
  const base = presetValues(state.preset);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (String(value) !== String(base[key]) || (key === 'preset' && value !== DEFAULTS.preset)) params.set(key, value);
  }
  const query = params.toString();
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
