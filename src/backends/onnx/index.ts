/**
 * The local backend: a Hugging Face text-classification export run with onnxruntime-node on this machine.
 *
 * The runner hands us windows of `batchSize` texts, at most `maxConcurrency` at a time. Inside a window
 * texts are sorted by token length and cut into model batches of at most --batch-size rows and
 * TOKEN_BUDGET padded tokens; batches run one at a time on one session that uses every core, while
 * tokenizer threads tokenize the next window and the main thread reads, checkpoints and pads.
 */
import { modelDigest } from './content-digest.js';
import os from 'node:os';
import { isPair, textOf, type Classifier, type ClassifierContext, type Text, type TextPair } from '../classifier.js';
import { classifyPairWindow } from './pair-classify.js';
import type { JobSettings } from '../../job/settings.js';
import type { BatchLimits } from './batching.js';
import { classifyWindow } from './classify.js';
import { loadOnnxModel, type OnnxModel } from './model.js';
import { serialQueue } from './scheduler.js';
import { startTokenizerPool, type TokenizerPool } from './tokenizer-pool.js';
import { BackendFatalError } from '../../errors.js';
import { isZeroShot } from '../../tasks/index.js';
import { formatHypothesis, zeroShotSpec, type ZeroShotSpec } from '../../tasks/zero-shot-classification.js';
import { nliIndices } from './nli.js';
import { zeroShotWindow } from './zero-shot.js';
import type { Outcome } from '../classifier.js';

/**
 * Padded tokens per model batch: 4 rows of 512, 8 of 256, 32 of 64. On int8 DistilBERT with real review
 * lengths (mean ~270 tokens) bigger batches bought nothing here (32 rows / 4096 tokens ran at 0.88x of
 * 16 / 2048 in interleaved runs); short texts still get batches of up to --batch-size rows, where batching
 * pays most (README of the shared int8 model: +50% at 32 tokens, +10% at 512). Less memory for attention too.
 */
export const TOKEN_BUDGET = 2048;

/**
 * Texts per classify() call: several model batches, so sorting by length has rows to choose from, but
 * small enough that the two windows in flight finish within the runner's drain time on Ctrl-C.
 */
export function windowSize(maxRows: number): number {
  return Math.min(256, Math.max(16, maxRows * 4));
}

/**
 * Zero-shot: texts per classify() call, each making one pair per label; about as many pairs as a
 * text-classification window has texts (×2: pairs of one text share its length, so fewer distinct lengths).
 */
export function zeroShotWindowSize(maxRows: number, labels: number): number {
  return Math.max(8, Math.ceil((2 * windowSize(maxRows)) / labels));
}

/**
 * Text classification: one tokenizer thread per core. On the BoW model (tokenizing ~3/4 of the CPU) that
 * beat one thread and three on 2 cores; on a heavy model they sit idle (a window tokenizes in
 * milliseconds), costing only memory. Zero-shot runs one model pair per text and label, so tokenizing is a
 * small share even on the BoW NLI model, and a second tokenizer thread only takes a core from
 * onnxruntime's (whose run holds the main thread): one thread was faster in 5 of 5 alternating runs there
 * (3,000 reviews × 4 labels, median 1.29 s against 1.51 s).
 */
function tokenizerThreads(zeroShot: boolean): number {
  return zeroShot ? 1 : Math.max(1, os.availableParallelism());
}

export interface OnnxClassifier extends Classifier {
  /** What was loaded: folder, ONNX file, Hub commit. Worth recording with a run's results. */
  readonly model: OnnxModel;
  readonly limits: BatchLimits;
}

