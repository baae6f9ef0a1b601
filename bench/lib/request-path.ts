/**
 * batchlabel's request path alone: the runner's p-queue (with the runner's backlog rule) and the real HF
 * backend, sending the texts as the runner does (their bytes), with none of the rest of a run: no reading,
 * hashing, dedupe, checkpoint or export. Texts are preloaded like the raw loop's. Next to the raw loop and
 * the CLI it splits the pipeline's gap into what the request path costs and what the work around it costs.
 *
 *   node dist/bench/lib/request-path.js <url> <texts-file> <rows> <concurrency> <batch>
 * prints one JSON line: {"rows": n, "requests": n, "ms": elapsed}
 */
import PQueue from 'p-queue';
import { createClassifier } from '../../src/backends/index.js';
import { resolveSettings } from '../../src/job/resolve.js';
import { queueBacklog, queueControl } from '../../src/pipeline/queue-control.js';
import { loadTexts, loopArgs } from './texts.js';

const { url, textsFile, rows, concurrency, batch } = loopArgs('request-path');
const texts = loadTexts(textsFile, rows);

// The settings the CLI resolves for `run --input x.csv --endpoint <url> --concurrency N --batch-size B`.
const settings = resolveSettings({ input: 'bench.csv', endpoint: url, concurrency, batchSize: batch });
const abort = new AbortController();
const queue = new PQueue({ concurrency });
const control = queueControl(queue, concurrency, abort.signal);
let fatal: unknown;
const classifier = await createClassifier(settings, { queue: control, events: {}, signal: abort.signal });
const backlog = queueBacklog(concurrency); // the runner's rule

let requests = 0;
let answered = 0;
const t0 = performance.now();
for (let from = 0; from < rows && fatal === undefined; from += batch) {
  const call: Buffer[] = [];
  for (let i = from; i < Math.min(rows, from + batch); i++) call.push(texts.bytes(i));
  queue
    .add(async () => {
      const outcomes = await classifier.classify(call);
      requests++;
      for (const o of outcomes) {
        if (!o.ok) throw new Error(`a text failed: ${o.kind}: ${o.error}`);
        answered++;
      }
    })
    .catch((err: unknown) => {
      fatal ??= err;
      abort.abort();
    });
  if (queue.size >= backlog.full) await queue.onSizeLessThan(backlog.resume);
}
await queue.onIdle();
const ms = performance.now() - t0;
await classifier.close();
if (fatal !== undefined) throw fatal;
if (answered !== rows) throw new Error(`answered ${answered} of ${rows} texts`);
process.stdout.write(`${JSON.stringify({ rows, requests, ms })}\n`);
