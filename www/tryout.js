// Trying the trained models: a pad to draw a digit on, a garment picked from the gallery, and each
// model's ten probabilities as bars; the models' files to download and to load back. The models
// stay in the first worker of the pool that trained them (src/web.rs, `answer`) until the next run.

import { el, part, pct, FASHION_CLASSES } from './views.js';
import { loadDataset } from './data.js';

const PAD = 280;
// A pen about as thick, relative to the digit, as MNIST's strokes (a tenth of the box's height).
const PEN = 20;

/** The models' panel, built into `root` (an empty `data-part="tryout"` element of the results). */
export class Tryout {
  /** `garments`: whether its models read clothes too (the fashion run's), offering a test garment. */
  constructor(root, intro, { garments = true } = {}) {
    Object.assign(this, { root, pool: null, inFlight: false, pending: null, timings: [] });
    root.replaceChildren(...panel(intro));
    part(root, 'test-garment').hidden = !garments;
    this.pad = root.querySelector('canvas.pad');
    this.preview = root.querySelector('canvas.preview');
    this.answers = part(root, 'answers');
    this.caption = part(root, 'answers-caption');
    this.status = part(root, 'tryout-status');
    this.picker = part(root, 'model-picker');
    this.drawing = false;
    this.clearPad();
    this.listen();
  }

  /** Shows the panel for the models in `pool`'s first worker (after a run, or a loaded file). */
  async attach(pool) {
    this.pool = pool;
    this.root.hidden = false;
    this.clearPad();
    await this.listModels();
  }

  /** Forgets the pool and frees its models: a new run replaces them (perhaps on another pool). */
  detach() {
    this.pool?.clearModels().catch(() => {});
    this.pool = null;
    this.root.hidden = true;
  }

  async listModels() {
    const cards = await this.pool.models();
    this.picker.replaceChildren(...cards.map((c) => el('option', { value: c.name }, c.name)));
    this.answers.replaceChildren(...cards.map((c) => modelRow(c.name)));
    this.cards = cards;
  }

  listen() {
    const ctx = this.pad.getContext('2d');
    // Pointer events: a mouse, a finger or a pen, one stroke at a time.
    const point = (e) => {
      const box = this.pad.getBoundingClientRect();
      return [(e.clientX - box.left) * (PAD / box.width), (e.clientY - box.top) * (PAD / box.height)];
    };
    this.pad.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      this.pad.setPointerCapture?.(e.pointerId);
      ctx.beginPath();
      ctx.moveTo(...point(e));
      ctx.lineTo(...point(e));
      ctx.stroke();
      e.preventDefault();
    });
    this.pad.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      ctx.lineTo(...point(e));
      ctx.stroke();
      this.ask({ kind: 'drawing' });
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.ask({ kind: 'drawing' });
    };
    this.pad.addEventListener('pointerup', end);
    this.pad.addEventListener('pointercancel', end);
    part(this.root, 'pad-clear').addEventListener('click', () => this.clearPad());
    part(this.root, 'model-save').addEventListener('click', () => this.save());
    part(this.root, 'model-load').addEventListener('change', (e) => this.load(e.target));
    part(this.root, 'models-forget').addEventListener('click', () => this.forget());
    part(this.root, 'test-garment').addEventListener('click', () => this.testGarment());
  }

  /** A FashionMNIST test image at random (no model saw it), from the test set's first chunk. */
  async testGarment() {
    try {
      this.testGarments ??= loadDataset('fashion', () => {}, ['t10k-images-00.gz', 't10k-labels-00.gz']).then(([images, labels]) => Promise.all([gunzip(images), gunzip(labels)]));
      const [images, labels] = await this.testGarments;
      const count = labels.length - 8;
      const i = Math.floor(Math.random() * count);
      const name = FASHION_CLASSES[labels[8 + i]].toLowerCase();
      this.garment(images.slice(16 + i * 784, 16 + (i + 1) * 784), `A ${name} from the test set (no model saw it): what each model says it is`);
    } catch (e) {
      this.testGarments = null;
      this.say(`No test garment: ${e.message}`);
    }
  }

  clearPad() {
    const ctx = this.pad.getContext('2d');
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, PAD, PAD);
    Object.assign(ctx, { strokeStyle: 'white', lineWidth: PEN, lineCap: 'round', lineJoin: 'round' });
    this.preview.getContext('2d').clearRect(0, 0, 28, 28);
    for (const row of this.answers.children) showBars(row, null);
    this.caption.textContent = 'Draw a digit in the black square.';
  }

  /** The pad's grey values (its red channel: white ink on black). */
  padPixels() {
    const rgba = this.pad.getContext('2d').getImageData(0, 0, PAD, PAD).data;
    const grey = new Uint8Array(PAD * PAD);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
    return grey;
  }

  /**
   * Asks the models about the drawing (or `garment`: `{ pixels, caption }`). One question at a
   * time: what comes while one is out waits, and only the latest is asked next, so a fast hand
   * never queues up answers.
   */
  ask(question) {
    if (!this.pool) return;
    this.pending = question;
    if (!this.inFlight) this.next();
  }

  async next() {
    const question = this.pending;
    this.pending = null;
    if (!question) return;
    this.inFlight = true;
    const started = performance.now();
    try {
      const [pixels, side] = question.kind === 'drawing' ? [this.padPixels(), PAD] : [question.pixels, 28];
      const { image, answers } = await this.pool.answer(question.kind, pixels, side, side);
      this.show(image, answers, question);
      this.timings.push(performance.now() - started);
    } catch (e) {
      this.say(`The models could not answer: ${e.message}`);
    } finally {
      this.inFlight = false;
      if (this.pending) this.next();
    }
  }

  show(image, answers, question) {
    drawPreview(this.preview, image);
    const byName = new Map(answers.map((a) => [a.name, a.probabilities]));
    for (const row of this.answers.children) showBars(row, byName.get(row.dataset.model) ?? null);
    this.caption.textContent = question.caption ?? (image ? 'What each model reads in your drawing:' : 'Draw a digit in the black square.');
  }

  /** Shows a garment (a FashionMNIST image) and what the models answer for it. */
  garment(pixels, caption) {
    this.ask({ kind: 'garment', pixels, caption });
    this.root.scrollIntoView?.({ block: 'nearest' });
  }

  say(text) {
    this.status.textContent = text;
  }

  async save() {
    const name = this.picker.value;
    try {
      const bytes = await this.pool.saveModel(name);
      const a = el('a', { href: URL.createObjectURL(new Blob([bytes])), download: `${name.replace(/[^\w.]+/g, '-')}.model` });
      a.click();
      URL.revokeObjectURL(a.href);
      this.status.textContent = `${name}: ${(bytes.length / 1e3).toFixed(0)} kB. Score it with: wrong-labels eval --model ${a.download}`;
    } catch (e) {
      this.say(`Could not save ${name}: ${e.message}`);
    }
  }

  async load(input) {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    try {
      const name = await this.pool.loadModel(new Uint8Array(await file.arrayBuffer()));
      await this.listModels();
      this.status.textContent = `Loaded ${name} from ${file.name}.`;
      this.ask({ kind: 'drawing' });
    } catch (e) {
      this.say(`${file.name} was not loaded: ${e.message}`);
    }
  }

  async forget() {
    await this.pool?.clearModels();
    await this.listModels();
    this.status.textContent = 'The models were forgotten; their memory is free. Load a model file, or run again.';
  }
}

