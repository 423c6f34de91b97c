// The page's settings (www/state.js) in Node: presets, URL overrides, time estimates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS, DEFAULTS, PRESETS, parseState, parseSetting, config, fashionConfig, toyConfig, fashionSeconds, cifarConfig, cifarSeconds, ilyasConfig, ilyasSeconds } from '../../www/state.js';
import RUST_PRESETS from '../../www/presets.js';

/** The settings a query gives (what `parseState` keeps of it). */
const readState = (search) => parseState(search).state;

test('a preset sets its fields, and settings in the URL override it', () => {
  assert.equal(readState('').preset, 'quick');
  assert.deepEqual(readState(''), { ...DEFAULTS });
  const article = readState('?preset=article');
  for (const [key, value] of Object.entries(PRESETS.article)) assert.equal(article[key], value, key);
  const mixed = readState('?teacher_epochs=5&preset=article&seed=9');
  assert.equal(mixed.teacher_epochs, 5);
  assert.equal(mixed.seed, 9);
  assert.equal(mixed.mnist_train_limit, 60000);
  assert.equal(readState('?preset=nonsense').preset, 'quick');
  // Unknown keys are dropped; a number that does not parse keeps the default.
  const odd = readState('?bogus=1&seed=abc&teacher_epochs=');
  assert.equal('bogus' in odd, false);
  assert.equal(odd.seed, DEFAULTS.seed);
  assert.equal(odd.teacher_epochs, DEFAULTS.teacher_epochs);
});

test('the fashion config names the model as the Rust config does', () => {
  const config = fashionConfig(readState('?preset=article'));
  assert.equal(config.preset, 'classic');
  assert.equal(config.mnist_train_limit, 60000);
  assert.equal(config.teacher_shift, 0);
  assert.equal(fashionConfig(readState('?teacher_shift=2')).teacher_shift, 2);
  // The article preset balances its students' loss; the quick one, and a URL, can choose.
  assert.equal(config.student_balance, 0.5);
  assert.equal(fashionConfig(readState('')).student_balance, 0);
  assert.equal(fashionConfig(readState('?preset=article&student_balance=0')).student_balance, 0);
  // The GPU recipe's batch: 128 at the article's scale, where it was validated; the CPU's in quick runs.
  assert.equal(config.gpu_batch_size, 128);
  assert.equal(fashionConfig(readState('')).gpu_batch_size, 64);
});

test('the time estimate counts every pass of a run', () => {
  const config = fashionConfig(readState('?mnist_train_limit=1000&fashion_train_limit=1000&mnist_test_limit=300&teacher_epochs=1&student_epochs=1&control_epochs=1'));
  // Training: 1,000 teacher + 2 × 1,000 students + control; classified: relabel 1,000 + 4 test passes of 300, at 3× the speed.
  const control = Math.min(config.control_limit, 1000);
  assert.equal(fashionSeconds(config, 100), (3000 + control + (1000 + 4 * 300) / 3) / 100);
});

test('the CIFAR-10 estimate spans a strong and a weak teacher', () => {
  const config = cifarConfig(readState('?cifar_train_limit=1000&cifar_test_limit=100&cifar_teacher_epochs=2&cifar_student_epochs=3&cifar_control_epochs=1'));
  // Teacher 2 × 1,000; student and control 4 epochs on 40% or 80% of 1,000; classified: 1,000 + 6 test passes of 100, at 3×.
  const classified = (1000 + 6 * 100) / 3;
  assert.deepEqual(cifarSeconds(config, 10), [(2000 + 4 * 400 + classified) / 10, (2000 + 4 * 800 + classified) / 10]);
});

test('every default is a valid value of its setting', () => {
  for (const { name } of SETTINGS) assert.deepEqual(parseSetting(name, String(DEFAULTS[name])), { value: DEFAULTS[name] }, name);
  for (const [preset, values] of Object.entries(PRESETS)) {
    for (const [name, value] of Object.entries(values)) assert.deepEqual(parseSetting(name, String(value)), { value }, `${preset}.${name}`);
  }
});

