// All settings, read from and written to the URL query, so a link can carry a configured run.

export const DEFAULTS = {
  experiment: 'fashion',
  backend: 'auto',
  seed: 1,
  // Browser-scale defaults: a few minutes on a laptop CPU, far less on a GPU.
  teacher_epochs: 2,
  student_epochs: 2,
  control_epochs: 1,
  batch_size: 64,
  lr: 0.002,
  preset: 'small',
  normalize: 'moments',
  mnist_train_limit: 6000,
  fashion_train_limit: 6000,
  mnist_test_limit: 2000,
  toy_runs: 1,
  epsilon: 0.12,
  autorun: 0,
};

const NUMBERS = new Set(Object.keys(DEFAULTS).filter((k) => typeof DEFAULTS[k] === 'number'));

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const state = { ...DEFAULTS };
  for (const [key, value] of params) {
    if (!(key in DEFAULTS)) continue;
    if (NUMBERS.has(key)) {
      const n = Number(value);
      if (Number.isFinite(n)) state[key] = n;
    } else {
      state[key] = value;
    }
  }
  return state;
}

/** Writes the settings that differ from the defaults into the URL, without reloading. */
export function writeState(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (value !== DEFAULTS[key]) params.set(key, value);
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
    preset: s.preset,
    normalize: s.normalize,
    mnist_train_limit: s.mnist_train_limit,
    fashion_train_limit: s.fashion_train_limit,
    mnist_test_limit: s.mnist_test_limit,
  };
}

/** The Rust `ToyConfig` for a state (other fields keep their Rust defaults). */
export function toyConfig(s) {
  return { runs: s.toy_runs, first_seed: s.seed, epsilon: s.epsilon };
}
