// Downloads the dataset files served beside the page (MNIST and FashionMNIST as gzip IDX chunks of
// 2,000 images, CIFAR-10 as its binary batches), only those a run reads, with progress; checks each
// against the manifest's size and SHA-256; keeps them in the Cache API so a second visit downloads
// nothing. Decompression and parsing happen in the wasm module.

// A file is cached under its SHA-256, so a rebuilt dataset never meets a stale copy.
const CACHE = 'wrong-labels-data-v2';
const OLD_CACHES = ['wrong-labels-data-v1'];
export const FOLDER = { mnist: 'mnist', fashion: 'fashion-mnist', cifar: 'cifar-10' };
/** The whole IDX files of each dataset, as scripts/fetch-data keeps them in the repository's data/
 * (the page serves them in chunks): for tools that run the wasm module outside the page. */
export const WHOLE_FILES = {
  mnist: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
  fashion: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
};
const CIFAR_BATCH = 10000;

let manifestRequest = null;

/** The data manifest (scripts/chunk-data): each set's image count, the chunk size, and every
 * served file's size and SHA-256. Fetched once per page. */
export function manifest() {
  manifestRequest ??= (async () => {
    const response = await fetch('data/manifest.json', { cache: 'no-cache' });
    if (!response.ok) throw new Error(`data/manifest.json: HTTP ${response.status} — is the data folder served beside the page?`);
    return response.json();
  })();
  manifestRequest.catch(() => { manifestRequest = null; });
  return manifestRequest;
}

/** The chunk files (images, labels, images, labels…) holding the first `counts[split]` images of
 * each split of an IDX dataset (`{ train: 10000, t10k: 2000 }`; null: the whole split). */
export function chunkFiles(m, dataset, counts) {
  return Object.entries(counts).flatMap(([split, count]) => {
    const total = m.sets[dataset].images[split];
    const chunks = Math.ceil(Math.min(count ?? total, total) / m.chunk);
    return Array.from({ length: chunks }, (_, k) => {
      const kk = String(k).padStart(2, '0');
      return [`${split}-images-${kk}.gz`, `${split}-labels-${kk}.gz`];
    }).flat();
  });
}

/** The CIFAR-10 batch files a run on the first `trainLimit` training images needs, test set last. */
export function cifarFiles(trainLimit) {
  const batches = Math.min(5, Math.max(1, Math.ceil(trainLimit / CIFAR_BATCH)));
  return [...Array.from({ length: batches }, (_, i) => `data_batch_${i + 1}.bin`), 'test_batch.bin'];
}

/** Where the served CIFAR-10 copy came from (its SOURCE file), or null when the site has none. */
export async function cifarSource() {
  try {
    const response = await fetch(`data/${FOLDER.cifar}/SOURCE`);
    return response.ok ? (await response.text()).trim() : null;
  } catch {
    return null;
  }
}

let cacheRequest = null;

/** The page's data cache (null where there is none), opened once a page; older versions' caches
 * are deleted then. */
function openCache() {
  cacheRequest ??= (async () => {
    // The Cache API exists only in secure contexts (https, localhost).
    try {
      if (!self.caches) return null;
      await Promise.all(OLD_CACHES.map((name) => caches.delete(name)));
      return await caches.open(CACHE);
    } catch {
      return null;
    }
  })();
  return cacheRequest;
}

/** Whether `bytes` are the file the manifest describes. Without Web Crypto (a page served over
 * plain http from another machine) only the size is checked here; gzip's CRC, checked by the wasm
 * module, still catches damage to the IDX chunks. */
async function intact(bytes, entry) {
  if (bytes.length !== entry.bytes) return false;
  if (!self.crypto?.subtle) return true;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') === entry.sha256;
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

/**
 * One file's bytes, from the cache or the network, checked against its manifest `entry`. A damaged
 * copy (cached or fresh) is dropped and fetched once more; a second damaged one stops the run.
 * `onProgress(received, total, fromCache)`.
 */
async function fetchFile(url, entry, cache, onProgress, signal) {
  const key = `${url}?sha256=${entry.sha256}`;
  const cached = cache && await cache.match(key);
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    if (await intact(bytes, entry)) {
      onProgress(bytes.length, bytes.length, true);
      return bytes;
    }
    await cache.delete(key);
  }
  for (let attempt = cached ? 1 : 0; attempt < 2; attempt += 1) {
    const response = await fetch(url, attempt ? { cache: 'reload', signal } : { signal });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} — is the data folder served beside the page?`);
    const bytes = await readWithProgress(response, (received) => onProgress(received, entry.bytes, false));
    if (await intact(bytes, entry)) {
      // A full quota costs the second visit its cache, not this run.
      if (cache) await cache.put(key, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } })).catch(() => {});
      return bytes;
    }
  }
  throw new Error(`${url} arrived damaged twice (its size or SHA-256 is not the manifest's): reload the page to try again`);
}

/** Loads files of a dataset ('mnist', 'fashion': see chunkFiles; 'cifar': cifarFiles) as Uint8Arrays;
 * `signal` (an AbortSignal) stops the downloads under way. */
export async function loadDataset(name, onProgress, files, signal) {
  const [m, cache] = await Promise.all([manifest(), openCache()]);
  const done = new Array(files.length).fill(0);
  const totals = new Array(files.length).fill(0);
  let cachedAll = true;
  return Promise.all(files.map((file, i) => {
    const path = `${FOLDER[name]}/${file}`;
    const entry = m.files[path];
    if (!entry) throw new Error(`data/${path} is not in data/manifest.json: rebuild the site with scripts/build-web`);
    return fetchFile(`data/${path}`, entry, cache, (received, total, fromCache) => {
      done[i] = received;
      totals[i] = total;
      cachedAll &&= fromCache;
      onProgress(done.reduce((a, b) => a + b, 0), totals.reduce((a, b) => a + b, 0), cachedAll);
    }, signal);
  }));
}
