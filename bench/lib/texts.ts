/**
 * The generator's side file of texts (each a 32-bit little-endian length, then its UTF-8 bytes), loaded
 * whole before a loop's clock starts, for the loops that stand in for parts of batchlabel.
 */
import { readFileSync } from 'node:fs';

export interface Texts {
  /** Text i's UTF-8 bytes: a view of the loaded file, no copy. */
  bytes(i: number): Buffer;
  /** Text i decoded. */
  string(i: number): string;
}

export function loadTexts(file: string, rows: number): Texts {
  const data = readFileSync(file);
  const starts = new Float64Array(rows + 1);
  let pos = 0;
  for (let i = 0; i < rows; i++) {
    if (pos >= data.length) throw new Error(`${file} holds only ${i} texts, ${rows} asked`);
    starts[i] = pos;
    pos += 4 + data.readUInt32LE(pos);
  }
  starts[rows] = pos;
  return {
    bytes: (i) => data.subarray(starts[i]! + 4, starts[i + 1]!),
    string: (i) => data.toString('utf8', starts[i]! + 4, starts[i + 1]!),
  };
}

/** The loops' shared command line: <url> <texts-file> <rows> <concurrency> <batch>. */
export function loopArgs(name: string): { url: string; textsFile: string; rows: number; concurrency: number; batch: number } {
  const [url, textsFile, rowsArg, concArg, batchArg] = process.argv.slice(2);
  if (!url || !textsFile || !rowsArg || !concArg || !batchArg) {
    process.stderr.write(`usage: ${name} <url> <texts-file> <rows> <concurrency> <batch>\n`);
    process.exit(2);
  }
  return { url, textsFile, rows: Number(rowsArg), concurrency: Number(concArg), batch: Number(batchArg) };
}