test('the defaults are Rust\'s presets: a setting that fills several configs has one default in all', () => {
  const starts = { ...RUST_PRESETS, fashion: RUST_PRESETS.fashion.quick };
  const tidy = (v) => (typeof v === 'number' ? +v.toPrecision(7) : v);
  for (const row of SETTINGS) {
    const fields = ['fashion', 'toy', 'cifar', 'ilyas'].filter((e) => row[e]);
    assert.equal('value' in row, !fields.length, `${row.name}: a default of its own only where no Rust field has one`);
    for (const e of fields) assert.deepEqual(tidy(starts[e][row[e]]), DEFAULTS[row.name], `${row.name} in ${e}`);
  }
  assert.equal(DEFAULTS.lr, RUST_PRESETS.fashion.quick.learning_rate);
  assert.equal(PRESETS.article.teacher_epochs, RUST_PRESETS.fashion.article.teacher_epochs);
});

test('a bad URL setting is named, and keeps its default', () => {
  const bad = ['lr=abc', 'lr=0', 'lr=-1', 'lr=NaN', 'lr=Infinity', 'lr=2', 'lr=', 'batch_size=0', 'batch_size=-5', 'batch_size=1.5',
    'batch_size=1e9', 'batch_size=0x10', 'seed=-1', 'seed=1e300', 'seed=abc', 'teacher_epochs=0', 'teacher_epochs=999',
    'student_epochs=2.5', 'control_epochs=%20', 'mnist_train_limit=60001', 'fashion_train_limit=-0.5', 'mnist_test_limit=0',
    'control_limit=null', 'model=resnet', 'model=', 'normalize=none', 'backend=gpu', 'workers=-1', 'workers=33', 'preset=full',
    'experiment=cats', 'ilyas_epsilons=5', 'ilyas_epsilons=1,2', 'ilyas_steps=0', 'cifar_width=0.3', 'cifar_batch_size=0', 'epsilon=-0.1', 'toy_runs=0', 'teacher_shift=5', 'teacher_shift=-1', 'student_balance=2', 'autorun=yes', 'bogus=1', '__proto__=1'];
  assert.ok(bad.length >= 30);
  for (const query of bad) {
    const { state, problems } = parseState(`?${query}`);
    assert.equal(problems.length, 1, query);
    assert.ok(problems[0].includes(query.split('=')[0]), `${query}: ${problems[0]}`);
    assert.deepEqual(state, { ...DEFAULTS }, query);
  }
  // Good values pass, whatever their spelling.
  const { state, problems } = parseState('?lr=1e-3&batch_size=128&cifar_width=.25&seed=0&model=classic');
  assert.deepEqual(problems, []);
  assert.deepEqual([state.lr, state.batch_size, state.cifar_width, state.seed, state.model], [0.001, 128, 0.25, 0, 'classic']);
});

test('each Rust config gets the fields its rows name, under their Rust names', () => {
  const state = readState('?lr=0.01&seed=7&toy_runs=3');
  assert.equal(fashionConfig(state).learning_rate, 0.01);
  assert.equal(fashionConfig(state).seed, 7);
  assert.deepEqual(toyConfig(state), { runs: 3, epsilon: DEFAULTS.epsilon, first_seed: 7 });
  assert.equal('lr' in fashionConfig(state), false);
  assert.deepEqual(config('nothing', state), {});
});

test('the ilyas config sends its radii as a list, and its estimate counts every attack step', () => {
  const one = ilyasConfig(readState('?ilyas_steps=10'));
  assert.deepEqual(one.epsilons, [3]);
  assert.equal(one.steps, 10);
  assert.equal(one.preset, 'fast');
  const sweep = ilyasConfig(readState('?ilyas_epsilons=1,2,3,4&ilyas_steps=10'));
  assert.deepEqual(sweep.epsilons, [1, 2, 3, 4]);
  // Each radius adds the same time (two attacks, two students); the teacher and control come once.
  const speed = 1000;
  const perRadius = ilyasSeconds(one, speed) - ilyasSeconds({ ...one, epsilons: [] }, speed);
  assert.ok(perRadius > (2 * one.attack_limit * one.steps) / speed, 'the attack steps are counted');
  assert.ok(Math.abs(ilyasSeconds(sweep, speed) - ilyasSeconds(one, speed) - 3 * perRadius) < 1e-9);
  assert.ok(ilyasSeconds(one, 2 * speed) < ilyasSeconds(one, speed));
});
