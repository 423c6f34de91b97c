// The backends the page trains on: a pool of workers each (a CPU pool and a WebGPU pool, started
// when first needed), the choice between them by measuring both, and the datasets they are fed.

import { loadDataset } from './data.js';
import { Pool, Cancelled, MODULES, workerCount } from './pool.js';
import { describeAdapter } from './adapter.js';

/**
 * With `backend=auto`, a measurement of WebGPU gives up after this long: a GPU that cannot finish a
 * few steps in that time (a software one compiles its shaders for a minute) is the slower.
 */
const GPU_MEASURE_MS = 90_000;

export const DATASET_NAMES = { mnist: 'MNIST', fashion: 'FashionMNIST', cifar: 'CIFAR-10' };

const cpuName = (p) => `CPU (WebAssembly), ${p.size} worker${p.size > 1 ? 's' : ''}`;
const backendName = (p) => (p.backend === 'cpu' ? cpuName(p) : `WebGPU on ${p.info.adapter.name}`);
const speed = (ips) => `${Math.round(ips).toLocaleString('en')} images/s`;

export class Backends {
  /** `settings`: the page's settings object (its `backend` and `workers` are read at each run). */
  constructor(settings) {
    this.settings = settings;
    this.pools = { cpu: null, webgpu: null };
    // This browser's WebGPU adapter, described (`{ name, software }`), or null (the workers
    // find their own).
    this.gpuAdapter = (async () => {
      try {
        const adapter = await navigator.gpu?.requestAdapter();
        return adapter ? describeAdapter(adapter) : null;
      } catch { return null; }
    })();
  }

  /**
   * The CPU worker counts to measure: the one the settings force, or the count the browser reports
   * and half of it (WebKit reports 4 cores on a 2-core machine, and 4 workers there train slower
   * than 2), the last one chosen first.
   */
  cpuCounts() {
    if (this.settings.workers >= 1) return [workerCount(this.settings.workers)];
    const reported = workerCount(0);
    return [...new Set([this.cpuChosen ?? reported, reported, Math.ceil(reported / 2)])];
  }

  /** The started pool of a backend (a fresh one after a failure or a change of worker count); on
   * the CPU, of `size` workers (by default the count the last measurement chose). */
  async pool(backend, size = backend === 'cpu' ? this.cpuCounts()[0] : 1) {
    const pools = this.pools;
    if (!pools[backend] || pools[backend].dead || pools[backend].size !== size) {
      pools[backend]?.terminate();
      pools[backend] = new Pool(backend, size);
    }
    const started = pools[backend];
    try {
      started.info = await started.ready;
    } catch (e) {
      if (pools[backend] === started) pools[backend] = null;
      throw e;
    }
    return started;
  }

  /** What this browser offers, said before any run. */
  async describe() {
    const counts = this.cpuCounts();
    const cores = `the CPU (WebAssembly) with ${counts.length > 1 ? `${counts.join(' or ')} workers, whichever trains faster` : `${counts[0]} worker${counts[0] > 1 ? 's' : ''}`}`;
    const adapter = await this.gpuAdapter;
    const forced = { cpu: `Backend: ${cores}, as chosen in the settings.`, webgpu: 'Backend: WebGPU, as chosen in the settings.' };
    if (forced[this.settings.backend]) return forced[this.settings.backend];
    if (!adapter) return `No WebGPU adapter here, so the models train on ${cores}.`;
    if (adapter.software) return `WebGPU offers only ${adapter.name} here, so the models train on ${cores}.`;
    return `WebGPU found a GPU adapter (${adapter.name}): each run first times a few training steps on it and on ${cores}, and trains on the faster.`;
  }

