// Draws the README's picture of the page: the default run (`?autorun=1`) in headless Chromium,
// its section captured once the report is in, down to the gallery of relabelled clothes.
// Asserts nothing. After scripts/build-web:
//   node tests/browser/screenshot.mjs [docs/page.png]

import { launch, open, waitForReport } from './browser.mjs';
import { serve } from './server.mjs';

const out = process.argv[2] || 'docs/page.png';
const server = await serve('dist');
const browser = await launch({ webgpu: false });
try {
  const { page } = await open(browser, `${server.url}?autorun=1`);
  await waitForReport(page);
  const box = await page.locator('#fashion').boundingBox();
  const end = await page.locator('#fashion [data-part="class-digit"]').boundingBox();
  await page.screenshot({ path: out, fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: end.y - box.y } });
  console.log(`screenshot: ${out}`);
} finally {
  await browser.close();
  await server.close();
}
