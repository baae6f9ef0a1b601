import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { CheckpointError } from '../errors.js';
import type { FailureKind, Prediction } from '../core/types.js';
import { TEXT_KEY_LENGTH, type TextKey } from '../job/fingerprint.js';
import type { ReadPosition } from '../io/types.js';
import { START } from '../io/types.js';
import { commitFailure, damaged, isDamage } from './errors.js';
import { inOrder } from './in-order.js';
import type { JobMeta } from './meta.js';
import { createTextIndexSchema, DEFAULT_TEXT_INDEX, TextIndex, type TextIndexOptions } from './text-index.js';

const SCHEMA_VERSION = '2';
/** Done rows per INSERT statement (5 values each; SQLite allows 32,766 per statement). */
const DONE_GROUP = 64;

/** What the checkpoint keeps per finished row. Done rows skip line/byte: the frontier covers them. */
export interface RowRecord {
  ordinal: number;
  /** skipped: nothing to label (an empty text); finished, neither labeled nor failed. */
  status: 'done' | 'failed' | 'skipped';
  /** The text's key (hashText), on the row that first had the text. */
  hash?: TextKey;
  label?: string;
  score?: number;
  /** Every label's score (only kept when the job asks for more than the best label). */
  scores?: Prediction[];
  truncated?: boolean;
  /** 'empty' on a skipped row. */
  errorKind?: FailureKind | 'empty';
  error?: string;
  line?: number;
  byteStart?: number;
  rowId?: string;
}

/** Row status as stored: 1 done, 2 failed, 3 skipped (checkpoints made before skipping have no 3). */
export type StoredStatus = 1 | 2 | 3;

type StoredRowTuple = [number, StoredStatus, string | null, number | null, string | null, number | null, string | null];

/** A finished row as the exporter reads it back. */
export interface StoredRow {
  ordinal: number;
  status: 'done' | 'failed' | 'skipped';
  label: string | null;
  score: number | null;
  /** Every kept label's score, best first (jobs that keep them all); null otherwise. */
  scores: Prediction[] | null;
  truncated: boolean;
  error: string | null;
}

export interface StoredResult {
  label: string;
  score: number;
  scores: Prediction[] | undefined;
  truncated: boolean;
}

export interface RunRecord {
  id: number;
  startedAt: string;
  endedAt: string | null;
  state: 'running' | 'completed' | 'interrupted' | 'failed';
  rowsDone: number;
  rowsFailed: number;
  rowsReused: number;
  wallMs: number;
  retries: Record<string, number>;
}

function unreadable(path: string, err: unknown): CheckpointError {
  if (isDamage(err)) return damaged(path, (err as Error).message, err);
  return new CheckpointError(`${path}: cannot read this checkpoint (${(err as Error).message}); check that the file and its folder can be read.`);
}

/**
 * SQLite's own check of the file's structure (pages, cells, record formats; not index contents), before an
 * export or a status reads it: a damaged page is then one line naming the file rather than a failure
 * halfway through. QUICK_CHECK_MS below is its cost.
 */
function quickCheck(db: Database.Database, path: string): void {
  const problems = db.pragma('quick_check(3)', { simple: false }) as { quick_check: string }[];
  const found = problems.map((p) => p.quick_check).filter((p) => p !== 'ok');
  if (found.length) throw damaged(path, found.join('; ').replace(/\s*\n\s*/g, '; '));
}

/** A read-only look: the meta table with a schema version this code reads, or a refusal naming the file. */
function checkIsCheckpoint(db: Database.Database, path: string): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  const version = hasMeta ? (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined) : undefined;
  if (version === undefined) {
    throw new CheckpointError(`${path} is an SQLite file but not a batchlabel checkpoint (left as it is); pass the .sqlite file that \`batchlabel run\` wrote, or the job file.`);
  }
  if (JSON.parse(version) !== SCHEMA_VERSION) {
    throw new CheckpointError(`${path}: checkpoint format ${version} is not supported by this batchlabel (it reads format ${SCHEMA_VERSION}). Finish or export the job with the batchlabel that started it.`);
  }
}

/**
 * The file's bytes as an in-memory database. Marked as a rollback-journal database (header bytes 18 and 19),
 * which is what a WAL database is once its WAL is checkpointed: SQLite refuses a WAL image in memory.
 */
