// Draws the README's pictures of the page: the default run (`?autorun=1`) in headless Chromium,
// its section captured once the report is in, down to the gallery of relabelled clothes; then a
// digit drawn on the pad (a 2, stroke by stroke with the mouse) and every model's answer.
// Asserts nothing. After scripts/build-web:
//   node tests/browser/screenshot.mjs [docs/page.png] [docs/pad.png]

import { launch, open, waitForReport } from './browser.mjs';
import { serve } from './server.mjs';

const out = process.argv[2] || 'docs/page.png';
const padOut = process.argv[3] || 'docs/pad.png';
const TWO = [[0.3, 0.32], [0.38, 0.2], [0.52, 0.15], [0.66, 0.2], [0.7, 0.33], [0.62, 0.48], [0.45, 0.63], [0.3, 0.8], [0.5, 0.79], [0.72, 0.8]];
const server = await serve('dist');
const browser = await launch({ webgpu: false });
try {
  const { page } = await open(browser, `${server.url}?autorun=1`);
  await waitForReport(page);
  const box = await page.locator('#fashion').boundingBox();
  const end = await page.locator('#fashion [data-part="class-digit"]').boundingBox();
  await page.screenshot({ path: out, fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: end.y - box.y } });
  console.log(`screenshot: ${out}`);
  const pad = page.locator('#fashion-tryout canvas.pad');
  await pad.scrollIntoViewIfNeeded();
  const at = await pad.boundingBox();
  const point = ([x, y]) => [at.x + x * at.width, at.y + y * at.height];
  await page.mouse.move(...point(TWO[0]));
  await page.mouse.down();
  for (const p of TWO.slice(1)) await page.mouse.move(...point(p), { steps: 6 });
  await page.mouse.up();
  await page.waitForFunction(() => [...document.querySelectorAll('#fashion-tryout .model-row')].every((r) => r.dataset.top));
  const tops = await page.$$eval('#fashion-tryout .model-row', (rows) => rows.map((r) => `${r.dataset.model} ${r.dataset.top}`));
  await page.locator('#fashion-tryout').screenshot({ path: padOut });
  console.log(`screenshot: ${padOut} (${tops.join(', ')})`);
} finally {
  await browser.close();
  await server.close();
}
