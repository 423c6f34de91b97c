import { serve } from './server.mjs';
import { launch, open } from './browser.mjs';
const server = await serve(process.env.DIST);
const browser = await launch({ webgpu: false });
for (const at of [6, 12]) {
const t0 = Date.now();
const { page } = await open(browser, `${server.url}?experiment=fashion&teacher_epochs=1&student_epochs=1&control_epochs=1&mnist_train_limit=3000&fashion_train_limit=3000&mnist_test_limit=1000&autorun=1&backend=cpu&workers=1&model=classic&batch_size=256`);
let last = '';
for (let i = 0; i < 60; i++) {
  const s = await page.textContent('#fashion-status');
  if (s !== last) { console.log(at, ((Date.now() - t0) / 1000).toFixed(1), s); last = s; }
  if (i === at * 2) { console.log(at, ((Date.now() - t0) / 1000).toFixed(1), 'cancel'); await page.click('#fashion-cancel'); }
  if (s === 'Cancelled.') break;
  await page.waitForTimeout(500);
}
}
await browser.close(); server.close();
