// View widgets: they draw what they are given and know nothing of training.

export const PALETTE = ['#316ec8', '#e6781e', '#2a9d5c', '#b23a48', '#7b4fb8', '#777777'];
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** The controls of `settings` (rows of state.js's SETTINGS), each in its label, appended to `form`. */
export function settingsForm(form, settings) {
  for (const s of settings) {
    const control = s.options
      ? el('select', { name: s.name }, ...s.options.map(([value, label = value]) => el('option', { value: String(value) }, label)))
      : el('input', { name: s.name, type: 'number', min: String(s.min), max: String(s.max), step: s.step ?? '1' });
    form.append(el('label', s.title ? { title: s.title } : {}, `${s.label} `, control));
  }
}

export function pct(x) {
  return `${(x * 100).toFixed(2)}%`;
}

export function seconds(s) {
  if (!Number.isFinite(s)) return '…';
  return s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The element of `root` marked `data-part="name"` (index.html names each part of a section so). */
export function part(root, name) {
  return root.querySelector(`[data-part="${name}"]`);
}

/**
 * An experiment section of the page, from its element: its status line, its Run / Cancel buttons,
 * and, where it has them, its estimate line, download rows, phase bars, charts and results.
 */
export class SectionView {
  constructor(root) {
    this.root = root;
    for (const name of ['status', 'eta', 'downloads', 'results']) this[name] = part(root, name);
    this.phases = part(root, 'phases') && new Phases(part(root, 'phases'));
    this.curves = part(root, 'loss-chart') && new Curves(part(root, 'loss-chart'), part(root, 'accuracy-chart'));
    this.buttons = [...root.querySelectorAll('.actions button:not(.download)')];
  }

  /** Says `text` (a string or a node) on the status line; an error is shown as one. */
  say(text, isError = false) {
    this.status.replaceChildren(text);
    this.status.classList.toggle('error', isError);
  }

  /** While a run is on, only Cancel can be pressed. */
  busy(on) {
    this.buttons.forEach((b) => { b.disabled = on !== b.id.endsWith('cancel'); });
  }

  /** Empties what a run of a long experiment fills, hiding the last results. */
  clear() {
    this.phases.clear();
    this.curves.clear();
    this.downloads.replaceChildren();
    this.eta.textContent = '';
    this.results.hidden = true;
  }

  /** A download row for `label`; returns the callback that shows its progress. */
  downloadRow(label) {
    const bar = el('progress', { max: '1', value: '0' });
    const text = el('span', {}, 'starting…');
    this.downloads.append(el('div', { class: 'download-row' }, el('span', {}, `download ${label}`), bar, text));
    return (received, total, cached) => {
      bar.max = total || received || 1;
      bar.value = received;
      text.textContent = cached ? 'from the browser cache' : `${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
    };
  }

  /** Routes a run's progress events to the phase bars and charts (`testName`: the test set's). */
  progress(testName) {
    const lastStep = {};
    return (e) => {
      if (e.kind === 'phase') {
        this.phases.start(e.phase, e.steps);
      } else if (e.kind === 'step') {
        this.phases.step(e);
        this.curves.step(e);
        lastStep[e.phase] = e.step;
      } else if (e.kind === 'epoch') {
        this.curves.epoch(e.phase, e.record, lastStep[e.phase]);
        if (e.record.test_accuracy != null) this.phases.finish(e.phase, `epoch ${e.record.epoch}: ${testName} test ${pct(e.record.test_accuracy)}`);
      }
    };
  }
}

/** A progress bar per phase with its step, speed and ETA. */
export class Phases {
  constructor(root) { this.root = root; this.rows = new Map(); }
  clear() { this.root.replaceChildren(); this.rows.clear(); }
  start(phase, steps) {
    const bar = el('progress', { max: String(steps), value: '0' });
    const text = el('span');
    this.root.append(el('div', { class: 'phase' }, el('span', {}, phase), bar, text));
    this.rows.set(phase, { bar, text, started: performance.now() });
  }
  step(e) {
    const row = this.rows.get(e.phase);
    if (!row) return;
    row.bar.value = e.step;
    const elapsed = (performance.now() - row.started) / 1000;
    const eta = (elapsed / e.step) * (e.steps - e.step);
    const acc = e.accuracy == null ? '' : `, acc ${pct(e.accuracy)}`;
    row.text.textContent = `${e.step}/${e.steps}${acc}, ${Math.round(e.images_per_second)} img/s, ETA ${seconds(eta)}`;
  }
  finish(phase, note) {
    const row = this.rows.get(phase);
    if (row) { row.bar.value = row.bar.max; row.text.textContent = note; }
  }
}

/** Live line charts of loss and accuracy, one line per phase (Chart.js). */
export class Curves {
  constructor(lossCanvas, accuracyCanvas) {
    const options = (yLabel, max) => ({
      animation: false,
      parsing: false,
      responsive: true,
      scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { title: { display: true, text: yLabel }, min: 0, max } },
      plugins: { legend: { labels: { boxWidth: 12 } } },
    });
    this.loss = new Chart(lossCanvas, { type: 'line', data: { datasets: [] }, options: options('loss') });
    this.accuracy = new Chart(accuracyCanvas, { type: 'line', data: { datasets: [] }, options: options('accuracy', 1) });
    this.series = new Map();
  }
  clear() {
    for (const chart of [this.loss, this.accuracy]) { chart.data.datasets = []; chart.update(); }
    this.series.clear();
  }
  add(phase) {
    const color = PALETTE[this.series.size % PALETTE.length];
    const line = (label) => ({ label, data: [], borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 1.5 });
    const s = { loss: line(phase), acc: line(phase), test: { ...line(`${phase} (test)`), showLine: false, pointRadius: 4 } };
    this.loss.data.datasets.push(s.loss);
    this.accuracy.data.datasets.push(s.acc, s.test);
    this.series.set(phase, s);
  }
  step(e) {
    // A phase gets its lines with its first loss: passes that do not train (relabelling, attacks)
    // report none.
    if (e.loss == null) return;
    if (!this.series.has(e.phase)) this.add(e.phase);
    const s = this.series.get(e.phase);
    s.loss.data.push({ x: e.step, y: e.loss });
    s.acc.data.push({ x: e.step, y: e.accuracy });
    this.loss.update('none');
    this.accuracy.update('none');
  }
  epoch(phase, record, step) {
    const s = this.series.get(phase);
    if (s && record.test_accuracy != null) { s.test.data.push({ x: step, y: record.test_accuracy }); this.accuracy.update('none'); }
  }
}

/** A square image on a small canvas, with a caption: one plane (MNIST, drawn dark on light) or
 * `channels` planes of R, G, B (CIFAR-10). */
export function thumbnail(pixels, caption, wrong = false, channels = 1) {
  const plane = pixels.length / channels;
  const side = Math.round(Math.sqrt(plane));
  const canvas = el('canvas', { width: String(side), height: String(side) });
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < plane; i++) {
    const rgb = channels === 3 ? [pixels[i], pixels[plane + i], pixels[2 * plane + i]] : Array(3).fill(255 - pixels[i]);
    image.data.set([...rgb, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return el('figure', {}, canvas, el('figcaption', wrong ? { class: 'wrong' } : {}, caption));
}

/** An attack's perturbation (`after − before`, 8-bit pixels of one plane) as a canvas: red where
 * it adds ink, blue where it removes it, white where it leaves the pixel. */
export function perturbation(before, after) {
  const side = Math.round(Math.sqrt(before.length));
  const canvas = el('canvas', { width: String(side), height: String(side) });
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  for (let i = 0; i < before.length; i++) {
    const d = (after[i] - before[i]) / 255;
    const fade = Math.round(255 * (1 - Math.min(1, Math.abs(d) * 2)));
    image.data.set(d >= 0 ? [255, fade, fade, 255] : [fade, fade, 255, 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** A line chart against a numeric x (Chart.js): `lines`, each { label, points: [[x, y]…], color, dashed }. */
export function lineChart(canvas, lines, xLabel, yLabel) {
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: lines.map((l) => ({
        label: l.label, data: l.points.map(([x, y]) => ({ x, y })), borderColor: l.color, backgroundColor: l.color,
        borderDash: l.dashed ? [6, 4] : [], pointRadius: 4, borderWidth: 2,
      })),
    },
    options: {
      animation: false,
      parsing: false,
      scales: { x: { type: 'linear', title: { display: true, text: xLabel } }, y: { min: 0, max: 1, title: { display: true, text: yLabel } } },
      plugins: { legend: { labels: { boxWidth: 12 } } },
    },
  });
}

/** A count matrix as a table shaded by row share. */
export function heatmap(matrix, rowNames, colNames) {
  const table = el('table', { class: 'heatmap' });
  table.append(el('tr', {}, el('th'), ...colNames.map((c) => el('th', {}, c))));
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    table.append(el('tr', {}, el('th', {}, rowNames[i]), ...row.map((v) => {
      const cell = el('td', {}, String(v));
      cell.style.background = `rgba(49, 110, 200, ${(v / total).toFixed(3)})`;
      if (v / total > 0.5) cell.style.color = 'white';
      return cell;
    })));
  });
  return table;
}

/** The toy's picture: P(class 1) as a heatmap, points, ε-boxes and arrows to adversarial points. */
export function drawToy(canvas, run, grid, withAttacks) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const side = Math.round(Math.sqrt(grid.length));
  const cell = W / side;
  const blue = [49, 110, 200];
  const orange = [230, 120, 30];
  grid.forEach((p, k) => {
    const [target, t] = p >= 0.5 ? [orange, (p - 0.5) * 2] : [blue, (0.5 - p) * 2];
    const mix = (c) => Math.round(255 + (c - 255) * (0.15 + 0.4 * t));
    ctx.fillStyle = `rgb(${mix(target[0])}, ${mix(target[1])}, ${mix(target[2])})`;
    // Row k / side is y from 0 upward: flip so y = 1 is at the top.
    ctx.fillRect((k % side) * cell, W - (Math.floor(k / side) + 1) * cell, cell + 0.5, cell + 0.5);
  });
  const xy = ([x, y]) => [x * W, (1 - y) * W];
  const color = (label) => (label === 1 ? 'rgb(230,120,30)' : 'rgb(49,110,200)');
  if (withAttacks) {
    const eps = run.epsilon * W;
    run.points.forEach((p, i) => {
      const [x, y] = xy(p);
      ctx.setLineDash([3, 3]);
      ctx.strokeStyle = 'rgba(0,0,0,0.25)';
      ctx.strokeRect(x - eps, y - eps, 2 * eps, 2 * eps);
      ctx.setLineDash([]);
      if (!run.flipped[i]) return;
      const [ax, ay] = xy(run.adversarial[i]);
      arrow(ctx, x, y, ax, ay);
      ctx.strokeStyle = color(run.adversarial_labels[i]);
      ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.moveTo(ax - 4, ay - 4); ctx.lineTo(ax + 4, ay + 4); ctx.moveTo(ax + 4, ay - 4); ctx.lineTo(ax - 4, ay + 4); ctx.stroke();
      ctx.lineWidth = 1;
    });
  }
  run.points.forEach((p, i) => {
    const [x, y] = xy(p);
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.fillStyle = color(run.labels[i]);
    ctx.fill();
    ctx.strokeStyle = 'white';
    ctx.stroke();
  });
}

function arrow(ctx, x0, y0, x1, y1) {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  ctx.strokeStyle = 'rgba(0,0,0,0.7)';
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 7 * Math.cos(angle - 0.4), y1 - 7 * Math.sin(angle - 0.4));
  ctx.lineTo(x1 - 7 * Math.cos(angle + 0.4), y1 - 7 * Math.sin(angle + 0.4));
  ctx.closePath();
  ctx.fillStyle = 'rgba(0,0,0,0.7)';
  ctx.fill();
}
