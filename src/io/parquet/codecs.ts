/**
 * Page codecs for Parquet, the fastest at hand on Node: zstd through libzstd itself (zstd-napi, native),
 * gzip and brotli through Node's zlib, the rest (snappy in WebAssembly, lz4) from hyparquet-compressors.
 * zstd is what the Hub's large datasets and, by default, this export use. Against the WebAssembly builds
 * (zstddec, hysnappy) on 80 MiB of reviews, one thread: decompression 750-1,150 MiB/s against 300-490;
 * compression at level 1 in 56 KiB pages 270-285 MiB/s at 0.47 of the size, where snappy ran at 180-200
 * MiB/s at 0.69.
 */
import zlib from 'node:zlib';
import type { CompressionCodec, Compressors } from 'hyparquet';
import { compressors as jsCodecs } from 'hyparquet-compressors';
import type { Compressors as OutputCompressors } from 'hyparquet-writer/src/types.js';
import { snappyCompressor } from 'hysnappy';
import zstdBinding from 'zstd-napi/binding.js';
import type { ParquetCompression } from '../../job/options.js';

// The native binding is CommonJS, its names not seen by ESM's named imports.
const { CCtx, DCtx, compressBound } = zstdBinding;

let ready: Compressors | undefined;

/** Decompressors for every codec a Parquet file may use (one zstd context for the thread). */
export function parquetDecompressors(): Compressors {
  if (ready) return ready;
  const zstd = new DCtx();
  ready = {
    ...jsCodecs,
    ZSTD: (input, outputLength) => {
      // An ArrayBuffer of its own, whole: the decompression thread hands it to the reader without a copy.
      const page = new Uint8Array(new ArrayBuffer(outputLength));
      const n = zstd.decompress(page, input);
      if (n !== outputLength) throw new Error(`a zstd page holds ${n} bytes, its header says ${outputLength}`);
      return page;
    },
    GZIP: (input) => zlib.gunzipSync(input),
    BROTLI: (input) => zlib.brotliDecompressSync(input),
  };
  return ready;
}

/**
 * The export's page codecs by the names users give them. zstd is the default, as polars writes by default;
 * every current Parquet reader takes it. snappy (hysnappy, WebAssembly) and gzip (zlib) are for readers
 * that do not; uncompressed is for a reader, or a disk, that would rather not spend the CPU.
 */
export const OUTPUT_CODECS: Record<ParquetCompression, CompressionCodec> = { zstd: 'ZSTD', snappy: 'SNAPPY', gzip: 'GZIP', uncompressed: 'UNCOMPRESSED' };
/** zstd's level 1, as Arrow (pyarrow) writes zstd by default: the fastest, here faster than snappy too. */
const OUTPUT_ZSTD_LEVEL = 1;

/**
 * The export's compressors, one context and one output buffer for the thread: the writer copies a
 * compressed page into the file's buffer before it compresses the next, so each page's result is a view of
 * the same buffer.
 */
export function outputCompressors(): OutputCompressors {
  const zstd = new CCtx();
  let out = new Uint8Array(0);
  let snappy: ((input: Uint8Array) => Uint8Array) | undefined;
  return {
    ZSTD: (input) => {
      const bound = compressBound(input.byteLength);
      if (out.byteLength < bound) out = new Uint8Array(bound);
      return out.subarray(0, zstd.compress(out, input, OUTPUT_ZSTD_LEVEL));
    },
    // Built on first use: hysnappy's snappyCompress() would compile its WebAssembly on every page.
    SNAPPY: (input) => (snappy ??= snappyCompressor())(input),
    // zlib's default level 6, as Arrow writes gzip by default.
    GZIP: (input) => zlib.gzipSync(input),
  };
}
