/**
 * Encoded texts → the feeds one session.run takes: padded to the longest row of the batch (not to the
 * model's maximum, which would multiply the work for short reviews), one tensor per input the graph
 * declares and no other.
 */
import ort from 'onnxruntime-node';
import type { Encoded } from './tokenize.js';

export type InputName = 'input_ids' | 'attention_mask' | 'token_type_ids';

export interface GraphInput {
  name: InputName;
  /** Most exports take int64; a few take int32. */
  type: 'int64' | 'int32';
}

export interface PadSpec {
  padId: number;
  padSide: 'right' | 'left';
}

/**
 * Tensor cells are cut from shared zeroed chunks instead of one ArrayBuffer per tensor: an ArrayBuffer
 * costs a native allocation and external-memory bookkeeping that V8 answers with GCs, and a zero-shot run
 * makes three per model batch (~5,300 for 3,000 reviews × 4 labels, 24 ms of the main thread's ~600 in a
 * --cpu-prof). A chunk lives as long as any tensor cut from it; tensors live one window, so a few chunks
 * at most are alive. Cells are handed out once, never reused, so they are zero as the padding expects.
 */
const CHUNK_BYTES = 1 << 20;
let chunk = new ArrayBuffer(0);
let used = 0;

function takeCells(bytes: number): { buffer: ArrayBuffer; offset: number } {
  if (bytes > CHUNK_BYTES / 4) return { buffer: new ArrayBuffer(bytes), offset: 0 };
  if (used + bytes > chunk.byteLength) {
    chunk = new ArrayBuffer(CHUNK_BYTES);
    used = 0;
  }
  const offset = used;
  used += (bytes + 7) & ~7; // keep every view 8-byte aligned for BigInt64Array
  return { buffer: chunk, offset };
}

/**
 * One `[rows, width]` input being filled in place. int64 values are written as (low, high) int32 words of
 * the tensor's own buffer: a BigInt per value plus a closure per cell made padding cost ~70 ns per token,
 * and an Int32Array converted afterwards still cost a second pass over every padded cell (~100 ms of the
 * main thread's ~1.2 s on 3,000 reviews × 4 zero-shot pairs, where the session.run that shares that thread
 * took ~750). Runs of one value (padding, mask, segment ids) are native fills. onnxruntime-node only ships
 * little-endian builds (x64, arm64), so the low word comes first.
 */
export class InputBuffer {
  readonly data: BigInt64Array | Int32Array;
  private readonly words: Int32Array;
  private readonly stride: 1 | 2;

  constructor(
    readonly type: GraphInput['type'],
    size: number,
  ) {
    const at = takeCells(size * (type === 'int64' ? 8 : 4));
    if (type === 'int64') {
      this.data = new BigInt64Array(at.buffer, at.offset, size);
      this.words = new Int32Array(at.buffer, at.offset, 2 * size);
      this.stride = 2;
    } else {
      this.data = this.words = new Int32Array(at.buffer, at.offset, size);
      this.stride = 1;
    }
  }

  /** Cells [from, to) set to `value`. */
  fill(value: number, from: number, to: number): void {
    if (to <= from) return;
    if (this.data instanceof BigInt64Array) this.data.fill(BigInt(value), from, to);
    else this.data.fill(value, from, to);
  }

  /** `count` values of `src` from `src[start]` into cells from `at`. */
  write(at: number, src: ArrayLike<number>, start: number, count: number): void {
    const w = this.words;
    if (this.stride === 1) {
      for (let k = 0; k < count; k++) w[at + k] = src[start + k]!;
      return;
    }
    for (let k = 0, j = 2 * at; k < count; k++, j += 2) {
      const v = src[start + k]!;
      w[j] = v;
      w[j + 1] = v >> 31;
    }
  }

  tensor(dims: number[]): ort.Tensor {
    return this.data instanceof BigInt64Array ? new ort.Tensor('int64', this.data, dims) : new ort.Tensor('int32', this.data, dims);
  }
}

export function padBatch(rows: readonly Encoded[], inputs: readonly GraphInput[], pad: PadSpec): Record<string, ort.Tensor> {
  const n = rows.length;
  let width = 0;
  for (const r of rows) width = Math.max(width, r.ids.length);
  // Where row i starts inside the padded matrix: left padding shifts each row right.
  const start = rows.map((r, i) => i * width + (pad.padSide === 'left' ? width - r.ids.length : 0));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const values = new InputBuffer(input.type, n * width);
    if (input.name === 'input_ids') {
      if (pad.padId !== 0) values.fill(pad.padId, 0, n * width);
      rows.forEach((r, i) => values.write(start[i]!, r.ids, 0, r.ids.length));
    } else if (input.name === 'attention_mask') {
      rows.forEach((r, i) => values.fill(1, start[i]!, start[i]! + r.ids.length));
    } else {
      rows.forEach((r, i) => {
        if (r.typeIds) values.write(start[i]!, r.typeIds, 0, r.typeIds.length);
      });
    }
    feeds[input.name] = values.tensor([n, width]);
  }
  return feeds;
}
