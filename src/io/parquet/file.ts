/**
 * A Parquet file opened for reading: its footer, and byte ranges read on demand through one file handle,
 * so that only the row group being decoded is ever in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { InputError } from '../../errors.js';

export interface ParquetFile {
  path: string;
  size: number;
  metadata: FileMetaData;
  /** Ranges of the file, as hyparquet reads them. */
  buffer: AsyncBuffer;
  /** The raw footer (Thrift metadata, its length and the PAR1 magic): what the fingerprint hashes. */
  footer(): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openParquetFile(path: string): Promise<ParquetFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InputError(`${path}: cannot read the input (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path given with --input.`);
  }
  try {
    const { size } = await fh.stat();
    const read = async (start: number, end: number): Promise<Buffer> => {
      const buf = Buffer.allocUnsafe(Math.max(0, end - start));
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0) throw new InputError(`${path}: the file ended early (truncated while being read?).`);
        done += bytesRead;
      }
      return buf;
    };
    const buffer: AsyncBuffer = {
      byteLength: size,
      async slice(start, end) {
        const b = await read(start, end ?? size);
        // A Buffer from allocUnsafe may sit in Node's shared pool: hand hyparquet its own ArrayBuffer.
        return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : new Uint8Array(b).buffer;
      },
    };
    if (size < 12) throw new InputError(`${path}: not a Parquet file (${size} bytes).`);
    const magic = await read(size - 4, size);
    if (magic.toString('latin1') !== 'PAR1') throw new InputError(`${path}: not a Parquet file (no PAR1 footer). Pass --format csv or jsonl if it is one of those.`);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (err) {
      throw new InputError(`${path}: cannot read the Parquet footer: ${(err as Error).message}`);
    }
    return {
      path,
      size,
      metadata,
      buffer,
      async footer() {
        const len = (await read(size - 8, size - 4)).readUInt32LE(0);
        return read(Math.max(0, size - 8 - len), size);
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
