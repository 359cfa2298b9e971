// One-off check behind the API client's transport choice (docs/performance.md): RSS after 10,000
// GETs against the simulator with Node's built-in fetch (undici), with node:http + keep-alive, and
// with node:http wrapped in a standard Response (what src/api/http-fetch.ts does).
// Run after `npm run build`: node --expose-gc bench/fetch-memory.mjs fetch|http|resp
import http from 'node:http';
import { createSimulator } from '../dist/simulator/index.js';

const mode = process.argv[2] ?? 'fetch';
const sim = await createSimulator({ clock: 'manual', scenario: 'many-threads:100x1' });
const paths = sim.state.runs.map((r) => `/threads/${r.thread_id}/runs/${r.id}`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function get(path) {
  if (mode === 'fetch') return fetch(sim.url + path, { signal: AbortSignal.timeout(30_000) }).then((r) => r.text());
  return new Promise((resolve, reject) => {
    const req = http.request(sim.url + path, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve(mode === 'resp' ? new Response(body, { status: res.statusCode }).text() : body.toString());
      });
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy());
    req.end();
  });
}

let next = 0;
async function worker() {
  while (next < 10_000) JSON.parse(await get(paths[next++ % paths.length]));
}
globalThis.gc?.();
const before = process.memoryUsage().rss;
await Promise.all(Array.from({ length: 16 }, worker));
globalThis.gc?.();
const mb = (bytes) => (bytes / 1e6).toFixed(0);
console.log(`${mode}: RSS before ${mb(before)} MB, after ${mb(process.memoryUsage().rss)} MB, peak ${(process.resourceUsage().maxRSS / 1e3).toFixed(0)} MB`);
await sim.close();