function inMemoryCopy(path: string): Database.Database {
  // Committed rows still in the WAL are not in the main file, and a checkpoint cut short leaves it half-updated.
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) {
    throw new CheckpointError(
      `${path}: its last writes are still in ${path}-wal and its folder is read-only, so SQLite cannot read them; copy the .sqlite and its -wal file together to a writable folder and point status or export there.`,
    );
  }
  const bytes = readFileSync(path);
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  return new Database(bytes);
}

/**
 * The SQLite checkpoint of one job. Results are committed in batched transactions together with the
 * read frontier (the first row not yet finished, with its byte offset), so that after any crash the
 * database says exactly which rows are finished and where to seek to resume.
 */
export class Checkpoint {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insertDone: Database.Statement;
  private readonly insertFailed: Database.Statement;
  private readonly insertSkipped: Database.Statement;
  private readonly insertLabel: Database.Statement;
  private readonly setMetaStmt: Database.Statement;
  private readonly lookupStmt: Database.Statement;
  private pageStmt: Database.Statement | undefined;
  private readonly knownLabels = new Set<string>();
  /** Created on first use: `status` and `export` never need it. */
  private textIndex: TextIndex | undefined;
  private readonly keyScratch = Buffer.alloc(TEXT_KEY_LENGTH);
  private readonly commitTx: (rows: RowRecord[], meta: Partial<JobMeta>) => void;

  private constructor(
    path: string,
    db: Database.Database,
    private readonly textIndexOptions: TextIndexOptions,
  ) {
    this.path = path;
    this.db = db;
    // Two statements: a done row binds 5 values instead of 11, and most rows are done.
    const doneSql = (n: number) => `INSERT OR REPLACE INTO rows (ordinal, status, label, score, scores, truncated) VALUES ${Array(n).fill('(?, 1, ?, ?, ?, ?)').join(', ')}`;
    this.insertDone = db.prepare(doneSql(1));
    // Done rows go in groups: one statement call per row was most of a commit's cost.
    const insertDoneGroup = db.prepare(doneSql(DONE_GROUP));
    this.insertFailed = db.prepare(
      'INSERT OR REPLACE INTO rows (ordinal, status, error_kind, error, line, byte_start, row_id) VALUES (?, 2, ?, ?, ?, ?, ?)',
    );
    this.insertSkipped = db.prepare(
      'INSERT OR REPLACE INTO rows (ordinal, status, error_kind, error, line, byte_start, row_id) VALUES (?, 3, ?, ?, ?, ?, ?)',
    );
    this.insertLabel = db.prepare('INSERT OR IGNORE INTO labels (label) VALUES (?)');
    this.setMetaStmt = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.lookupStmt = db.prepare('SELECT label, score, scores, truncated FROM rows WHERE ordinal = ? AND status = 1');
    for (const l of db.prepare('SELECT label FROM labels').pluck().all() as string[]) this.knownLabels.add(l);
    const group: unknown[] = [];
    this.commitTx = db.transaction((rows: RowRecord[], meta: Partial<JobMeta>) => {
      this.textIndex?.beginCommit();
      group.length = 0;
      for (const r of rows) {
        if (r.status !== 'done') {
          (r.status === 'failed' ? this.insertFailed : this.insertSkipped).run(r.ordinal, r.errorKind ?? null, r.error ?? null, r.line ?? null, r.byteStart ?? null, r.rowId ?? null);
          continue;
        }
        group.push(r.ordinal, r.label ?? null, r.score ?? null, r.scores ? JSON.stringify(r.scores) : null, r.truncated ? 1 : null);
        if (group.length === DONE_GROUP * 5) {
          insertDoneGroup.run(group);
          group.length = 0;
        }
        if (r.hash) this.texts().add(this.keyBytes(r.hash), r.ordinal);
        if (r.scores) for (const p of r.scores) this.noteLabel(p.label);
        else if (r.label !== undefined) this.noteLabel(r.label);
      }
      for (let i = 0; i < group.length; i += 5) this.insertDone.run(group.slice(i, i + 5));
      this.textIndex?.endCommit();
      for (const [k, v] of Object.entries(meta)) this.setMetaStmt.run(k, JSON.stringify(v));
    });
  }

