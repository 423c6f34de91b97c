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
// At the CPU's batch: the GPU recipe's 128 would leave 3,000 digits two dozen steps.
const TINY = ['preset=fast', 'learning_rate=0.004', 'gpu_batch_size=64', 'teacher_epochs=1', 'student_epochs=1', 'control_epochs=1',
  'mnist_train_limit=3000', 'fashion_train_limit=500', 'mnist_test_limit=500', 'control_limit=200'];

test('the wasm module trains on WebGPU in Node', { timeout: 900_000 }, async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'webgpu-node-')), 'run.json');
  await promisify(execFile)('node', [SCRIPT, `out=${out}`, ...TINY], { maxBuffer: 1 << 24 });
  const { adapter, report } = JSON.parse(await readFile(out, 'utf8'));
  assert.ok(adapter, 'an adapter name');
  assert.ok(report.teacher.test_accuracy >= 0.7, `teacher ${report.teacher.test_accuracy}`);
  assert.ok(report.images_per_second.teacher > 0 && report.images_per_second.students > 0);
  assert.equal(report.config.mnist_test_limit, 500);
  assert.equal(report.teacher.steps, 'replayed');
});

// What a training step costs the host on WebGPU (scripts/webgpu-node.mjs mode=count): a replayed
// step re-encodes a recording, so the calls that build a step's work (bind groups, buffers, writes,
// encoders) fall to a few; an eager one builds every launch anew. Counted per teacher step of the
// classic CNN at batch 64, the difference of two runs (warm-up and recording left out).
const BUILDING = ['createBindGroup', 'createBuffer', 'writeBuffer', 'createCommandEncoder'];
/** At most this many building calls a replayed step (measured here: see docs/gpu.md). */
const REPLAYED_STEP_CALLS = 16;

test('a replayed step builds at most a few WebGPU objects, a fifth of an eager step or less', { timeout: 900_000 }, async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'webgpu-count-')), 'count.json');
  await promisify(execFile)('node', [SCRIPT, 'mode=count', 'batches=64', 'steps=6,12', `out=${out}`], { maxBuffer: 1 << 24 });
  const { rows } = JSON.parse(await readFile(out, 'utf8'));
  const building = (mode) => {
    const row = rows.find((r) => r.mode === mode);
    t.diagnostic(`${mode}: ${BUILDING.map((k) => `${k} ${row[k].toFixed(1)}`).join(', ')}, dispatches ${row.dispatchWorkgroups.toFixed(1)}, main thread ${(1000 * row.seconds).toFixed(1)} ms a step`);
    return BUILDING.reduce((sum, k) => sum + row[k], 0);
  };
  const [replayed, eager] = [building('replayed'), building('eager')];
  assert.ok(replayed <= REPLAYED_STEP_CALLS, `a replayed step makes ${replayed} building calls`);
  assert.ok(eager >= 5 * replayed, `eager ${eager} against replayed ${replayed}`);
  // A replayed step still dispatches the whole step (fewer launches: Adam runs over one flat vector).
  const dispatches = (mode) => rows.find((r) => r.mode === mode).dispatchWorkgroups;
  assert.ok(dispatches('replayed') >= 0.5 * dispatches('eager'), `${dispatches('replayed')} against ${dispatches('eager')} dispatches`);
});
