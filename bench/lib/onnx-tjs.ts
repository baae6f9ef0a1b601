/**
 * The peer: transformers.js' text-classification pipeline (as a user would write it), offline against the
 * local model folder, called on batches of 32 texts in input order. Model loading is outside the clock.
 *
 *   node dist/bench/lib/onnx-tjs.js <models-dir> <model-name> <dtype> <texts.json> <batch>
 * Prints one JSON line: {"rows", "ms", "loadMs"}.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoConfig, LogLevel, env, pipeline } from '@huggingface/transformers';

const [modelsDir, name, dtype, textsFile, batchArg] = process.argv.slice(2);
if (!modelsDir || !name || !dtype || !textsFile || !batchArg) {
  process.stderr.write('usage: onnx-tjs <models-dir> <model-name> <dtype> <texts.json> <batch>\n');
  process.exit(2);
}
const batch = Number(batchArg);
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
env.logLevel = LogLevel.ERROR;

const t0 = performance.now();
const options: Record<string, unknown> = { dtype };
const raw = JSON.parse(readFileSync(path.join(modelsDir, name, 'config.json'), 'utf8')) as { model_type?: string };
if (raw.model_type === 'custom_bow_bigram') {
  // transformers.js refuses model types it does not know; the BoW graph takes DistilBERT's inputs, so it is
  // loaded under that class (same ONNX file, same tokenizer), as the fidelity test does.
  const config = await AutoConfig.from_pretrained(name);
  Object.assign(config, { model_type: 'distilbert', architectures: ['DistilBertForSequenceClassification'] });
  options.config = config;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const classify = (await pipeline('text-classification', name, options)) as any;
const loadMs = performance.now() - t0;
await classify(texts.slice(0, 2)); // warm-up, outside the clock

let labeled = 0;
const start = performance.now();
for (let i = 0; i < texts.length; i += batch) {
  const out = (await classify(texts.slice(i, i + batch))) as { label: string; score: number }[];
  labeled += out.length;
}
const ms = performance.now() - start;
if (labeled !== texts.length) throw new Error(`transformers.js returned ${labeled} results for ${texts.length} texts`);
process.stdout.write(`${JSON.stringify({ rows: texts.length, ms, loadMs })}\n`);
await classify.dispose?.();