  /** Opens (or, with `create`, creates) a checkpoint. */
  static open(path: string, opts: { create?: boolean; readonly?: boolean; textIndex?: TextIndexOptions } = {}): Checkpoint {
    if (!opts.create && !existsSync(path)) {
      throw new CheckpointError(`${path}: no checkpoint there. Start the job with \`batchlabel run\` first, or give the checkpoint path (--checkpoint).`);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: !opts.create });
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        // WAL + NORMAL survives a killed process; only a power cut may drop the last commits, never corrupt.
        db.pragma('synchronous = NORMAL');
        // Checkpoint the WAL into the database every ~40 MB instead of SQLite's default ~4 MB: fewer
        // checkpoints (each with an fsync) while a big job commits and the text index merges its runs.
        db.pragma('wal_autocheckpoint = 10000');
        // 4 MB of page cache, not better-sqlite3's 16 MB: writes append, merges and the export read in order,
        // and text lookups mostly stop at the Bloom filter, so a bigger cache only grows RSS on big jobs.
        db.pragma('cache_size = -4000');
      }
      db.pragma('busy_timeout = 5000');
      if (!opts.readonly) db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
      const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
      if (version !== undefined && JSON.parse(version) !== SCHEMA_VERSION) {
        throw new CheckpointError(
          `${path}: checkpoint format ${version} is not supported by this batchlabel (it writes format ${SCHEMA_VERSION}). Finish or export the job with the batchlabel that started it, or start a new job with another --checkpoint path.`,
        );
      }
      if (!opts.readonly) {
        db.exec(`
          CREATE TABLE IF NOT EXISTS rows (
            ordinal INTEGER PRIMARY KEY,
            status INTEGER NOT NULL,
            label TEXT,
            score REAL,
            scores TEXT,
            truncated INTEGER,
            error_kind TEXT,
            error TEXT,
            line INTEGER,
            byte_start INTEGER,
            row_id TEXT
          );
          CREATE TABLE IF NOT EXISTS labels (label TEXT PRIMARY KEY) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            state TEXT NOT NULL,
            rows_done INTEGER NOT NULL DEFAULT 0,
            rows_failed INTEGER NOT NULL DEFAULT 0,
            rows_reused INTEGER NOT NULL DEFAULT 0,
            wall_ms INTEGER NOT NULL DEFAULT 0,
            retries TEXT NOT NULL DEFAULT '{}'
          );
        `);
        createTextIndexSchema(db);
      }
      if (version === undefined && !opts.readonly) {
        db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(JSON.stringify(SCHEMA_VERSION));
      }
    } catch (err) {
      if (err instanceof CheckpointError) throw err;
      throw new CheckpointError(`${path}: not a usable batchlabel checkpoint (${(err as Error).message}). Pass another --checkpoint path; this file is left as it is.`);
    }
    return new Checkpoint(path, db, opts.textIndex ?? DEFAULT_TEXT_INDEX);
  }

  /**
   * Opens a checkpoint for reading only (`status`, `export`): nothing is ever written to the file, so a
   * read-only checkpoint can be read, and a file that is not a checkpoint is refused untouched (no tables
   * added, no switch to WAL). A checkpoint in WAL mode needs its -shm file: in a read-only folder without
   * one, SQLite cannot open it, and a private in-memory copy of the file is read instead (its size in
   * memory, once; no other process is writing it, or the -shm file would exist).
   */
  static openReadOnly(path: string): Checkpoint {
    if (!existsSync(path)) {
      throw new CheckpointError(`${path}: no checkpoint there. Start the job with \`batchlabel run\` first, or give the checkpoint path (--checkpoint).`);
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      checkIsCheckpoint(db, path);
      quickCheck(db, path);
    } catch (err) {
      db?.close();
      if (err instanceof CheckpointError) throw err;
      // SQLITE_CANTOPEN or SQLITE_READONLY_CANTINIT: no -shm file, and none can be made.
      const code = (err as { code?: string }).code ?? '';
      if (code !== 'SQLITE_CANTOPEN' && !code.startsWith('SQLITE_READONLY')) throw unreadable(path, err);
      try {
        db = inMemoryCopy(path);
        checkIsCheckpoint(db, path);
        quickCheck(db, path);
      } catch (again) {
        db?.close();
        throw again instanceof CheckpointError ? again : unreadable(path, again);
      }
    }
    return new Checkpoint(path, db, DEFAULT_TEXT_INDEX);
  }

  private noteLabel(label: string): void {
    if (this.knownLabels.has(label)) return;
    this.knownLabels.add(label);
    this.insertLabel.run(label);
  }

  getMeta<K extends keyof JobMeta>(key: K): JobMeta[K] | undefined {
    const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as JobMeta[K];
    } catch (err) {
      throw damaged(this.path, `its ${key} record is not valid JSON`, err);
    }
  }

  setMeta(values: Partial<JobMeta>): void {
    this.commitTx([], values);
  }

  /** Writes finished rows and meta (frontier, totals) in one transaction. */
  commit(rows: RowRecord[], meta: Partial<JobMeta> = {}): void {
    this.commitTx(rows, meta);
  }

  private texts(): TextIndex {
    return (this.textIndex ??= new TextIndex(this.db, this.textIndexOptions));
  }

  /** A key's bytes, in one reused buffer: the text index copies what it keeps. */
  private keyBytes(key: TextKey): Buffer {
    this.keyScratch.write(key, 0, TEXT_KEY_LENGTH, 'latin1');
    return this.keyScratch;
  }

  /** Where a resumed read starts: every row before it is finished. */
  frontier(): ReadPosition {
    return this.getMeta('frontier') ?? START;
  }

  /**
   * Whether a row before `ordinal` is missing: every row before the frontier must be in the checkpoint, but
   * a version that lost the rows of a failed commit left holes. `expected`: the rows owned below it (a
   * shard owns only some). One count over the primary key.
   */
  missingBelow(ordinal: number, expected = ordinal): boolean {
    if (expected <= 0) return false;
    return (this.db.prepare('SELECT COUNT(*) FROM rows WHERE ordinal < ?').pluck().get(ordinal) as number) < expected;
  }

  /** A finished result for the same text (dedupe across the whole job, resumed runs included). */
  lookupDone(hash: TextKey): StoredResult | undefined {
    const ordinal = this.texts().lookup(this.keyBytes(hash));
    if (ordinal === undefined) return undefined;
    const r = this.lookupStmt.get(ordinal) as { label: string; score: number; scores: string | null; truncated: number | null } | undefined;
    if (!r) return undefined;
    return { label: r.label, score: r.score, scores: r.scores ? (JSON.parse(r.scores) as Prediction[]) : undefined, truncated: r.truncated === 1 };
  }

  /** The ordinal of the row the text index holds for this text: the first done row that had it. */
  textOrdinal(hash: TextKey): number | undefined {
    return this.texts().lookup(this.keyBytes(hash));
  }

  /** A failed row's failure kind (the export asks it of the few failed rows whose input now reads well). */
  failureKind(ordinal: number): string | null | undefined {
    return this.db.prepare('SELECT error_kind FROM rows WHERE ordinal = ? AND status = 2').pluck().get(ordinal) as string | null | undefined;
  }

  /**
   * Finished ordinals at or after `from`, read in sorted chunks and consumed in step with the reader,
   * so skipping a million finished rows costs one indexed range scan, not a query per row.
   */
  finishedFrom(from: number, chunk = 8192): (ordinal: number) => boolean {
    const stmt = this.db.prepare('SELECT ordinal FROM rows WHERE ordinal >= ? ORDER BY ordinal LIMIT ?').pluck();
    const lookup = inOrder((start, limit) => stmt.all(start, limit) as number[], (o) => o, chunk, from);
    return (ordinal) => lookup(ordinal) !== undefined;
  }


  /** Forgets failed rows so they are read and attempted again; returns where reading must restart. */
  resetFailed(): { count: number; from: ReadPosition } {
    const first = this.db
      .prepare('SELECT ordinal, line, byte_start AS byte FROM rows WHERE status = 2 ORDER BY ordinal LIMIT 1')
      .get() as ReadPosition | undefined;
    const frontier = this.frontier();
    if (!first || first.ordinal >= frontier.ordinal) return { count: 0, from: frontier };
    const from = first.byte === null || first.line === null ? START : first;
    const count = this.db.transaction(() => {
      const { changes } = this.db.prepare('DELETE FROM rows WHERE status = 2').run();
      this.setMetaStmt.run('frontier', JSON.stringify(from));
      return changes;
    })();
    return { count, from };
  }

  /** Finished rows: labeled (done), failed, skipped (nothing to label), and the labeled ones truncated. */
  counts(): { done: number; failed: number; skipped: number; truncated: number } {
    const r = this.db
      .prepare(
        'SELECT COALESCE(SUM(status = 1), 0) AS done, COALESCE(SUM(status = 2), 0) AS failed, COALESCE(SUM(status = 3), 0) AS skipped, COALESCE(SUM(truncated = 1), 0) AS truncated FROM rows',
      )
      .get() as { done: number; failed: number; skipped: number; truncated: number };
    return r;
  }

  failuresByKind(examples = 3): { kind: string; count: number; examples: { ordinal: number; line: number | null; rowId: string | null; error: string }[] }[] {
    const kinds = this.db
      .prepare('SELECT error_kind AS kind, COUNT(*) AS count FROM rows WHERE status = 2 GROUP BY error_kind ORDER BY count DESC')
      .all() as { kind: string; count: number }[];
    const ex = this.db.prepare('SELECT ordinal, line, row_id AS rowId, error FROM rows WHERE status = 2 AND error_kind = ? ORDER BY ordinal LIMIT ?');
    return kinds.map((k) => ({ ...k, examples: ex.all(k.kind, examples) as { ordinal: number; line: number | null; rowId: string | null; error: string }[] }));
  }

  labels(): string[] {
    return (this.db.prepare('SELECT label FROM labels ORDER BY label').pluck().all() as string[]);
  }

  /** The first `limit` finished rows at or after ordinal `from`, in order (the exporter pages through them). */
  page(from: number, limit: number): StoredRow[] {
    // Rows come back as arrays and become objects here: better-sqlite3 builds an object row through V8's
    // API at ~2.5 µs, an array at ~1.2 µs, and the export reads every row of the job.
    this.pageStmt ??= this.db
      .prepare('SELECT ordinal, status, label, score, scores, truncated, error FROM rows WHERE ordinal >= ? ORDER BY ordinal LIMIT ?')
      .raw(true);
    return (this.pageStmt.all(from, limit) as StoredRowTuple[]).map(([ordinal, status, label, score, scores, truncated, error]) => ({
      ordinal,
      status: this.statusOf(ordinal, status),
      label,
      score,
      scores: scores === null ? null : this.scoresOf(ordinal, scores),
      truncated: truncated === 1,
      error,
    }));
  }

  private statusOf(ordinal: number, status: number): StoredRow['status'] {
    if (status === 1) return 'done';
    if (status === 2) return 'failed';
    if (status === 3) return 'skipped';
    throw damaged(this.path, `row ${ordinal + 1} (ordinal ${ordinal}) holds an unknown status ${JSON.stringify(status)}`);
  }

  private scoresOf(ordinal: number, scores: string): Prediction[] {
    try {
      return JSON.parse(scores) as Prediction[];
    } catch {
      throw damaged(this.path, `row ${ordinal + 1} (ordinal ${ordinal}) holds scores that are not valid JSON`);
    }
  }

  startRun(): number {
    const r = this.db.prepare("INSERT INTO runs (started_at, state) VALUES (?, 'running')").run(new Date().toISOString());
    return Number(r.lastInsertRowid);
  }

  /** Updated with every commit, so a killed run still leaves its figures. */
  updateRun(id: number, r: Omit<RunRecord, 'id' | 'startedAt'>): void {
    this.db
      .prepare('UPDATE runs SET ended_at = ?, state = ?, rows_done = ?, rows_failed = ?, rows_reused = ?, wall_ms = ?, retries = ? WHERE id = ?')
      .run(r.endedAt, r.state, r.rowsDone, r.rowsFailed, r.rowsReused, r.wallMs, JSON.stringify(r.retries), id);
  }

  runs(): RunRecord[] {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY id').all() as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as number,
      startedAt: r.started_at as string,
      endedAt: r.ended_at as string | null,
      state: r.state as RunRecord['state'],
      rowsDone: r.rows_done as number,
      rowsFailed: r.rows_failed as number,
      rowsReused: r.rows_reused as number,
      wallMs: r.wall_ms as number,
      retries: JSON.parse(r.retries as string) as Record<string, number>,
    }));
  }

  /** Wipes every result (for --restart), keeping the file. */
  clear(): void {
    this.db.transaction(() => {
      this.texts().clear();
      this.db.exec("DELETE FROM rows; DELETE FROM labels; DELETE FROM runs; DELETE FROM meta WHERE key NOT IN ('schema_version', 'text_index');");
    })();
    this.knownLabels.clear();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** The connection, for the read-side queries in queries.ts (status, report, filtered exports). */
  get database(): Database.Database {
    return this.db;
  }

  /** Closes the database; a last write that fails (the text index's, on a full disk) is a CheckpointError. */
  close(): void {
    if (!this.db.open) return;
    try {
      // Read-only (status, export): the Bloom filter a lookup rebuilt is not saved.
      if (!this.db.readonly) this.textIndex?.close();
    } catch (err) {
      throw commitFailure(this.path, err);
    } finally {
      this.db.close();
    }
  }
}
