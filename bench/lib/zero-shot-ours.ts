/**
 * batchlabel's local zero-shot path as the runner drives it: createOnnxClassifier, then windows of
 * classifier.batchSize reviews, two in flight (the backend's maxConcurrency), in input order. Loading
 * and a warm-up call on 2 reviews are outside the clock, as for the other systems.
 *
 *   node dist/bench/lib/zero-shot-ours.js <model-folder> <texts.json> <labels,comma,separated> <batchSize>
 * Prints one JSON line: {"rows", "ms", "window"}.
 */
import { readFileSync } from 'node:fs';
import { createOnnxClassifier } from '../../src/backends/onnx/index.js';
import { resolveSettings } from '../../src/job/resolve.js';

const [folder, textsFile, labels, batchArg] = process.argv.slice(2);
if (!folder || !textsFile || !labels || !batchArg) {
  process.stderr.write('usage: zero-shot-ours <model-folder> <texts.json> <labels> <batchSize>\n');
  process.exit(2);
}
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
const settings = resolveSettings({ input: '/dev/null', format: 'csv', backend: 'onnx', model: folder, task: 'zero-shot-classification', candidateLabels: labels, batchSize: Number(batchArg) });
const abort = new AbortController();
const c = await createOnnxClassifier(settings, {
  signal: abort.signal,
  events: {},
  queue: { concurrency: 2, maxConcurrency: 2, setConcurrency: () => {}, pauseFor: () => {} },
});
await c.classify(texts.slice(0, 2)); // warm-up, outside the clock

const windows: string[][] = [];
for (let i = 0; i < texts.length; i += c.batchSize) windows.push(texts.slice(i, i + c.batchSize));
let labeled = 0;
let next = 0;
const start = performance.now();
const lane = async () => {
  while (next < windows.length) {
    const out = await c.classify(windows[next++]!);
    labeled += out.filter((o) => o.ok).length;
  }
};
await Promise.all(Array.from({ length: c.maxConcurrency ?? 1 }, lane));
const ms = performance.now() - start;
await c.close();
if (labeled !== texts.length) throw new Error(`batchlabel labeled ${labeled} of ${texts.length}`);
process.stdout.write(`${JSON.stringify({ rows: texts.length, ms, window: c.batchSize })}\n`);
