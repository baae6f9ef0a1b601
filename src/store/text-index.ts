import type Database from 'better-sqlite3';
import { compareKeys, HashBuffer, word32 } from './hash-buffer.js';

/**
 * Which done row first got a given text (16-byte text hash → ordinal, see hashText), so identical texts are classified once per job.
 *
 * A SQLite index on the hash is the obvious design and the slow one: hash keys are random, so every
 * 1,000-row commit dirtied ~1,000 index pages and the checkpoint wrote ~45,000 rows/s instead of ~400,000.
 * This is a small log-structured index instead, whose writes are all sequential:
 * - new hashes go to an in-memory table, and in the same transaction as their rows to `text_recent`, one
 *   blob per commit, so a killed process loses none of them;
 * - every `bufferLimit` hashes the table is written out sorted, as a "run": blobs of CHUNK entries in
 *   `text_chunks`, plus each chunk's first hash ("fences", kept in memory) to find the one chunk a lookup
 *   reads. Two runs of the same level merge, by one sequential pass, into a run of the next level (a
 *   binary counter), so each hash is rewritten about log2(rows / bufferLimit) times and a lookup reads at
 *   most that many chunks;
 * - a Bloom filter over every hash answers "never seen" without touching SQLite. It is saved at close and
 *   rebuilt from the runs when the last process did not close (after a crash).
 */
export interface TextIndexOptions {
  /** Hashes kept in memory before they are written out as a sorted run. */
  bufferLimit: number;
}

export const DEFAULT_TEXT_INDEX: TextIndexOptions = { bufferLimit: 262_144 };

/** An entry: the 16-byte text hash, then the ordinal as a float64. */
const HASH = 16;
const ENTRY = 24;
/** Entries per chunk: a chunk (3,840 bytes) fits in one 4 KiB page. */
const CHUNK = 160;
/** Chunk ids are run * RUN_SPAN + position, so a run's chunks are one contiguous rowid range. */
const RUN_SPAN = 2 ** 24;

interface Run {
  id: number;
  level: number;
  chunks: number;
}

interface Saved {
  runs: Run[];
  nextId: number;
  /** The runs the saved Bloom filter covers; stale when they differ from `runs`. */
  bloomRuns: number[] | null;
}