export async function createOnnxClassifier(settings: JobSettings, ctx: ClassifierContext): Promise<OnnxClassifier> {
  ctx.events.status?.('loading model');
  const zeroShot = isZeroShot(settings) ? zeroShotSpec(settings) : undefined;
  let model: OnnxModel;
  try {
    model = await loadOnnxModel(settings.model, {
      revision: settings.onnx.revision,
      onnxFile: settings.onnx.onnxFile,
      device: settings.onnx.device,
      fullPrecision: zeroShot !== undefined,
      signal: ctx.signal,
      notice: ctx.events.notice,
      sink: ctx.events.download,
    });
  } finally {
    ctx.events.status?.(undefined);
  }
  const limits: BatchLimits = { maxRows: Math.max(1, settings.batchSize), maxTokens: TOKEN_BUDGET };
  const { files, session, encoder } = model;
  // The tokenizer threads start (and warm up) while this thread hashes the model files.
  const starting = startTokenizerPool({ tokenizer: files.tokenizer, tokenizerConfig: files.tokenizerConfig, options: model.encoderOptions }, tokenizerThreads(zeroShot !== undefined));
  const [digest, started] = await Promise.allSettled([modelDigest(files.onnxPath, files.folder), starting]);
  if (digest.status === 'rejected' || started.status === 'rejected') {
    await Promise.all([model.release(), started.status === 'fulfilled' ? started.value.close() : undefined]);
    throw digest.status === 'rejected' ? digest.reason : (started as PromiseRejectedResult).reason;
  }
  const content = digest.value;
  const pool: TokenizerPool = started.value;
  const origin = files.hub ? `${files.hub.repoId}@${files.hub.commit.slice(0, 12)}` : files.folder;
  ctx.events.notice?.(
    `onnx: ${origin} ${files.onnxFile} on ${session.device} (${session.threads} threads, ${pool.size} tokenizer threads), max ${encoder.maxLength} tokens, ` +
      (limits.maxRows === 1 ? `one ${zeroShot ? 'pair' : 'text'} per run (scores independent of batching)` : `batches of up to ${limits.maxRows} ${zeroShot || settings.textPairColumn ? 'pairs' : 'texts'} / ${limits.maxTokens} tokens`),
  );
  const serial = serialQueue();
  const topK = settings.allScores || settings.multiLabel ? Infinity : (settings.topK ?? 1);
  const opts = { limits, functionToApply: settings.functionToApply, topK, serial, tokenize: pool.encode, signal: ctx.signal };
  let runWindow = (texts: string[]): Promise<Outcome[]> => classifyWindow(model, texts, opts);
  let texts = windowSize(limits.maxRows);
  if (zeroShot) {
    try {
      runWindow = zeroShotRunner(model, zeroShot, { limits, serial, tokenize: pool.encodeSegments, signal: ctx.signal }, ctx.events.notice);
    } catch (err) {
      await Promise.all([model.release(), pool.close()]);
      throw err;
    }
    texts = zeroShotWindowSize(limits.maxRows, zeroShot.candidateLabels.length);
  }
  const runPairs = async (pairs: readonly TextPair[]): Promise<Outcome[]> => {
    const layout = model.encoder.pair;
    if (!layout) throw new BackendFatalError(`${files.folder}: its tokenizer does not encode text pairs (--text-pair-column)`, 'E_MODEL_FILES');
    return classifyPairWindow(model, pairs.map((p) => ({ text: textOf(p.text), pair: p.pair })), { ...opts, layout, tokenize: pool.encodeSegments });
  };
  // Windows still tokenizing have not queued their batches yet: close() waits for them too.
  const inflight = new Set<Promise<unknown>>();
  let closed: Promise<void> | undefined;
  return {
    model,
    limits,
    // The content digest notices a file replaced in place, which name and commit do not.
    identity: { onnxFile: files.onnxFile, ...(files.hub ? { commit: files.hub.commit } : {}), content },
    batchSize: texts,
    // Two windows: one computing, the next being tokenized. More would only queue behind the session (three
    // measured no faster with the tokenizer threads).
    maxConcurrency: 2,
    classify(inputs) {
      const run = inputs.length > 0 && isPair(inputs[0]!) ? runPairs(inputs as readonly TextPair[]) : runWindow((inputs as readonly Text[]).map(textOf));
      const done = () => inflight.delete(run);
      inflight.add(run);
      run.then(done, done);
      return run;
    },
    close() {
      // Let a run in progress finish before freeing the native session under it.
      closed ??= Promise.allSettled(inflight)
        .then(() => serial(async () => undefined))
        .then(() => Promise.all([model.release(), pool.close()]))
        .then(() => undefined);
      return closed;
    },
  };
}

/**
 * The zero-shot window for this model and these labels: each hypothesis tokenized once, the entailment and
 * contradiction logits located in the config (Python's rule, nli.ts).
 */
function zeroShotRunner(
  model: OnnxModel,
  spec: ZeroShotSpec,
  opts: Pick<Parameters<typeof zeroShotWindow>[2], 'limits' | 'serial' | 'tokenize' | 'signal'>,
  notice: ((message: string) => void) | undefined,
): (texts: string[]) => Promise<Outcome[]> {
  const layout = model.encoder.pair;
  if (!layout) throw new BackendFatalError(`${model.files.folder}: its tokenizer does not encode text pairs, which zero-shot classification needs (an NLI model's tokenizer does)`, 'E_MODEL_FILES');
  const nli = nliIndices(model.config.label2id);
  const label = (i: number) => model.config.id2label.at(i) ?? String(i);
  notice?.(
    nli.guessed
      ? `zero-shot: no label in config.json label2id starts with "entail"; using the last logit as entailment, as transformers does. Check that this is an NLI model.`
      : `zero-shot: ${spec.candidateLabels.length} labels, entailment = ${label(nli.entailment)}, contradiction = ${label(nli.contradiction)}${spec.multiLabel ? ', each label on its own' : ''}`,
  );
  const hypotheses = spec.candidateLabels.map((l) => model.encoder.encodeSegment(formatHypothesis(spec.hypothesisTemplate, l)).ids);
  const options = { ...opts, labels: spec.candidateLabels, hypotheses, multiLabel: spec.multiLabel, nli, layout };
  return (texts) => zeroShotWindow(model, texts, options);
}
