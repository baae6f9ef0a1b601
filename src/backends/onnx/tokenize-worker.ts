/**
 * A tokenizer thread: builds the same encoder as the main thread from the same files and options, then
 * answers each chunk of texts with one message whose buffers are transferred back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createTextEncoder, type EncoderOptions } from './tokenize.js';
import { chunkTransfer, errorLine, packChunk } from './tokenize-wire.js';

export interface TokenizeWorkerData {
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
  options: EncoderOptions;
}

export interface TokenizeRequest {
  id: number;
  texts: string[];
  /** Tokens without special tokens, one side of a pair each (TextEncoder.encodeSegment). */
  segments?: boolean;
}

const { tokenizer, tokenizerConfig, options } = workerData as TokenizeWorkerData;
const encoder = createTextEncoder(tokenizer, tokenizerConfig, options);

parentPort!.on('message', ({ id, texts, segments }: TokenizeRequest) => {
  const results = texts.map((text) => {
    try {
      return segments ? encoder.encodeSegment(text) : encoder.encode(text);
    } catch (err) {
      return { error: errorLine(err) };
    }
  });
  const chunk = packChunk(results, options.typeIds && !segments);
  parentPort!.postMessage({ id, chunk }, chunkTransfer(chunk));
});
parentPort!.postMessage({ ready: true });
// After "ready", so that starting the pool does not wait for it; a window that arrives meanwhile waits
// only for the rest of it.
setImmediate(() => encoder.warmUp());
