/**
 * The remote path's ceiling: a bare undici loop that sends the same requests batchlabel sends (same JSON
 * bodies, same headers, same keep-alive Pool settings, same concurrency) and parses each answer, with
 * nothing else: no CSV, no queue, no checkpoint, no export. Texts are preloaded from the generator's
 * side file before the clock starts.
 *
 *   node dist/bench/lib/raw-undici.js <url> <texts-file> <rows> <concurrency> <batch>
 * prints one JSON line: {"rows": n, "requests": n, "ms": elapsed}
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const [url, textsFile, rowsArg, concArg, batchArg] = process.argv.slice(2);
if (!url || !textsFile || !rowsArg || !concArg || !batchArg) {
  process.stderr.write('usage: raw-undici <url> <texts-file> <rows> <concurrency> <batch>\n');
  process.exit(2);
}
const rows = Number(rowsArg);
const concurrency = Number(concArg);
const batch = Number(batchArg);

const data = readFileSync(textsFile);
const starts = new Float64Array(rows + 1);
let pos = 0;
for (let i = 0; i < rows; i++) {
  if (pos >= data.length) throw new Error(`${textsFile} holds only ${i} texts, ${rows} asked`);
  starts[i] = pos;
  pos += 4 + data.readUInt32LE(pos);
}
starts[rows] = pos;
const text = (i: number) => data.toString('utf8', starts[i]! + 4, starts[i + 1]!);

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
    const texts: string[] = [];
    for (let i = from; i < to; i++) texts.push(text(i));
    const body = JSON.stringify({ inputs: texts.length === 1 ? texts[0] : texts });
    const res = await pool.request({ path: target.pathname, method: 'POST', headers, body });
    const answer = JSON.parse(await res.body.text()) as unknown[];
    if (res.statusCode !== 200 || !Array.isArray(answer) || (texts.length > 1 && answer.length !== texts.length)) {
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
