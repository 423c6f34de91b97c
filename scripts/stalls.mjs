// What a WebGPU training step waits for, measured on a Lab (the wasm module's API) in Node
// (scripts/webgpu-node.mjs mode=stalls) or in Chromium (scripts/stalls-chromium.mjs): the
// teacher phase of the fashion experiment, timed from its start to its end, first on a fresh
// device (shader compilation and autotuning included), then warm, reading the running loss and
// accuracy back from the device every step, every 10 steps (the default) and once a phase.

const STEPS = 20;

/** Seconds the teacher phase of `config` takes on `lab` (its MNIST already loaded). */
async function teacherSeconds(lab, config) {
  let started = null;
  let seconds = null;
  try {
    await lab.run('fashion', config, (e) => {
      if (e.kind !== 'phase') return;
      if (e.phase === 'teacher') started = performance.now();
      else if (seconds === null) {
        seconds = (performance.now() - started) / 1000;
        lab.cancel();
      }
    });
  } catch (e) {
    if (seconds === null) throw e;
  }
  return seconds;
}

/** Per-step figures of the small CNN at batch 64; `log` receives a line per measurement. */
export async function measureStalls(lab, log = console.log, steps = Number(globalThis.process?.env?.STALL_STEPS) || STEPS) {
  const batch = 64;
  const base = {
    preset: 'small', batch_size: batch, teacher_epochs: 1, student_epochs: 1, control_epochs: 1,
    mnist_train_limit: steps * batch, mnist_test_limit: 64, fashion_train_limit: 64, control_limit: 64,
  };
  const first = await teacherSeconds(lab, { ...base, read_every: 10 });
  log(`first phase on a fresh device (compilation, autotune): ${first.toFixed(1)} s for ${steps} steps`);
  const rows = [];
  for (const readEvery of [1, 10, steps]) {
    const seconds = await teacherSeconds(lab, { ...base, read_every: readEvery });
    const row = { read_every: readEvery, ms_per_step: (1000 * seconds) / steps, images_per_second: (steps * batch) / seconds };
    log(`read every ${String(readEvery).padStart(2)} steps: ${row.ms_per_step.toFixed(0)} ms a step, ${row.images_per_second.toFixed(1)} images/s`);
    rows.push(row);
  }
  const warm = rows.find((r) => r.read_every === 10);
  return { model: 'small', batch_size: batch, steps, first_phase_seconds: first, compile_seconds: first - (steps * warm.ms_per_step) / 1000, rows };
}
