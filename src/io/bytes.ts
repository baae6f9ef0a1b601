/**
 * The bytes a CSV or JSONL reader parses: the file's own when it is UTF-8, else the file transcoded to
 * UTF-8 as it is read. Offsets are then in the transcoded bytes (the cursor a checkpoint keeps is the
 * reader's own), so a resumed read transcodes the finished part again and skips it: 0.7–1.9 s per
 * 271 MB of windows-1252 and ~1 s per 543 MB of UTF-16 here (2 busy cores), against the hours that
 * labeling it took. Reading rows costs ~1.1 s per 271 MB of windows-1252 against ~0.6 s for UTF-8.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import type { TextDecoder } from 'node:util';
import { bomEncoding, textEncoding, UTF8, type TextEncoding } from '../core/encoding.js';
import { InputError } from '../errors.js';

export interface InputBytes {
  stream: Readable;
  /** How far into the file (its own bytes) `offset` bytes of the stream reach, for progress. */
  fileOffset(offset: number): number;
}

/** Transcodes to UTF-8, dropping the first `skip` bytes of what it produces. */
class ToUtf8 extends Transform {
  private readonly decoder: TextDecoder;
  /** File bytes taken in, UTF-8 bytes given out (skipped ones included). */
  taken = 0;
  given = 0;
  constructor(
    enc: TextEncoding,
    private skip: number,
  ) {
    super();
    this.decoder = enc.decoder();
  }
  private give(text: string): void {
    let out = Buffer.from(text, 'utf8');
    this.given += out.length;
    if (this.skip > 0) {
      const drop = Math.min(this.skip, out.length);
      this.skip -= drop;
      out = out.subarray(drop);
    }
    if (out.length) this.push(out);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.taken += chunk.length;
    this.give(this.decoder.decode(chunk, { stream: true }));
    done();
  }
  override _flush(done: (err?: Error | null) => void): void {
    this.give(this.decoder.decode());
    done();
  }
}

/** The input's bytes from `start` (an offset in what the reader parses), transcoded to UTF-8 if need be. */
export function inputBytes(path: string, start: number, enc: TextEncoding, highWaterMark: number): InputBytes {
  if (enc.utf8) return { stream: createReadStream(path, { start, highWaterMark }), fileOffset: (offset) => offset };
  const file = createReadStream(path, { highWaterMark });
  const utf8 = new ToUtf8(enc, start);
  file.on('error', (err) => utf8.destroy(err));
  utf8.on('close', () => file.destroy());
  file.pipe(utf8);
  // Within a chunk, progress is proportional: a file byte is the same share of its UTF-8 everywhere.
  return { stream: utf8, fileOffset: (offset) => (utf8.given > 0 ? Math.round((offset * utf8.taken) / utf8.given) : 0) };
}

/**
 * The encoding a file is read in: the one asked for, or with none asked UTF-8 unless the file starts with
 * a UTF-16 byte order mark (Excel's "Unicode text"). A byte order mark that contradicts the encoding asked
 * for is refused: the file is not in it.
 */
export async function inputEncoding(path: string, asked: string | undefined): Promise<TextEncoding> {
  const head = Buffer.alloc(3);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 3, 0);
  } finally {
    await fh.close();
  }
  const marked = bomEncoding(head);
  if (asked === undefined) return marked === 'utf-16le' || marked === 'utf-16be' ? textEncoding(marked) : UTF8;
  const enc = textEncoding(asked);
  if (marked !== undefined && marked !== enc.name) {
    throw new InputError(`${path} starts with a ${marked.toUpperCase()} byte order mark, so it is not ${enc.name}: drop --encoding (the mark is read) or pass --encoding ${marked}.`);
  }
  return enc;
}
