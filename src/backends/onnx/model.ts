/**
 * A loaded model: files, config, tokenizer and session, and the one operation everything else builds on
 * (encoded rows → logits). The classifier and the benchmarks both start here.
 */
import type ort from 'onnxruntime-node';
import { readClassifierConfig, type ClassifierConfig } from './config.js';
import { locateModel, readModelFiles, type LocateOptions, type ModelFiles } from './model-folder.js';
import { loadSession, readLogits, type Device, type LoadedSession } from './session.js';
import { padBatch, type GraphInput } from './tensors.js';
import { createTextEncoder, type Encoded, type EncoderOptions, type TextEncoder } from './tokenize.js';

export interface LoadModelOptions extends LocateOptions {
  device?: Device;
  /** onnxruntime intra-op threads; default os.availableParallelism(). */
  threads?: number;
}

export interface Logits {
  /** Row-major `[rows, labels]`. */
  data: ArrayLike<number>;
  labels: number;
}

export interface OnnxModel {
  files: ModelFiles;
  config: ClassifierConfig;
  encoder: TextEncoder;
  /** What `encoder` was built with, so tokenizer threads can build the very same one. */
  encoderOptions: EncoderOptions;
  inputs: readonly GraphInput[];
  session: LoadedSession;
  /** Pad `rows` into one batch and run it. Call one at a time: a session uses every core for one run. */
  runBatch(rows: readonly Encoded[]): Promise<Logits>;
  /** The padded tensors for `rows` (built ahead of time so the next batch is ready when the session frees up). */
  feeds(rows: readonly Encoded[]): Record<string, ort.Tensor>;
  /** Run prepared feeds of `rows` rows. */
  runFeeds(feeds: Record<string, ort.Tensor>, rows: number): Promise<Logits>;
  release(): Promise<void>;
}

/** `model` is a folder or a Hub id (default: distilbert-sst2's ONNX export). */
export async function loadOnnxModel(model: string | undefined, options: LoadModelOptions = {}): Promise<OnnxModel> {
  const device = options.device ?? 'cpu';
  const files = await readModelFiles(await locateModel(model, { ...options, device }));
  const config = readClassifierConfig(files.config, files.tokenizerConfig);
  const session = await loadSession(files.onnxPath, device, options.threads);
  try {
    const encoderOptions: EncoderOptions = {
      maxLength: config.maxLength,
      typeIds: session.inputs.some((i) => i.name === 'token_type_ids'),
      padTokenId: typeof (files.config as { pad_token_id?: unknown }).pad_token_id === 'number' ? (files.config as { pad_token_id: number }).pad_token_id : undefined,
    };
    const encoder = createTextEncoder(files.tokenizer, files.tokenizerConfig, encoderOptions);
    const feeds = (rows: readonly Encoded[]) => padBatch(rows, session.inputs, encoder);
    const runFeeds = async (f: Record<string, ort.Tensor>, rows: number) => {
      const out = await session.session.run(f);
      return readLogits(out[session.outputName]!, rows);
    };
    return {
      files,
      config,
      encoder,
      encoderOptions,
      inputs: session.inputs,
      session,
      feeds,
      runFeeds,
      runBatch: (rows) => runFeeds(feeds(rows), rows.length),
      release: () => session.session.release(),
    };
  } catch (err) {
    await session.session.release();
    throw err;
  }
}
