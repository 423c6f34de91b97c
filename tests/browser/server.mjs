// A static file server for the built site, mounted under a sub-path to prove the page uses only
// relative paths. Loopback only. Like GitHub Pages, it gzips the page, scripts and wasm for a
// browser that accepts gzip (the datasets are gzip already); it counts the bytes it sends. With
// `cache`, it also sends GitHub Pages' cache headers (an ETag, Last-Modified, a lifetime of ten
// minutes) and answers a revalidation with 304, so that a browser's second visit reads its HTTP
// cache and, for the wasm, V8's cache of the optimized code it compiled on the first.

import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.gz': 'application/gzip', '.json': 'application/json', '.bin': 'application/octet-stream' };

export function serve(root, prefix = '/labs/wrong-labels/', { cache = false } = {}) {
  const stats = { bytes: 0, datasetBytes: 0, datasetRequests: 0, wasmBytes: 0 };
  const zipped = new Map();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (!path.startsWith(prefix)) { res.writeHead(404).end(); return; }
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      let stat = statSync(file);
      if (stat.isDirectory()) {
        file = join(file, 'index.html');
        stat = statSync(file);
      }
      const dataset = /\.(gz|bin)$/.test(file);
      const headers = { 'content-type': TYPES[extname(file)] || 'application/octet-stream' };
      if (cache) {
        const { mtimeMs, size } = stat;
        Object.assign(headers, { etag: `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`,
          'last-modified': new Date(mtimeMs).toUTCString(), 'cache-control': 'max-age=600' });
        if (req.headers['if-none-match'] === headers.etag) { res.writeHead(304, headers).end(); return; }
      }
      let body = readFileSync(file);
      if (!dataset && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        if (!zipped.has(file)) zipped.set(file, gzipSync(body, { level: 9 }));
        body = zipped.get(file);
        headers['content-encoding'] = 'gzip';
      }
      stats.bytes += body.length;
      if (dataset) { stats.datasetBytes += body.length; stats.datasetRequests += 1; }
      if (file.endsWith('.wasm')) stats.wasmBytes += body.length;
      res.writeHead(200, { ...headers, 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}${prefix}`, stats, close: () => server.close() });
  }));
}

/**
 * A blog of another origin that embeds `url` in an iframe, as a third-party page would: it sets no
 * COOP/COEP headers, so the frame is not cross-origin isolated. Open `host.url + '?src=' + url`.
 * It keeps the messages the frame posts in `window.messages`, and sizes the frame by its height
 * messages, as the README's snippet does.
 */
export function serveHost() {
  const server = createServer((req, res) => {
    const src = new URL(req.url, 'http://x').searchParams.get('src') ?? '';
    const page = `<!doctype html><title>A blog</title><p>A post that embeds the demo.</p>
<iframe id="demo" src="${src.replace(/"/g, '&quot;')}" height="900" style="border:0; width: 100%"></iframe>
<script>
window.messages = [];
addEventListener('message', (e) => {
  if (e.data?.source !== 'wrong-labels') return;
  window.messages.push({ origin: e.origin, data: e.data });
  if (e.data.type === 'height') document.getElementById('demo').height = e.data.height;
});
</script>`;
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  // 'localhost', not 127.0.0.1: another site than the demo's, so the frame is third-party.
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://localhost:${server.address().port}/`, close: () => server.close() });
  }));
}
