// Benchmark (prints figures; asserts nothing): how long the page takes to answer a drawing. After a
// small fashion run on the CPU path, 20 strokes are drawn on the pad; for each, the time from the
// question (the stroke's last state) to every model's bars shown, through the worker that holds
// the models. Run by scripts/bench after scripts/build-web.

import { resolve } from 'node:path';
import { serve } from './server.mjs';
import { launch, open, waitForReport } from './browser.mjs';

const server = await serve(resolve(import.meta.dirname, '../../dist'));
const STROKES = 20;
const median = (values) => [...values].sort((a, b) => a - b)[(values.length - 1) >> 1];

for (const model of ['fast', 'classic']) {
  const browser = await launch({ webgpu: false });
  try {
    const { page } = await open(browser, `${server.url}?experiment=fashion&model=${model}&backend=cpu&teacher_epochs=1&student_epochs=1&control_epochs=1`
      + '&mnist_train_limit=1000&fashion_train_limit=1000&mnist_test_limit=500&autorun=1');
    await waitForReport(page);
    const pad = page.locator('#fashion-tryout canvas.pad');
    await pad.scrollIntoViewIfNeeded();
    const box = await pad.boundingBox();
    const last = [];
    for (let k = 0; k < STROKES; k++) {
      await page.click('#fashion-tryout [data-part="pad-clear"]');
      await page.evaluate(() => { window.wrongLabels.tryouts.fashion.timings = []; });
      // Strokes that lean a little more each time: another drawing, another answer.
      const lean = (k / STROKES - 0.5) * 0.4;
      await page.mouse.move(box.x + box.width * (0.5 + lean), box.y + box.height * 0.15);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * (0.5 - lean), box.y + box.height * 0.85, { steps: 12 });
      await page.mouse.up();
      await page.waitForFunction(() => { const t = window.wrongLabels.tryouts.fashion; return !t.inFlight && !t.pending; });
      last.push(await page.evaluate(() => window.wrongLabels.tryouts.fashion.timings.at(-1)));
    }
    const models = await page.$$eval('#fashion-tryout .model-row', (rows) => rows.length);
    console.log(`draw a digit, ${model} CNN, ${models} models, CPU path: answer ${median(last).toFixed(1)} ms median of ${STROKES} strokes (max ${Math.max(...last).toFixed(1)} ms)`);
  } finally {
    await browser.close();
  }
}
server.close();
