#!/usr/bin/env node
// scripts/stalls.mjs in headless Chromium on WebGPU (SwiftShader on a machine without a GPU): the
// built site's wasm module (dist/, from scripts/build-web) on the page's main thread.
//   node scripts/stalls-chromium.mjs [out=FILE]

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { serve } from '../tests/browser/server.mjs';
import { launch } from '../tests/browser/browser.mjs';

const out = process.argv.slice(2).find((a) => a.startsWith('out='))?.slice(4);
const server = await serve(resolve(import.meta.dirname, '../dist'));
const browser = await launch({ webgpu: true });
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(m.text()));
  await page.route('**/stalls.mjs', (route) => route.fulfill({ path: resolve(import.meta.dirname, 'stalls.mjs'), contentType: 'text/javascript' }));
  await page.route('**/stalls.html', (route) => route.fulfill({ body: '<!doctype html><title>stalls</title>', contentType: 'text/html' }));
  await page.goto(`${server.url}stalls.html`);
  const result = await page.evaluate(async () => {
    const { measureStalls } = await import('./stalls.mjs');
    const { default: init, Lab } = await import('./pkg/gpu/wrong_labels.js');
    const { manifest, chunkFiles, loadDataset } = await import('./data.js');
    await init();
    const adapter = await navigator.gpu.requestAdapter();
    const lab = new Lab();
    await lab.init('webgpu');
    const m = await manifest();
    for (const [dataset, splits] of [['mnist', { train: null, t10k: null }], ['fashion', { train: null }]]) {
      const names = chunkFiles(m, dataset, splits);
      lab.load(dataset, names, await loadDataset(dataset, () => {}, names));
    }
    const adapterName = [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ');
    console.log(`stalls on WebGPU in Chromium (${adapterName})`);
    return { adapter: adapterName, ...(await measureStalls(lab)) };
  });
  if (out) await writeFile(out, JSON.stringify(result, null, 1));
} finally {
  await browser.close();
  server.close();
}
