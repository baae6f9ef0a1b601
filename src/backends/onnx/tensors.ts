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

function fill(type: GraphInput['type'], size: number, pick: (row: number, col: number) => number, rows: number, cols: number): ort.Tensor {
  if (type === 'int32') {
    const data = new Int32Array(size);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = pick(r, c);
    return new ort.Tensor('int32', data, [rows, cols]);
  }
  const data = new BigInt64Array(size);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = BigInt(pick(r, c));
  return new ort.Tensor('int64', data, [rows, cols]);
}

export function padBatch(rows: readonly Encoded[], inputs: readonly GraphInput[], pad: PadSpec): Record<string, ort.Tensor> {
  const n = rows.length;
  let width = 0;
  for (const r of rows) width = Math.max(width, r.ids.length);
  // Position of token c of row r inside the padded matrix: left padding shifts each row right.
  const shift = rows.map((r) => (pad.padSide === 'left' ? width - r.ids.length : 0));
  const at = (r: number, c: number) => c - shift[r]!;
  const inRow = (r: number, c: number) => at(r, c) >= 0 && at(r, c) < rows[r]!.ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const pick =
      input.name === 'input_ids'
        ? (r: number, c: number) => (inRow(r, c) ? rows[r]!.ids[at(r, c)]! : pad.padId)
        : input.name === 'attention_mask'
          ? (r: number, c: number) => (inRow(r, c) ? 1 : 0)
          : (r: number, c: number) => (inRow(r, c) ? (rows[r]!.typeIds?.[at(r, c)] ?? 0) : 0);
    feeds[input.name] = fill(input.type, n * width, pick, n, width);
  }
  return feeds;
}