/** The bytes of a gzip file (the browser's own decompressor). */
async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The panel's parts: a heading, the pad and what the models see, their bars, their files. */
function panel(intro) {
  return [
    el('h3', {}, 'Try the models: draw a digit'),
    el('p', { class: 'note' }, intro),
    el('div', { class: 'tryout' },
      el('div', { class: 'pad-box' },
        el('canvas', { class: 'pad', width: String(PAD), height: String(PAD), 'aria-label': 'drawing pad' }),
        el('div', { class: 'pad-tools' },
          el('button', { 'data-part': 'pad-clear', type: 'button' }, 'Clear'),
          el('button', { 'data-part': 'test-garment', type: 'button' }, 'A test garment'),
          el('figure', {}, el('canvas', { class: 'preview', width: '28', height: '28' }), el('figcaption', {}, 'what the models see')))),
      el('div', { class: 'answers-box' },
        el('p', { 'data-part': 'answers-caption', class: 'note' }),
        el('div', { 'data-part': 'answers', class: 'answers' }))),
    el('div', { class: 'model-files' },
      el('label', {}, 'Model file: ', el('select', { 'data-part': 'model-picker' })),
      el('button', { 'data-part': 'model-save', type: 'button' }, 'Download'),
      el('label', { class: 'file' }, 'Load a model file ', el('input', { 'data-part': 'model-load', type: 'file', accept: '.model' })),
      el('button', { 'data-part': 'models-forget', type: 'button' }, 'Forget the models')),
    el('p', { 'data-part': 'tryout-status', class: 'note', role: 'status' }),
  ];
}

/** A model's row: its name and ten bars, one per digit. */
function modelRow(name) {
  const bars = [...'0123456789'].map((d) => el('div', { class: 'bar', 'data-digit': d }, el('span', { class: 'fill' }), el('span', { class: 'digit' }, d)));
  return el('div', { class: 'model-row', 'data-model': name }, el('span', { class: 'model-name' }, name), el('div', { class: 'bars' }, ...bars));
}

/** Fills a row's bars with `probabilities` (or empties them), marking the most probable digit. */
function showBars(row, probabilities) {
  const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  [...row.querySelectorAll('.bar')].forEach((bar, d) => {
    const p = probabilities ? probabilities[d] : 0;
    bar.dataset.p = String(p);
    bar.querySelector('.fill').style.height = `${Math.round(p * 100)}%`;
    bar.classList.toggle('top', d === top);
    bar.title = probabilities ? `${d}: ${pct(p)}` : '';
  });
  row.dataset.top = top >= 0 ? String(top) : '';
}

/** The 28×28 image the models read, as the gallery draws digits (ink dark on light). */
function drawPreview(canvas, image) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, 28, 28);
  if (!image) return;
  const data = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) data.data.set([255 - image[i], 255 - image[i], 255 - image[i], 255], 4 * i);
  ctx.putImageData(data, 0, 0);
}
