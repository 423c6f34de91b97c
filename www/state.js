// All settings, read from and written to the URL query, so a link can carry a configured run.

export const DEFAULTS = {
  experiment: 'fashion',
  backend: 'auto',
  // CPU workers (0: one per core, at most 8).
  workers: 0,
  seed: 1,
  preset: 'quick',
  // The quick preset (see PRESETS), chosen by measurement: students far above the control in
  // about a minute and a half on a 2-core laptop (README).
  model: 'fast',
  teacher_epochs: 1,
  student_epochs: 2,
  control_epochs: 1,
  batch_size: 64,
  lr: 0.004,
  normalize: 'standardize',
  mnist_train_limit: 10000,
  fashion_train_limit: 24000,
  mnist_test_limit: 2000,
  // The random-label control learns nothing whatever its size; a few thousand images show it.
  control_limit: 3000,
  toy_runs: 1,
  // CIFAR-10 at browser scale: a ResNet-18 an eighth as wide, on the first 5,000 training images.
  cifar_width: 0.125,
  cifar_teacher_epochs: 2,
  cifar_student_epochs: 5,
  cifar_control_epochs: 1,
  cifar_train_limit: 5000,
  cifar_test_limit: 1000,
  cifar_batch_size: 64,
  epsilon: 0.12,
  autorun: 0,
};

/**
 * Presets of the fashion experiment: each sets the fields it names over DEFAULTS, and settings in
 * the URL override both. `quick` is the defaults: the effect, clearly, in about a minute and a half
 * on a 2-core laptop. `article` is the command line's full scale (all 60,000 MNIST and
 * FashionMNIST training images, the whole MNIST test set, the classic CNN, two teacher epochs: a
 * third gave no better teacher and worse students, README).
 */
export const PRESETS = {
  quick: {},
  article: {
    model: 'classic',
    teacher_epochs: 2,
    student_epochs: 4,
    control_epochs: 1,
    batch_size: 64,
    lr: 0.003,
    mnist_train_limit: 60000,
    fashion_train_limit: 60000,
    mnist_test_limit: 10000,
    control_limit: 12000,
  },
};

const NUMBERS = new Set(Object.keys(DEFAULTS).filter((k) => typeof DEFAULTS[k] === 'number'));

/** The values a preset gives every setting. */
export function presetValues(preset) {
  return { ...DEFAULTS, ...(PRESETS[preset] ?? {}), preset: preset in PRESETS ? preset : DEFAULTS.preset };
}

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const state = presetValues(params.get('preset'));
  for (const [key, value] of params) {
    if (!(key in DEFAULTS) || key === 'preset') continue;
    if (NUMBERS.has(key)) {
      const n = Number(value);
      if (value.trim() !== '' && Number.isFinite(n)) state[key] = n;
    } else {
      state[key] = value;
    }
  }
  return state;
}

/** Writes the settings that differ from their preset's into the URL, without reloading. */
export function writeState(state) {
  const base = presetValues(state.preset);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (value !== base[key] || (key === 'preset' && value !== DEFAULTS.preset)) params.set(key, value);
  }
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

/** The Rust `FashionConfig` for a state. */
export function fashionConfig(s) {
  return {
    teacher_epochs: s.teacher_epochs,
    student_epochs: s.student_epochs,
    control_epochs: s.control_epochs,
    batch_size: s.batch_size,
    learning_rate: s.lr,
    seed: s.seed,
    preset: s.model,
    normalize: s.normalize,
    mnist_train_limit: s.mnist_train_limit,
    fashion_train_limit: s.fashion_train_limit,
    mnist_test_limit: s.mnist_test_limit,
    control_limit: s.control_limit,
  };
}

/** The Rust `ToyConfig` for a state (other fields keep their Rust defaults). */
export function toyConfig(s) {
  return { runs: s.toy_runs, first_seed: s.seed, epsilon: s.epsilon };
}

/** The Rust `CifarConfig` for a state (the learning rate keeps its Rust default). */
export function cifarConfig(s) {
  return {
    teacher_epochs: s.cifar_teacher_epochs,
    student_epochs: s.cifar_student_epochs,
    control_epochs: s.cifar_control_epochs,
    batch_size: s.cifar_batch_size,
    width: s.cifar_width,
    seed: s.seed,
    train_limit: s.cifar_train_limit,
    test_limit: s.cifar_test_limit,
  };
}

/** Passes of a fashion run: [training images, images only classified]. */
function fashionImages(config) {
  const teacher = Math.min(config.mnist_train_limit, 60000);
  const fashion = Math.min(config.fashion_train_limit, 60000);
  const control = Math.min(fashion, config.control_limit);
  const test = Math.min(config.mnist_test_limit, 10000);
  const training = config.teacher_epochs * teacher + 2 * config.student_epochs * fashion + config.control_epochs * control;
  const relabels = config.normalize === 'moments' ? 2 : 1;
  return [training, relabels * fashion + test * (config.teacher_epochs + 2 * config.student_epochs + config.control_epochs)];
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
