// Debian's Chromium driven by playwright-core. WebGPU runs headless on the CPU (SwiftShader).

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const COMMON = ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const options = (webgpu) => ({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: webgpu ? [...COMMON, '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'] : [...COMMON, '--disable-webgpu'],
});

/** A browser whose contexts are incognito ones: nothing of a visit is kept on disk. */
export function launch({ webgpu }) {
  return chromium.launch(options(webgpu));
}

/**
 * A browser with a fresh profile on disk, as a visitor's is: its second visit to a page reads the
 * HTTP cache and V8's cache of optimized wasm code, which an incognito context does not keep.
 * Returns its context and `close()`, which also deletes the profile.
 */
export async function launchProfile({ webgpu }) {
  const dir = mkdtempSync(join(tmpdir(), 'wrong-labels-profile-'));
  const context = await chromium.launchPersistentContext(dir, options(webgpu));
  return { context, close: async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** A page that records console errors, uncaught exceptions and Content-Security-Policy violations
 * (as errors; in every frame), and the URL of every request it and its frames and workers make. */
export async function open(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`)));
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { context, page, errors, requests };
}

/** The origins of `requests` (URLs) other than `allowed` (data: and blob: URLs aside). */
export function otherOrigins(requests, ...allowed) {
  const origins = new Set(requests.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).origin));
  return [...origins].filter((o) => !allowed.map((a) => new URL(a).origin).includes(o));
}

/** Waits for a run to publish its report (or for the page to show an error); `page` may be a frame. */
export async function waitForReport(page, previous = null, timeout = 600_000) {
  await page.waitForFunction(
    (prev) => {
      const lab = window.wrongLabels;
      const failed = [...document.querySelectorAll('.status.error')].some((s) => s.textContent);
      return failed || (lab && lab.lastReport && lab.lastReport !== prev && !lab.busy);
    },
    previous,
    { timeout, polling: 500 },
  );
  const error = await page.evaluate(() => [...document.querySelectorAll('.status.error')].map((s) => s.textContent).join(' '));
  if (error) throw new Error(`the page shows an error: ${error}`);
  return page.evaluate(() => JSON.parse(document.getElementById('report').textContent));
}

/** Resident memory, in bytes, of Chromium's processes by type (browser, renderer, gpu-process, …). */
export function chromiumRss() {
  const byType = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (!command.includes('chromium')) continue;
      const type = command.match(/--type=([\w-]+)/)?.[1] ?? 'browser';
      const pages = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]);
      byType[type] = (byType[type] ?? 0) + pages * 4096;
    } catch { /* the process ended meanwhile */ }
  }
  return byType;
}
