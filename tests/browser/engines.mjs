// The three browser engines behind one small interface, for the tests that run in each: Debian's
// Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK's
// MiniBrowser (selenium-webdriver over WebKitWebDriver, on a virtual X display: WebKitGTK has no
// headless mode). A page offers `goto(url)`, `evaluate(fn, arg)` (fn runs in the page; its result
// must be JSON) and `close()`; `waitFor(page, fn, arg)` polls a condition.

import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { Builder } from 'selenium-webdriver';

const CHROMIUM_ARGS = ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-webgpu'];
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** Starts engine `name`; resolves to `{ name, newPage(), close() }`. */
export async function start(name) {
  if (name === 'chromium') {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
    return { name, close: () => browser.close(), newPage: async () => wrap(await browser.newPage()) };
  }
  if (name === 'firefox') {
    const browser = await puppeteer.launch({ browser: 'firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr', headless: true });
    return { name, close: () => browser.close(), newPage: async () => wrap(await browser.newPage()) };
  }
  if (name === 'webkit') return startWebKit();
  throw new Error(`no engine '${name}'`);
}

/** A playwright or puppeteer page (the two share these calls), its errors recorded. */
function wrap(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { errors, goto: (url) => page.goto(url), evaluate: (fn, arg) => page.evaluate(fn, arg), close: () => page.close() };
}

/** A free TCP port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
    server.on('error', reject);
  });
}

/** Waits until `port` on loopback accepts connections (a server just spawned). */
async function listening(port, what) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

/** Xvfb and WebKitWebDriver, each spawned for this engine and ended with it. */
async function startWebKit() {
  const display = `:${90 + Math.floor(Math.random() * 400)}`;
  const xvfb = spawn('Xvfb', [display, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const port = await freePort();
  const driverProcess = spawn('WebKitWebDriver', [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
  const stop = () => { driverProcess.kill(); xvfb.kill(); };
  try {
    await listening(port, 'WebKitWebDriver');
  } catch (e) {
    stop();
    throw e;
  }
  const sessions = [];
  return {
    name: 'webkit',
    close: async () => { await Promise.allSettled(sessions.map((d) => d.quit())); stop(); },
    // Each page is a MiniBrowser session of its own (WebDriver has one top-level page a session).
    newPage: async () => {
      const driver = await new Builder()
        .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } })
        .usingServer(`http://127.0.0.1:${port}`)
        .build();
      sessions.push(driver);
      return {
        errors: [],
        goto: (url) => driver.get(url),
        evaluate: async (fn, arg) => {
          const result = await driver.executeAsyncScript(
            `const done = arguments[arguments.length - 1];
             Promise.resolve().then(() => (${fn})(arguments[0])).then((v) => done({ v: v === undefined ? null : v }), (e) => done({ e: String(e) }));`, arg ?? null);
          if (result.e) throw new Error(result.e);
          return result.v;
        },
        close: () => driver.quit(),
      };
    },
  };
}

/** Polls `fn(arg)` in the page until it is truthy; resolves to its value. */
export async function waitFor(page, fn, arg = null, { timeout = 600_000, every = 500, what = 'a condition' } = {}) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The page's next report (after `previous`, by its `seconds`), or the error it shows. */
export async function report(page, previous = null, timeout = 600_000) {
  const result = await waitFor(page, (prev) => {
    const lab = window.wrongLabels;
    const error = [...document.querySelectorAll('.status.error')].map((s) => s.textContent).join(' ');
    if (error) return { error };
    const r = lab && !lab.busy && lab.lastReport;
    return r && r.seconds !== prev ? { report: r } : null;
  }, previous?.seconds ?? null, { timeout, what: 'a report' });
  if (result.error) throw new Error(`the page shows an error: ${result.error}`);
  return result.report;
}

/** The settings of a small fashion run (a few seconds a phase on this machine's CPU path). */
export const SMALL = 'experiment=fashion&teacher_epochs=1&student_epochs=1&control_epochs=1'
  + '&mnist_train_limit=3000&fashion_train_limit=3000&mnist_test_limit=1000&autorun=1';

/** In the page: flips a byte of the first cached FashionMNIST chunk (the Cache API is the page's to
 * read and write); resolves to its URL. */
export async function damageCachedChunk() {
  const cache = await caches.open('wrong-labels-data-v2');
  const key = (await cache.keys()).find((r) => r.url.includes('fashion-mnist/train-images-00.gz'));
  const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
  bytes[1000] ^= 0xff;
  await cache.put(key, new Response(bytes));
  return key.url;
}

/** What must not differ between two runs of the same settings, seed and workers. */
export const figures = (r) => ({
  teacher: r.teacher.history.map((h) => [h.train_loss, h.test_accuracy]),
  relabel: r.relabel.labels,
  students: r.students.map((s) => s.history.map((h) => [h.train_loss, h.test_accuracy])),
  control: r.control.history.map((h) => [h.train_loss, h.test_accuracy]),
});
