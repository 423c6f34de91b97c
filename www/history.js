// The runs a visitor finished, kept in the browser's storage: a table of them, each one's settings
// loaded back with a click, all downloadable as CSV or JSON. Where storage is missing (blocked,
// or a private mode that refuses it) or full, the page says so and goes on without it.

import { el } from './views.js';

const KEY = 'wrong-labels-runs-v1';
/** The oldest runs give way beyond this many (a run takes a few kB). */
const MAX_RUNS = 100;

/** The headline figures of a report, by experiment: [name, value] pairs, accuracies in percent. */
function figures(experiment, r) {
  const percent = (name, x) => [`${name} (%)`, Math.round(x * 1e4) / 100];
  switch (experiment) {
    case 'fashion':
      return [percent('teacher', r.teacher.test_accuracy), ...r.students.map((s) => percent(`student ${s.normalize === 'none' ? 'raw' : s.normalize}`, s.test_accuracy)), percent('control', r.control.test_accuracy)];
    case 'ilyas':
      return [percent('teacher', r.teacher.test_accuracy), ...r.sets.map((s) => percent(`student ${s.targets === 'rand' ? 'D_rand' : 'D_det'} ε=${s.epsilon}`, s.student.test_accuracy)), percent('control', r.control.test_accuracy)];
    case 'cifar':
      return [percent('teacher', r.teacher.test_accuracy), percent('student', r.student.test_accuracy), percent('control', r.control.test_accuracy)];
    case 'toy':
      return [[`originals right (of ${r.config.points})`, r.mean_correct]];
    default:
      return [];
  }
}

/** A finished run as the history keeps it. */
export function entry(experiment, settings, report) {
  return {
    at: new Date().toISOString(),
    experiment,
    settings,
    backend: report.backend?.name ?? 'CPU (WebAssembly), 1 worker',
    workers: report.config.workers ?? 1,
    seconds: report.seconds,
    figures: Object.fromEntries(figures(experiment, report)),
  };
}

export class History {
  /** `root`: the section to draw the table in; `restore(settings, experiment)` loads a run's settings back. */
  constructor(root, restore) {
    Object.assign(this, { root, restore });
    this.table = root.querySelector('table');
    this.status = root.querySelector('[role="status"]');
    this.detail = root.querySelector('.run-detail');
    root.querySelector('[data-part="runs-csv"]').addEventListener('click', () => download('wrong-labels-runs.csv', toCsv(this.runs), 'text/csv'));
    root.querySelector('[data-part="runs-json"]').addEventListener('click', () => download('wrong-labels-runs.json', JSON.stringify(this.runs, null, 2), 'application/json'));
    root.querySelector('[data-part="runs-clear"]').addEventListener('click', () => this.clear());
    this.runs = this.read();
    this.draw();
  }

  /** The kept runs, or none (with a message) where storage cannot be read. */
  read() {
    try {
      const runs = JSON.parse(localStorage.getItem(KEY) ?? '[]');
      return Array.isArray(runs) ? runs : [];
    } catch (e) {
      this.say(`Runs are not kept in this browser (${e.name === 'SyntaxError' ? 'the kept list was damaged' : 'its storage is not available'}); this page's runs are listed until it closes.`);
      return [];
    }
  }

  /** Keeps the runs; says so where the browser refuses. */
  write() {
    try {
      localStorage.setItem(KEY, JSON.stringify(this.runs));
      return true;
    } catch (e) {
      const full = e.name === 'QuotaExceededError';
      this.say(full ? 'The browser\'s storage for this site is full: the latest run is listed but not kept. Download the runs, then Clear.'
        : 'Runs are not kept in this browser (its storage is not available); this page\'s runs are listed until it closes.');
      return false;
    }
  }

  add(run) {
    this.runs.push(run);
    this.runs.splice(0, Math.max(0, this.runs.length - MAX_RUNS));
    if (this.write()) this.say('');
    this.draw();
  }

  clear() {
    this.runs = [];
    try { localStorage.removeItem(KEY); } catch { /* nothing was kept */ }
    this.detail.replaceChildren();
    this.draw();
  }

  say(text) {
    this.status.textContent = text;
  }

  draw() {
    this.root.hidden = false;
    const header = el('tr', {}, ...['when', 'experiment', 'settings changed', 'backend', 'time', 'figures'].map((h) => el('th', {}, h)));
    const rows = this.runs.map((run, i) => {
      const row = el('tr', { class: 'run', tabindex: '0', title: 'Load these settings' },
        el('td', {}, new Date(run.at).toLocaleString()),
        el('td', {}, run.experiment),
        el('td', { class: 'name' }, describe(run.settings) || 'defaults'),
        el('td', { class: 'name' }, run.backend),
        el('td', {}, `${Math.round(run.seconds)} s`),
        el('td', { class: 'name' }, Object.entries(run.figures).map(([k, v]) => `${k} ${v}`).join(', ')));
      const load = () => this.load(i);
      row.addEventListener('click', load);
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter') load(); });
      return row;
    });
    this.table.replaceChildren(header, ...rows.reverse());
    this.root.querySelectorAll('button').forEach((b) => { b.disabled = !this.runs.length; });
  }

  /** Loads run `i`'s settings back into the forms and shows what it found. */
  load(i) {
    const run = this.runs[i];
    this.restore(run.settings, run.experiment);
    this.detail.replaceChildren(
      el('p', {}, `Settings of the ${run.experiment} run of ${new Date(run.at).toLocaleString()} loaded (${describe(run.settings) || 'the defaults'}). It found:`),
      el('ul', {}, ...Object.entries(run.figures).map(([k, v]) => el('li', {}, `${k}: ${v}`))),
      el('p', { class: 'note' }, `${run.backend}, ${Math.round(run.seconds)} s. Run it again to see it in full.`));
  }
}

const describe = (settings) => Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ');

/** The runs as CSV: one row each, a column per figure that any of them has. */
export function toCsv(runs) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.figures)))];
  const cell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v ?? ''));
  const header = ['when', 'experiment', 'settings', 'backend', 'workers', 'seconds', ...names];
  const rows = runs.map((r) => [r.at, r.experiment, describe(r.settings), r.backend, r.workers, r.seconds.toFixed(1), ...names.map((n) => r.figures[n] ?? '')]);
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\n') + '\n';
}

function download(name, text, type) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  a.click();
  URL.revokeObjectURL(a.href);
}
