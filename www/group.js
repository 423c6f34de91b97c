// What keeps a run's CPU workers in step (src/parallel.rs): at every training step each worker
// sends its gradient (or its counts) to every other over a MessagePort of their own, and each adds
// them all up in rank order, so every worker computes the same bits, one message hop (then a timer
// task) a step. The arrays are transferred, not copied; plain messages, no SharedArrayBuffer: it
// works on any static host and in a cross-origin iframe. Every exchange belongs to a run; a cancel
// rejects the run's pending and later exchanges with 'cancelled', and arrays of an earlier run are
// dropped.
// A gradient is megabytes, and a fresh buffer that size each step is a fresh memory mapping whose
// pages the kernel must fault in and zero: so the arrays received in one exchange carry a later
// exchange's values, and buffers are made only at a run's first steps.

/** Which spare arrays can carry an exchange's values: those of its type and length. */
const kind = (type, length) => `${type.name}/${length}`;

export class Group {
  /** `ports[r]`: this worker's port to worker r (none at its own rank). */
  constructor(rank, size, ports) {
    Object.assign(this, { rank, size, ports, run: 0, seq: 0, cancelled: false });
    this.arrived = new Map(); // "run/seq" → the other workers' arrays, by rank
    this.waiting = null; // this worker's exchange in flight: { key, resolve, reject }
    this.spare = new Map(); // "Float32Array/length" → received arrays, to carry later values
    ports.forEach((port, r) => { if (port) port.onmessage = ({ data }) => this.receive(r, data); });
  }

  /** Starts run `run`: its exchanges are numbered from zero. */
  begin(run) {
    Object.assign(this, { run, seq: 0, cancelled: false });
    this.spare.clear();
    for (const key of this.arrived.keys()) if (Number(key.split('/')[0]) < run) this.arrived.delete(key);
  }

  cancel(run) {
    if (run !== undefined && run !== this.run) return;
    this.cancelled = true;
    this.waiting?.reject('cancelled');
    this.waiting = null;
  }

  /** Sends the concatenation of `parts` (typed arrays of one type, views of wasm memory among
   * them: they are copied at once) to every other worker; resolves to theirs, by rank, which stay
   * valid until the next call. */
  gather(parts) {
    if (this.cancelled) return Promise.reject('cancelled');
    const key = `${this.run}/${this.seq++}`;
    const length = parts.reduce((n, part) => n + part.length, 0);
    const type = parts[0].constructor;
    const spare = this.spare.get(kind(type, length)) ?? [];
    return new Promise((resolve, reject) => {
      this.waiting = { key, resolve, reject };
      for (const port of this.ports.filter(Boolean)) {
        const array = spare.pop() ?? new type(length);
        let offset = 0;
        for (const part of parts) {
          array.set(part, offset);
          offset += part.length;
        }
        port.postMessage({ key, run: this.run, array }, [array.buffer]);
      }
      this.finish();
    });
  }

  receive(from, { key, run, array }) {
    if (run < this.run) return;
    if (!this.arrived.has(key)) this.arrived.set(key, []);
    this.arrived.get(key)[from] = array;
    this.finish();
  }

  finish() {
    const parts = this.waiting && this.arrived.get(this.waiting.key);
    if (!parts || parts.filter(Boolean).length < this.size - 1) return;
    this.arrived.delete(this.waiting.key);
    const { resolve } = this.waiting;
    this.waiting = null;
    for (const array of parts.filter(Boolean)) {
      const key = kind(array.constructor, array.length);
      if (!this.spare.has(key)) this.spare.set(key, []);
      if (this.spare.get(key).length < this.size - 1) this.spare.get(key).push(array);
    }
    // Resumed from a timer task, as a lone worker resumes after each `yield_now`: resumed from the
    // message's task instead, the wasm ran its matrix products up to a quarter slower in some
    // phases (lab notes, 2026-11-28: the task a step resumes from).
    setTimeout(resolve, 0, Array.from({ length: this.size }, (_, r) => parts[r] ?? null));
  }
}
