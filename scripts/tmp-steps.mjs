import { readFile } from 'node:fs/promises';
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
globalThis.Window ??= class Window {};
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
const { default: init, Lab } = await import('/work/main/pkg/gpu/wrong_labels.js');
await init({ module_or_path: await readFile('/work/main/pkg/gpu/wrong_labels_bg.wasm') });
const lab = new Lab(); await lab.init('webgpu');
const { WHOLE_FILES, FOLDER } = await import('/work/main/www/data.js');
for (const [dataset, files] of Object.entries(WHOLE_FILES)) {
  const bytes = await Promise.all(files.map((f) => readFile(`/work/main/data/${FOLDER[dataset]}/${f}`)));
  lab.load(dataset, files, bytes.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length)));
}
const r = await lab.runFashion({ preset: 'classic', teacher_epochs: 1, student_epochs: 1, control_epochs: 1, mnist_train_limit: 640, fashion_train_limit: 64, control_limit: 64, mnist_test_limit: 64 }, () => {});
console.log(r.teacher.steps, r.teacher.test_accuracy);
process.exit(0);
