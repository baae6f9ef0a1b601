/**
 * The peer: transformers.js' zero-shot-classification pipeline on the local NLI folder, offline, called
 * one review at a time in input order with the candidate labels (as a user would write it; it runs one
 * model call per review and label). Loading and a warm-up call are outside the clock. The folder's model
 * type is unknown to transformers.js, so it is loaded as BERT (same ONNX file and tokenizer).
 *
 *   node dist/bench/lib/zero-shot-tjs.js <models-dir> <model-name> <texts.json> <labels,comma,separated>
 * Prints one JSON line: {"rows", "ms", "loadMs"}.
 */
import { readFileSync } from 'node:fs';
import { AutoConfig, LogLevel, env, pipeline } from '@huggingface/transformers';

const [modelsDir, name, textsFile, labelsArg] = process.argv.slice(2);
if (!modelsDir || !name || !textsFile || !labelsArg) {
  process.stderr.write('usage: zero-shot-tjs <models-dir> <model-name> <texts.json> <labels>\n');
  process.exit(2);
}
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
const labels = labelsArg.split(',');
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
env.logLevel = LogLevel.ERROR;

const t0 = performance.now();
const config = await AutoConfig.from_pretrained(name);
Object.assign(config, { model_type: 'bert', architectures: ['BertForSequenceClassification'] });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const classify = (await pipeline('zero-shot-classification', name, { dtype: 'fp32', config } as never)) as any;
const loadMs = performance.now() - t0;
await classify(texts[0], labels); // warm-up, outside the clock

let labeled = 0;
const start = performance.now();
for (const text of texts) {
  const out = (await classify(text, labels)) as { labels: string[] };
  if (out.labels.length === labels.length) labeled++;
}
const ms = performance.now() - start;
if (labeled !== texts.length) throw new Error(`transformers.js labeled ${labeled} of ${texts.length}`);
process.stdout.write(`${JSON.stringify({ rows: texts.length, ms, loadMs })}\n`);
await classify.dispose?.();
