// The page's settings (www/state.js) in Node: presets, URL overrides, time estimates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, PRESETS, readState, fashionConfig, fashionSeconds, cifarConfig, cifarSeconds } from '../../www/state.js';

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