export function createTextIndexSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS text_recent (seq INTEGER PRIMARY KEY, entries BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS text_chunks (id INTEGER PRIMARY KEY, entries BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS text_fences (run INTEGER PRIMARY KEY, firsts BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS text_bloom (id INTEGER PRIMARY KEY, bits BLOB NOT NULL);
  `);
}

export class TextIndex {
  /** The hashes not yet in a run. */
  private readonly buffer: HashBuffer;
  /** This transaction's new entries (`pendingCount` of them), written as one `text_recent` blob by endCommit(). */
  private pending = Buffer.allocUnsafe(1024 * ENTRY);
  private pendingCount = 0;
  /** The chunk being written by a spill or merge (one at a time). */
  private readonly scratch = Buffer.allocUnsafe(CHUNK * ENTRY);
  private readonly bloom = new Bloom();
  private saved: Saved;
  /** Newest run first, with its chunks' first hashes. */
  private fences: { run: Run; firsts: Buffer }[] = [];
  private readonly stmt: Record<'appendRecent' | 'setMeta' | 'chunk' | 'chunkHex' | 'putChunk' | 'putFences', Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: TextIndexOptions = DEFAULT_TEXT_INDEX,
  ) {
    this.buffer = new HashBuffer(opts.bufferLimit);
    this.stmt = {
      appendRecent: db.prepare('INSERT INTO text_recent (entries) VALUES (?)'),
      setMeta: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('text_index', ?)"),
      chunk: db.prepare('SELECT entries FROM text_chunks WHERE id = ?').pluck(),
      chunkHex: db.prepare('SELECT hex(entries) FROM text_chunks WHERE id = ?').pluck(),
      putChunk: db.prepare('INSERT INTO text_chunks (id, entries) VALUES (?, ?)'),
      putFences: db.prepare('INSERT INTO text_fences (run, firsts) VALUES (?, ?)'),
    };
    const v = db.prepare("SELECT value FROM meta WHERE key = 'text_index'").pluck().get() as string | undefined;
    this.saved = v ? (JSON.parse(v) as Saved) : { runs: [], nextId: 1, bloomRuns: null };
    this.loadFences();
    this.loadBloom();
    for (const blob of db.prepare('SELECT entries FROM text_recent ORDER BY seq').pluck().iterate() as Iterable<Buffer>) {
      forEntries(blob, (hash, ordinal) => {
        this.buffer.set(hash, ordinal);
        this.bloom.add(hash);
      });
    }
  }

  /** Call first in a committing transaction: entries of one that threw before endCommit() are dropped. */
  beginCommit(): void {
    this.pendingCount = 0;
  }

  /** Call inside the transaction that commits the row, then endCommit() before it ends. */
  add(hash: Buffer, ordinal: number): void {
    const before = this.buffer.size;
    this.buffer.set(hash, ordinal);
    if (this.buffer.size === before) return;
    this.bloom.add(hash);
    if ((this.pendingCount + 1) * ENTRY > this.pending.length) {
      const grown = Buffer.allocUnsafe(this.pending.length * 2);
      this.pending.copy(grown, 0, 0, this.pendingCount * ENTRY);
      this.pending = grown;
    }
    const at = this.pendingCount++ * ENTRY;
    hash.copy(this.pending, at, 0, HASH);
    this.pending.writeDoubleLE(ordinal, at + HASH);
    // Spill inside the committing transaction (a savepoint), the moment the table is full: it never has
    // to grow, and the run, the rows and the emptied text_recent commit together.
    if (this.buffer.size >= this.opts.bufferLimit) this.spill();
  }

  endCommit(): void {
    if (!this.pendingCount) return;
    this.stmt.appendRecent.run(this.pending.subarray(0, this.pendingCount * ENTRY));
    this.pendingCount = 0;
  }

  /** The ordinal of a done row with this text hash, if any. */
  lookup(hash: Buffer): number | undefined {
    if (!this.bloom.mayHave(hash)) return undefined;
    const buffered = this.buffer.get(hash);
    if (buffered !== undefined) return buffered;
    for (const { run, firsts } of this.fences) {
      const c = lastAtMost(firsts, HASH, hash);
      if (c < 0) continue;
      const chunk = this.stmt.chunk.get(run.id * RUN_SPAN + c) as Buffer;
      const e = lastAtMost(chunk, ENTRY, hash);
      if (e >= 0 && chunk.compare(hash, 0, HASH, e * ENTRY, e * ENTRY + HASH) === 0) return chunk.readDoubleLE(e * ENTRY + HASH);
    }
    return undefined;
  }

  /** Saves the Bloom filter so the next open need not rebuild it. */
  close(): void {
    const covered = this.saved.runs.map((r) => r.id);
    if (sameIds(this.saved.bloomRuns, covered)) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM text_bloom WHERE id <> ?').run(Bloom.LAYOUT);
      this.db.prepare('INSERT OR REPLACE INTO text_bloom (id, bits) VALUES (?, ?)').run(Bloom.LAYOUT, this.bloom.bytes());
      this.save({ ...this.saved, bloomRuns: covered });
    })();
  }

  /** Forgets every hash (for --restart), inside the caller's transaction. */
  clear(): void {
    this.db.exec('DELETE FROM text_recent; DELETE FROM text_chunks; DELETE FROM text_fences; DELETE FROM text_bloom;');
    this.buffer.clear();
    this.pendingCount = 0;
    this.bloom.reset();
    this.save({ runs: [], nextId: this.saved.nextId, bloomRuns: null });
    this.fences = [];
  }

  private spill(): void {
    this.db.transaction(() => {
      let runs = [...this.saved.runs];
      let nextId = this.saved.nextId;
      const out = this.runWriter({ id: nextId++, level: 0, chunks: 0 });
      this.buffer.sorted((keys, at, ordinal) => out.push(keys, at, ordinal));
      runs.push(out.end());
      this.db.exec('DELETE FROM text_recent');
      // Binary counter: while the two newest runs have the same level, merge them into the next level.
      for (;;) {
        const a = runs[runs.length - 2];
        const b = runs[runs.length - 1];
        if (!a || !b || a.level !== b.level) break;
        const merged = this.merge(a, b, { id: nextId++, level: a.level + 1, chunks: 0 });
        runs = [...runs.slice(0, -2), merged];
      }
      this.save({ runs, nextId, bloomRuns: this.saved.bloomRuns });
    })();
    this.buffer.clear();
    this.pendingCount = 0; // written out in the run
    this.loadFences();
  }

  /** One sequential pass over both runs; a hash in both keeps the older run's ordinal. */
  private merge(older: Run, newer: Run, into: Run): Run {
    const out = this.runWriter(into);
    const a = this.runReader(older);
    const b = this.runReader(newer);
    while (a.chunk || b.chunk) {
      const order = !b.chunk ? -1 : !a.chunk ? 1 : compareKeys(a.chunk, a.at, b.chunk, b.at);
      const from = order <= 0 ? a : b;
      out.pushEntry(from.chunk!, from.at);
      if (order === 0) b.next();
      from.next();
    }
    for (const r of [older, newer]) {
      this.db.prepare('DELETE FROM text_chunks WHERE id >= ? AND id < ?').run(r.id * RUN_SPAN, (r.id + 1) * RUN_SPAN);
      this.db.prepare('DELETE FROM text_fences WHERE run = ?').run(r.id);
    }
    return out.end();
  }

  /** Appends entries, in hash order, as the chunks of `run`. */
  private runWriter(run: Run): { push(keys: Buffer, at: number, ordinal: number): void; pushEntry(from: Buffer, at: number): void; end(): Run } {
    // One chunk buffer for the whole run (SQLite copies a bound blob) and one for the fences: a merge of
    // a million entries otherwise left ~25 MB of Buffers for the garbage collector, which does not see
    // their weight in time, and the process's peak memory grew with the job.
    const chunk = this.scratch;
    let firsts = Buffer.allocUnsafe(64 * HASH);
    let n = 0;
    const flush = () => {
      if (!n) return;
      if (run.chunks + 1 >= RUN_SPAN) throw new Error('text index run too large');
      this.stmt.putChunk.run(run.id * RUN_SPAN + run.chunks, chunk.subarray(0, n * ENTRY));
      if ((run.chunks + 1) * HASH > firsts.length) {
        const grown = Buffer.allocUnsafe(firsts.length * 2);
        firsts.copy(grown, 0, 0, run.chunks * HASH);
        firsts = grown;
      }
      chunk.copy(firsts, run.chunks++ * HASH, 0, HASH);
      n = 0;
    };
    return {
      push(keys, at, ordinal) {
        for (let i = 0, to = n * ENTRY; i < HASH; i++) chunk[to + i] = keys[at + i]!;
        chunk.writeDoubleLE(ordinal, n * ENTRY + HASH);
        if (++n === CHUNK) flush();
      },
      pushEntry(from, at) {
        // 24 bytes: a loop beats Buffer.copy's call overhead.
        for (let i = 0, to = n * ENTRY; i < ENTRY; i++) chunk[to + i] = from[at + i]!;
        if (++n === CHUNK) flush();
      },
      end: () => {
        flush();
        this.stmt.putFences.run(run.id, firsts.subarray(0, run.chunks * HASH));
        return run;
      },
    };
  }

  /** A cursor over a run's entries in hash order (the entry at `at` in `chunk`); reads one chunk at a time. */
  private runReader(run: Run): { chunk: Buffer | undefined; at: number; next(): void } {
    let c = 0;
    // Chunks come as hex strings decoded into one reused buffer. As blobs, each read was a new Buffer
    // whose memory lives outside V8's heap: a big merge left tens of MB of them before the collector
    // looked, and peak memory grew with the job. Strings are ordinary young garbage, collected at once.
    const buf = Buffer.allocUnsafe(CHUNK * ENTRY);
    const load = () => {
      if (c >= run.chunks) return undefined;
      const n = buf.write(this.stmt.chunkHex.get(run.id * RUN_SPAN + c++) as string, 'hex');
      return buf.subarray(0, n);
    };
    const cursor = {
      chunk: load(),
      at: 0,
      next: () => {
        cursor.at += ENTRY;
        if (cursor.at >= cursor.chunk!.length) {
          cursor.chunk = load();
          cursor.at = 0;
        }
      },
    };
    return cursor;
  }

  private save(s: Saved): void {
    this.saved = s;
    this.stmt.setMeta.run(JSON.stringify(s));
  }

  private loadFences(): void {
    const get = this.db.prepare('SELECT firsts FROM text_fences WHERE run = ?').pluck();
    this.fences = [...this.saved.runs].reverse().map((run) => ({ run, firsts: get.get(run.id) as Buffer }));
  }

  private loadBloom(): void {
    const ids = this.saved.runs.map((r) => r.id);
    if (sameIds(this.saved.bloomRuns, ids)) {
      const bits = this.db.prepare('SELECT bits FROM text_bloom WHERE id = ?').pluck().get(Bloom.LAYOUT) as Buffer | undefined;
      if (bits && this.bloom.load(bits)) return;
    }
    // The last process did not close (or spilled after saving), or saved another layout: rebuild from the
    // runs, and save it at close.
    const scan = this.db.prepare('SELECT entries FROM text_chunks WHERE id >= ? AND id < ?').pluck();
    for (const run of this.saved.runs) {
      for (const blob of scan.iterate(run.id * RUN_SPAN, (run.id + 1) * RUN_SPAN) as Iterable<Buffer>) forEntries(blob, (hash) => this.bloom.add(hash));
    }
    this.saved = { ...this.saved, bloomRuns: null };
  }
}

function forEntries(blob: Buffer, fn: (hash: Buffer, ordinal: number) => void): void {
  for (let at = 0; at + ENTRY <= blob.length; at += ENTRY) fn(blob.subarray(at, at + HASH), blob.readDoubleLE(at + HASH));
}

/** Index of the last record (of `size` bytes, sorted by their first 16 bytes) whose key is ≤ hash; -1 if none. */
function lastAtMost(sorted: Buffer, size: number, hash: Buffer): number {
  let lo = 0;
  let hi = sorted.length / size - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (hash.compare(sorted, mid * size, mid * size + HASH) >= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function sameIds(a: number[] | null, b: number[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * 4 MiB of bits, 4 probes taken from the hash itself: under 1% false positives at 2 million texts, ~4% at
 * 5 million, so the runs are read almost only for texts that really were seen. Blocked: the 4 bits of a
 * hash lie in one 64-byte block (one cache line) picked by the hash, so a probe costs one cache miss, not
 * four (lookup and add at a million texts: 0.32–0.50 → 0.19–0.24 µs). Saved under LAYOUT: a filter saved
 * in another layout is rebuilt from the runs.
 */
class Bloom {
  static readonly LAYOUT = 2;
  private static readonly BYTES = 1 << 22;
  private static readonly BLOCK = 64;
  private bits = new Uint8Array(Bloom.BYTES);

  /** Offset of the hash's 64-byte block; its bits are four 9-bit positions taken from words 1 and 2. */
  private static block(hash: Uint8Array): number {
    return (word32(hash, 0) % (Bloom.BYTES / Bloom.BLOCK)) * Bloom.BLOCK;
  }

  add(hash: Buffer): void {
    const block = Bloom.block(hash);
    const w = word32(hash, 4);
    const v = word32(hash, 8);
    this.set(block, w & 511);
    this.set(block, (w >>> 9) & 511);
    this.set(block, (w >>> 18) & 511);
    this.set(block, v & 511);
  }

  /** false: certainly never added. */
  mayHave(hash: Buffer): boolean {
    const block = Bloom.block(hash);
    const w = word32(hash, 4);
    const v = word32(hash, 8);
    return this.has(block, w & 511) && this.has(block, (w >>> 9) & 511) && this.has(block, (w >>> 18) & 511) && this.has(block, v & 511);
  }

  private set(block: number, p: number): void {
    this.bits[block + (p >>> 3)]! |= 1 << (p & 7);
  }

  private has(block: number, p: number): boolean {
    return (this.bits[block + (p >>> 3)]! & (1 << (p & 7))) !== 0;
  }

  bytes(): Buffer {
    return Buffer.from(this.bits.buffer, this.bits.byteOffset, this.bits.byteLength);
  }

  /** false when the saved filter has another size (then it is rebuilt). */
  load(saved: Buffer): boolean {
    if (saved.length !== this.bits.length) return false;
    this.bits.set(saved);
    return true;
  }

  reset(): void {
    this.bits = new Uint8Array(Bloom.BYTES);
  }
}