  /**
   * Measures the training speed of `experiment` with `config` on each backend the settings allow
   * (WebGPU where a hardware adapter exists, the CPU at each worker count of `cpuCounts`), and
   * picks the fastest.
   * With `auto`, a software adapter is not measured, and its module not downloaded. Returns the
   * pool, its speed, and a line saying what was measured. `run.pool` follows the pool being
   * measured, so that a cancel reaches it.
   */
  async choose(experiment, config, run) {
    const candidates = this.settings.backend === 'auto' ? ['webgpu', 'cpu'] : [this.settings.backend];
    const measured = [];
    const notes = [];
    for (const backend of candidates) {
      if (backend === 'cpu') {
        measured.push(...await this.measureCpu(experiment, config, run));
        continue;
      }
      run.check();
      const adapter = backend === 'webgpu' && (await this.gpuAdapter);
      if (backend === 'webgpu' && !adapter) {
        notes.push('WebGPU: no adapter in this browser');
        continue;
      }
      if (backend === 'webgpu' && adapter.software && candidates.length > 1) {
        notes.push(`WebGPU: only ${adapter.name}, not tried`);
        continue;
      }
      let started;
      try {
        started = await this.pool(backend);
      } catch (e) {
        notes.push(`WebGPU: ${e.message}`);
        continue;
      }
      run.pool = started;
      // A cancel pressed while the pool started reached no pool: it is seen here.
      run.check();
      // A backend the settings force is measured for the estimate alone, however long it takes.
      const limited = backend === 'webgpu' && candidates.length > 1;
      let timer;
      const timeout = new Promise((_, reject) => {
        if (limited) timer = setTimeout(() => reject(new Error(`no result within ${GPU_MEASURE_MS / 1000} s`)), GPU_MEASURE_MS);
      });
      try {
        const ips = await Promise.race([started.measure(experiment, config), timeout]).finally(() => clearTimeout(timer));
        measured.push({ backend, workers: started.size, name: backendName(started), images_per_second: ips, pool: started });
      } catch (e) {
        if (e instanceof Cancelled) throw e;
        // A slow (software) GPU is given back rather than left running.
        started.fail(e);
        notes.push(`${backendName(started)}: ${e.message}`);
      }
    }
    if (!measured.length) {
      // Only WebGPU was asked for, and it could not run: the CPU always can.
      notes.push('training on the CPU instead');
      measured.push(...await this.measureCpu(experiment, config, run));
    }
    const best = measured.reduce((a, b) => (b.images_per_second > a.images_per_second ? b : a));
    // The slower pools are given back: their workers, their GPU device and their memory.
    for (const { backend, pool } of measured) {
      if (pool === best.pool) continue;
      pool.terminate();
      if (this.pools[backend] === pool) this.pools[backend] = null;
    }
    if (this.pools[best.backend] !== best.pool) this.pools[best.backend]?.terminate();
    this.pools[best.backend] = best.pool;
    if (best.backend === 'cpu') this.cpuChosen = best.workers;
    const counts = measured.filter((m) => m.backend === 'cpu').length;
    // How the worker count was chosen, for the report.
    const workersBy = this.settings.workers >= 1 ? 'the workers setting' : counts > 1 ? 'measurement' : 'the core count';
    const figures = measured.map((m) => `${m.name}: ${speed(m.images_per_second)}`);
    const line = [...figures, ...notes].join(' · ') + (measured.length > 1 ? ` → ${best.backend === 'cpu' ? `CPU, ${best.workers} worker${best.workers > 1 ? 's' : ''}` : 'WebGPU'}` : '');
    return { ...best, workersBy, line, measured: measured.map(({ pool: _, ...m }) => m) };
  }

  /**
   * Measures the CPU at each worker count of `cpuCounts()`, each its own pool (the pool of the
   * count chosen last time is kept between runs). A slower count's pool is ended as soon as a faster
   * one is measured, so that at most two are alive at once.
   */
  async measureCpu(experiment, config, run) {
    let best = null;
    const measured = [];
    let started = null;
    try {
      for (const size of this.cpuCounts()) {
        run.check();
        started = size === this.pools.cpu?.size && !this.pools.cpu.dead ? this.pools.cpu : new Pool('cpu', size);
        run.pool = started;
        started.info ??= await started.ready;
        run.check();
        const m = { backend: 'cpu', workers: size, name: cpuName(started), images_per_second: await started.measure(experiment, config), pool: started };
        measured.push(m);
        if (best && m.images_per_second <= best.images_per_second) {
          started.terminate();
        } else {
          best?.pool.terminate();
          best = m;
        }
      }
    } catch (e) {
      // A cancel or a failure: the pools this measurement started are ended (the kept one stays).
      for (const pool of [started, best?.pool]) if (pool && pool !== this.pools.cpu) pool.terminate();
      throw e;
    }
    return measured;
  }

  /**
   * Starts the downloads of a run's datasets (`[name, files]` pairs) at once, while the backends
   * are measured, except those a pool already holds; each at most once. `progress(name)` gives the
   * callback that shows a download's progress; `signal` aborts them. Returns `get(name, files)`,
   * which resolves to the files' bytes.
   */
  downloads(datasets, progress, signal) {
    const started = {};
    const get = (name, files) => (started[name] ??= loadDataset(name, progress(name), files, signal));
    for (const [name, files] of datasets) {
      if (!Object.values(this.pools).some((p) => p?.loaded[name] === files.join())) get(name, files).catch(() => {});
    }
    return get;
  }

  /**
   * The part of a run that every section shares once its backend is chosen: hands the chosen pool
   * the data it lacks (`[datasets, get]`, see `downloads`), runs `experiment` on it, and returns the
   * report with the backend recorded.
   */
  async train(choice, experiment, config, [datasets, get], onEvent, status, run) {
    run.pool = choice.pool;
    status('loading data…');
    for (const [name, files] of datasets) {
      if (choice.pool.loaded[name] === files.join()) continue;
      // A cancel aborts the downloads: the run ends as cancelled, not with the abort's error.
      const bytes = await get(name, files).catch((e) => { run.check(); throw e; });
      await choice.pool.load(name, files, bytes);
    }
    run.check();
    status('running…');
    const report = await choice.pool.run(experiment, config, onEvent);
    report.backend = { backend: choice.backend, module: MODULES[choice.backend], workers: choice.workers, workers_by: choice.workersBy, name: choice.name, measured: choice.measured };
    return report;
  }
}
