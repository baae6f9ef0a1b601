/**
 * The shape of a tokenized chunk on its way from a tokenizer worker to the main thread: every text's ids
 * in one flat Int32Array (transferred, not copied), so a chunk costs one message and a few buffers
 * however many texts it holds, instead of one structured-cloned array per text.
 */
import type { Encoded } from './tokenize.js';

export interface EncodedChunk {
  /** Tokens per text; -1 where the tokenizer failed on that text. */
  lengths: Int32Array;
  ids: Int32Array;
  /** Segment ids aligned with `ids`, only when the model takes token_type_ids. */
  typeIds: Int32Array | undefined;
  truncated: Uint8Array;
  /** [index, first line of the message] for each text the tokenizer failed on. */
  errors: [number, string][];
}

/** A text the tokenizer failed on, with the reason as one line. */
export interface EncodeFailure {
  error: string;
}

export function errorLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 500);
}

export function packChunk(results: readonly (Encoded | EncodeFailure)[], withTypes: boolean): EncodedChunk {
  const lengths = new Int32Array(results.length);
  const truncated = new Uint8Array(results.length);
  const errors: [number, string][] = [];
  let total = 0;
  results.forEach((r, i) => {
    if ('error' in r) {
      lengths[i] = -1;
      errors.push([i, r.error]);
    } else {
      lengths[i] = r.ids.length;
      truncated[i] = r.truncated ? 1 : 0;
      total += r.ids.length;
    }
  });
  const ids = new Int32Array(total);
  const typeIds = withTypes ? new Int32Array(total) : undefined;
  let at = 0;
  for (const r of results) {
    if ('error' in r) continue;
    ids.set(r.ids, at);
    if (typeIds && r.typeIds) typeIds.set(r.typeIds, at);
    at += r.ids.length;
  }
  return { lengths, ids, typeIds, truncated, errors };
}

/** What a worker hands to postMessage's transfer list: the buffers change hands instead of being copied. */
export function chunkTransfer(chunk: EncodedChunk): ArrayBuffer[] {
  const buffers = [chunk.lengths.buffer, chunk.ids.buffer, chunk.truncated.buffer];
  if (chunk.typeIds) buffers.push(chunk.typeIds.buffer);
  return buffers as ArrayBuffer[];
}

/** Back to one result per text; ids are views into the chunk's buffer, not copies. */
export function unpackChunk(chunk: EncodedChunk): (Encoded | EncodeFailure)[] {
  const errors = new Map(chunk.errors);
  const out: (Encoded | EncodeFailure)[] = [];
  let at = 0;
  for (let i = 0; i < chunk.lengths.length; i++) {
    const n = chunk.lengths[i]!;
    if (n < 0) {
      out.push({ error: errors.get(i)! });
      continue;
    }
    out.push({ ids: chunk.ids.subarray(at, at + n), typeIds: chunk.typeIds?.subarray(at, at + n), truncated: chunk.truncated[i] === 1 });
    at += n;
  }
  return out;
}
