// The lab workers of one backend: a single worker on WebGPU, or several on the CPU, each a replica
// of the model that holds a shard of every dataset and trains on its share of each batch; their
// gradients are averaged at every step over MessagePorts (www/group.js, src/parallel.rs). The
// first worker parses the downloaded files and hands the others their shards, so the datasets are
// held once, not once per worker.

/** A run that the user cancelled: stopped by the workers themselves, or, where they did not answer
 * in time, `killed` with them. */
export class Cancelled extends Error {
  constructor({ killed = false } = {}) { super('the run was cancelled'); this.name = 'Cancelled'; this.killed = killed; }
}

/** The GPU device was lost (driver reset, GPU removed, tab in the background too long…). */
export class DeviceLost extends Error {
  constructor(message) { super(`the GPU device was lost (${message})`); this.name = 'DeviceLost'; }
}

/** How many CPU workers to start for `wanted` (0: one per core, at most 8). */
export function workerCount(wanted) {
  if (wanted >= 1) return Math.min(Math.floor(wanted), 32);
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8));
}

const CANCEL_GRACE_MS = 2000;

/** Each backend's wasm module, built from the one crate (scripts/build-web): the CPU module holds
 * burn's flex, the GPU module wgpu; a visit downloads only the modules its backends need. */
export const MODULES = { cpu: 'pkg/cpu', webgpu: 'pkg/gpu' };
const compiled = {};

/** A backend's wasm module, fetched and compiled once per page and handed to every worker (each
 * would otherwise download it on its own). */
