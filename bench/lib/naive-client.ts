/**
 * The comparison client for the rate benchmark: what a user writes with the official client's advice, a
 * fixed number of workers each sending one text at a time (a p-limit loop) with a 3-try retry recipe
 * (wait Retry-After if given, else 1 s, 2 s). No pauses, no concurrency control. Prints
 * {"rows", "right", "requests", "ms"} as JSON. Usage: naive-client.js <url> <texts.json> <concurrency>
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, textsFile, concurrencyArg] = process.argv.slice(2);
const texts = JSON.parse(readFileSync(textsFile!, 'utf8')) as string[];
const concurrency = Number(concurrencyArg);
const TRIES = 3;

let next = 0;
let right = 0;
let requests = 0;

async function one(text: string): Promise<boolean> {
  for (let attempt = 0; attempt < TRIES; attempt++) {
    requests++;
    try {
      const res = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: text }) });
      const body = await res.text();
      if (res.ok) return Array.isArray(JSON.parse(body));
      const after = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 1000 * 2 ** attempt);
    } catch {
      await sleep(1000 * 2 ** attempt);
    }
  }
  return false;
}

async function worker(): Promise<void> {
  while (next < texts.length) {
    const text = texts[next++]!;
    if (await one(text)) right++;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify({ rows: texts.length, right, requests, ms: Math.round(performance.now() - started) })}\n`);
