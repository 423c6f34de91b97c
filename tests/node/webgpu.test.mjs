// The page's wasm module trains on WebGPU under Node (scripts/webgpu-node.mjs), on the machine's
// Vulkan: Mesa's lavapipe here and in CI, a second WebGPU implementation beside Chromium's
// SwiftShader. A tiny run: the teacher must learn.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/webgpu-node.mjs');
const TINY = ['preset=fast', 'learning_rate=0.004', 'teacher_epochs=1', 'student_epochs=1', 'control_epochs=1', 'mnist_train_limit=3000',
  'fashion_train_limit=500', 'mnist_test_limit=500', 'control_limit=200'];

test('the wasm module trains on WebGPU in Node', { timeout: 900_000 }, async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'webgpu-node-')), 'run.json');
  await promisify(execFile)('node', [SCRIPT, `out=${out}`, ...TINY], { maxBuffer: 1 << 24 });
  const { adapter, report } = JSON.parse(await readFile(out, 'utf8'));
  assert.ok(adapter, 'an adapter name');
  assert.ok(report.teacher.test_accuracy >= 0.7, `teacher ${report.teacher.test_accuracy}`);
  assert.ok(report.images_per_second.teacher > 0 && report.images_per_second.students > 0);
  assert.equal(report.config.mnist_test_limit, 500);
});
