import { open, type FileHandle } from 'node:fs/promises';
import { createHash, hash, type Hash } from 'node:crypto';
import { InputError } from '../errors.js';
import { isHubUri, resolveDatasetInput, type DatasetOptions } from '../hub/datasets.js';

export interface InputFingerprint {
  size: number;
  /** sha256 over the first and last 64 KiB and 16 evenly spaced 4 KiB blocks. */
  sample: string;
}

const EDGE = 64 * 1024;
const BLOCK = 4096;
const BLOCKS = 16;

/**
 * Cheap enough to compute on every start of a 10-GB file (it reads under 200 KiB), and it catches
 * the changes that matter in practice: a different file, a re-export, an append, an edited header.
 */
export async function fingerprintInput(path: string, hub: Pick<DatasetOptions, 'split' | 'config' | 'sink'> = {}): Promise<InputFingerprint> {
  if (isHubUri(path)) return fingerprintFiles((await resolveDatasetInput(path, { split: hub.split, config: hub.config, sink: hub.sink })).files);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InputError(`${path}: cannot read the input (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path given with --input.`);
  }
  try {
    const { size } = await fh.stat();
    const hash = createHash('sha256');
    const read = async (position: number, length: number) => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      if (buf.length) await fh.read(buf, 0, buf.length, position);
      hash.update(buf);
    };
    await read(0, EDGE);
    if (size > 2 * EDGE) {
      for (let i = 1; i <= BLOCKS; i++) await read(Math.floor((size * i) / (BLOCKS + 1)), BLOCK);
    }
    await read(Math.max(EDGE, size - EDGE), EDGE);
    await hashParquetFooter(fh, size, hash);
    return { size, sample: hash.digest('hex') };
  } finally {
    await fh.close();
  }
}

/** Several files read as one input (a Hub split's shards): their sizes added, their samples hashed in order. */
async function fingerprintFiles(files: string[]): Promise<InputFingerprint> {
  const parts = [];
  for (const f of files) parts.push(await fingerprintInput(f));
  if (parts.length === 1) return parts[0]!;
  return { size: parts.reduce((n, p) => n + p.size, 0), sample: createHash('sha256').update(parts.map((p) => p.sample).join(',')).digest('hex') };
}

/**
 * A Parquet file's whole footer (schema, row groups, page offsets and statistics), when it is longer than
 * the last 64 KiB already hashed: the blocks sampled above fall in its data pages, the footer says what
 * they are.
 */
async function hashParquetFooter(fh: FileHandle, size: number, hash: Hash): Promise<void> {
  if (size < 12) return;
  const tail = Buffer.alloc(8);
  await fh.read(tail, 0, 8, size - 8);
  if (tail.toString('latin1', 4) !== 'PAR1') return;
  const length = tail.readUInt32LE(0);
  if (length + 8 <= EDGE || length + 8 > size) return;
  const footer = Buffer.alloc(length);
  await fh.read(footer, 0, length, size - 8 - length);
  hash.update(footer);
}

/**
 * A text's key: 128 bits of SHA-256 as a 16-character latin1 string (one char per byte). Not md5, whose
 * collisions anyone can craft (two texts would share a label), and faster than md5 here (SHA extensions).
 * Given the text's UTF-8 bytes it is the same hash (a string is hashed as UTF-8), without encoding the
 * string first. A string, not a Buffer: it is the runner's map key as it is, and a string digest costs
 * ~1.1 µs a review against ~1.8 µs for a Buffer, its view and the key string made from them.
 */
export function hashText(text: string | Buffer): TextKey {
  return hash('sha256', text, 'binary').slice(0, TEXT_KEY_LENGTH); // 'binary' is latin1
}

/**
 * A text pair's key: both texts hashed as a whole, the first length-prefixed so that no two pairs (nor a
 * pair and a single text) share the bytes hashed. Same form as hashText.
 */
export function hashPair(text: string | Buffer, pair: string): TextKey {
  const first = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const length = Buffer.allocUnsafe(8);
  length.writeBigUInt64BE(BigInt(first.length));
  return createHash('sha256').update(PAIR_TAG).update(length).update(first).update(pair, 'utf8').digest('binary').slice(0, TEXT_KEY_LENGTH);
}

const PAIR_TAG = 'batchlabel text pair\u0000';

/** See hashText. */
export type TextKey = string;
export const TEXT_KEY_LENGTH = 16;
