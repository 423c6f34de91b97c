// Downloads the gzip IDX files served beside the page, with progress, and keeps them in the Cache
// API so a second visit downloads nothing. Decompression happens in the wasm module.

const CACHE = 'wrong-labels-data-v1';
export const FILES = {
  mnist: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
  fashion: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
};
const FOLDER = { mnist: 'data/mnist', fashion: 'data/fashion-mnist' };

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
  if (cache) await cache.put(url, new Response(bytes, { headers: { 'content-type': 'application/gzip' } }));
  return bytes;
}

/** Loads a dataset ('mnist' or 'fashion'): an array of Uint8Array in FILES order. */
export async function loadDataset(name, onProgress) {
  const cache = await openCache();
  const done = new Array(FILES[name].length).fill(0);
  const totals = new Array(FILES[name].length).fill(0);
  let cachedAll = true;
  return Promise.all(FILES[name].map((file, i) =>
    fetchFile(`${FOLDER[name]}/${file}`, cache, (received, total, fromCache) => {
      done[i] = received;
      totals[i] = total;
      cachedAll &&= fromCache;
      onProgress(done.reduce((a, b) => a + b, 0), totals.reduce((a, b) => a + b, 0), cachedAll);
    })));
}
