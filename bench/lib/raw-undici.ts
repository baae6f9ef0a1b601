/**
 * The remote path's ceiling: a bare undici loop that sends the same requests batchlabel sends (same JSON
 * bodies, same headers, same keep-alive Pool settings, same concurrency) and parses each answer, with
 * nothing else: no CSV, no queue, no checkpoint, no export. Texts are preloaded from the generator's
 * side file before the clock starts.
 *
 *   node dist/bench/lib/raw-undici.js <url> <texts-file> <rows> <concurrency> <batch>
 * prints one JSON line: {"rows": n, "requests": n, "ms": elapsed}
 */
import { Pool } from 'undici';
import { loadTexts, loopArgs } from './texts.js';

const { url, textsFile, rows, concurrency, batch } = loopArgs('raw-undici');
const texts = loadTexts(textsFile, rows);

const target = new URL(url);
const timeoutMs = 120_000; // batchlabel's default --timeout
const pool = new Pool(target.origin, {
  connections: concurrency,
  connect: { timeout: timeoutMs },
  headersTimeout: timeoutMs,
  bodyTimeout: timeoutMs,
  keepAliveTimeout: 30_000,
  maxResponseSize: 16 * 1024 * 1024,
});
const headers = { 'content-type': 'application/json', accept: 'application/json' };

let next = 0;
let requests = 0;
async function worker(): Promise<void> {
  for (;;) {
    const from = next;
    if (from >= rows) return;
    const to = Math.min(rows, from + batch);
    next = to;
    const batchTexts: string[] = [];
    for (let i = from; i < to; i++) batchTexts.push(texts.string(i));
    const body = JSON.stringify({ inputs: batchTexts.length === 1 ? batchTexts[0] : batchTexts });
    const res = await pool.request({ path: target.pathname, method: 'POST', headers, body });
    const answer = JSON.parse(await res.body.text()) as unknown[];
    if (res.statusCode !== 200 || !Array.isArray(answer) || (batchTexts.length > 1 && answer.length !== batchTexts.length)) {
      throw new Error(`unexpected answer ${res.statusCode}: ${JSON.stringify(answer).slice(0, 200)}`);
    }
    requests++;
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const ms = performance.now() - t0;
await pool.close();
process.stdout.write(`${JSON.stringify({ rows, requests, ms })}\n`);
