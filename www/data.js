// Downloads the dataset files served beside the page (MNIST and FashionMNIST as gzip IDX, CIFAR-10
// as its binary batches), with progress, and keeps them in the Cache API so a second visit
// downloads nothing. Decompression and parsing happen in the wasm module.

const CACHE = 'wrong-labels-data-v1';
export const FILES = {
  mnist: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
  fashion: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
};
export const FOLDER = { mnist: 'data/mnist', fashion: 'data/fashion-mnist', cifar: 'data/cifar-10' };
const CIFAR_BATCH = 10000;

/** The CIFAR-10 batch files a run on the first `trainLimit` training images needs, test set last. */
export function cifarFiles(trainLimit) {
  const batches = Math.min(5, Math.max(1, Math.ceil(trainLimit / CIFAR_BATCH)));
  return [...Array.from({ length: batches }, (_, i) => `data_batch_${i + 1}.bin`), 'test_batch.bin'];
}

/** Where the served CIFAR-10 copy came from (its SOURCE file), or null when the site has none. */
export async function cifarSource() {
  try {
    const response = await fetch(`${FOLDER.cifar}/SOURCE`);
    return response.ok ? (await response.text()).trim() : null;
  } catch {
    return null;
  }
}

async function openCache() {
  // The Cache API exists only in secure contexts (https, localhost).
  try {
    return self.caches ? await caches.open(CACHE) : null;
  } catch {
    return null;
  }
}

/** Reads a response body, reporting (received, total) as chunks arrive. */
async function readWithProgress(response, onProgress) {
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return bytes;
}

/** One file's bytes, from the cache or the network. `onProgress(received, total, fromCache)`. */
async function fetchFile(url, cache, onProgress) {
  const cached = cache && await cache.match(url);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    onProgress(bytes.length, bytes.length, true);
    return bytes;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} — is the data folder served beside the page?`);
  const bytes = await readWithProgress(response, (r, t) => onProgress(r, t, false));
  if (cache) await cache.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
  return bytes;
}

/** Loads a dataset's files ('mnist' and 'fashion': FILES; 'cifar': `files`), as Uint8Arrays. */
export async function loadDataset(name, onProgress, files = FILES[name]) {
  const cache = await openCache();
  const done = new Array(files.length).fill(0);
  const totals = new Array(files.length).fill(0);
  let cachedAll = true;
  return Promise.all(files.map((file, i) =>
    fetchFile(`${FOLDER[name]}/${file}`, cache, (received, total, fromCache) => {
      done[i] = received;
      totals[i] = total;
      cachedAll &&= fromCache;
      onProgress(done.reduce((a, b) => a + b, 0), totals.reduce((a, b) => a + b, 0), cachedAll);
    })));
}