function wasmModule(backend) {
  compiled[backend] ??= (async () => {
    const url = new URL(`./${MODULES[backend]}/wrong_labels_bg.wasm`, import.meta.url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
    // Streaming compilation takes only application/wasm; a host that serves another media type
    // gets the same bytes compiled whole.
    if (response.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
    return WebAssembly.compile(await response.arrayBuffer());
  })();
  compiled[backend].catch(() => { delete compiled[backend]; });
  return compiled[backend];
}

export class Pool {
  /** `backend`: 'cpu' or 'webgpu'; `size`: its workers (WebGPU: 1). */
  constructor(backend, size) {
    Object.assign(this, { backend, size, nextId: 1, runs: 0, dead: null, loaded: {} });
    this.pending = new Map();
    this.workers = Array.from({ length: size }, () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    this.workers.forEach((worker) => {
      worker.onmessage = ({ data }) => this.receive(data);
      worker.onerror = (e) => this.fail(new Error(e.message || 'a worker failed to start (is the page served over http?)'));
    });
    // Every two workers talk over a channel of their own: ports[i][j] is i's end of it.
    const ports = this.workers.map(() => new Array(size).fill(null));
    for (let i = 0; i < size; i++) {
      for (let j = i + 1; j < size; j++) {
        const channel = new MessageChannel();
        [ports[i][j], ports[j][i]] = [channel.port1, channel.port2];
      }
    }
    this.ready = wasmModule(backend).then((module) => Promise.all(this.workers.map((worker, rank) =>
      this.request(worker, { type: 'init', backend, rank, size, module }, ports[rank].filter(Boolean), { ports: ports[rank] }))))
      .then((replies) => ({ adapter: replies[0].adapter }), (e) => { this.terminate(); throw e; });
  }

  receive(msg) {
    if (msg.type === 'lost') return this.fail(new DeviceLost(msg.message));
    const request = this.pending.get(msg.id);
    if (!request) return;
    if (msg.type === 'event') return request.onEvent(msg.event);
    this.pending.delete(msg.id);
    if (msg.type === 'done') return request.resolve(msg);
    if (msg.fatal) this.fail(new Error(msg.message));
    request.reject(msg.cancelled ? new Cancelled() : new Error(msg.message));
  }

  /** Ends the pool: every pending request fails with `error`. */
  fail(error) {
    this.dead ??= error;
    this.terminate();
  }

  /** Ends the workers, and with them every pending request (which fails). */
  terminate() {
    this.dead ??= new Error('the workers were stopped');
    clearTimeout(this.cancelTimer);
    for (const worker of this.workers) worker.terminate();
    for (const request of this.pending.values()) request.reject(this.dead);
    this.pending.clear();
  }

  request(worker, message, transfer = [], extra = {}, onEvent = null) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      worker.postMessage({ ...message, ...extra, id, events: Boolean(onEvent) }, transfer);
    });
  }

  /**
   * Sends a request to every worker (worker 0 alone with `first`) and resolves to worker 0's
   * result. When one fails, the others are cancelled, so that none waits for its sums forever.
   */
  async everyone(message, onEvent = null, first = false) {
    const run = ++this.runs;
    const workers = first ? this.workers.slice(0, 1) : this.workers;
    const replies = workers.map((worker, rank) => this.request(worker, { ...message, run }, [], {}, rank === 0 ? onEvent : null));
    try {
      return (await Promise.all(replies))[0].result;
    } catch (e) {
      this.cancel();
      await Promise.allSettled(replies);
      throw e;
    }
  }

  /** Hands the workers a dataset (`names[i]` naming the bytes `files[i]`), once per `key`. */
  async load(dataset, names, files, key = names.join()) {
    if (this.loaded[dataset] === key) return;
    delete this.loaded[dataset];
    const reply = await this.request(this.workers[0], { type: 'load', dataset, names, files }, files.map((f) => f.buffer));
    await Promise.all(reply.result.map((shard, rank) => shard && this.request(this.workers[rank], { type: 'shard', dataset, shard },
      shard.flatMap((s) => [s.pixels.buffer, s.labels.buffer]))));
    this.loaded[dataset] = key;
  }

  /** Training images/s over all workers, after a warm-up (src/train.rs, measure_speed). */
  measure(experiment, config) {
    return this.everyone({ type: 'measure', experiment, config: { ...config, workers: this.size } });
  }

  /** Runs an experiment; resolves to its report. The toy runs in worker 0 alone. */
  run(experiment, config, onEvent) {
    const toy = experiment === 'toy';
    return this.everyone({ type: 'run', experiment, config: toy ? config : { ...config, workers: this.size } }, onEvent, toy);
  }

  /** Pixels of the images at `indices` of a set: each worker answers for those of its shard. */
  async images(set, indices) {
    const replies = await Promise.all(this.workers.map((worker) => this.request(worker, { type: 'images', set, indices })));
    return indices.map((_, k) => replies.find((reply) => reply.result[k])?.result[k]);
  }

  /** The first worker's answer to `message`: it keeps the trained models a visitor tries (the
   * replicas hold the same). */
  async first(message, transfer = []) { return (await this.request(this.workers[0], message, transfer)).result; }
  models() { return this.first({ type: 'models' }); }
  /** What each model answers for an image (src/web.rs, `answer`): `{ image, answers }`. */
  answer(kind, pixels, width, height) { return this.first({ type: 'answer', kind, pixels, width, height }); }
  saveModel(name) { return this.first({ type: 'save-model', name }); }
  loadModel(bytes) { return this.first({ type: 'load-model', bytes }, [bytes.buffer]); }
  clearModels() { return this.first({ type: 'clear-models' }); }

  /** Each worker's wasm memory, in bytes (it grows to its peak and stays there). */
  async memory() {
    return (await Promise.all(this.workers.map((worker) => this.request(worker, { type: 'memory' })))).map((reply) => reply.result);
  }

  /**
   * Stops the running request at its next step. A step can take many seconds (a big batch on a
   * slow machine, before the browser has optimized the wasm code): workers that have not answered
   * within CANCEL_GRACE_MS are ended, with the pool, so that a cancel is prompt; the next run
   * starts fresh workers.
   */
  cancel() {
    for (const worker of this.workers) worker.postMessage({ type: 'cancel', run: this.runs });
    const run = this.runs;
    clearTimeout(this.cancelTimer);
    // Only the request that was cancelled: a run started after it is not.
    this.cancelTimer = setTimeout(() => { if (this.runs === run && this.pending.size) this.fail(new Cancelled({ killed: true })); }, CANCEL_GRACE_MS);
  }
}
