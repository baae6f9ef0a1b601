import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

/**
 * The output file a checkpoint's last run wrote (its stored settings), read without opening it as a job:
 * undefined when there is no such file, it is no checkpoint, or it names no output. One key of the meta
 * table, so it costs the same on a checkpoint of a billion rows.
 */
export function checkpointOutput(checkpoint: string): string | undefined {
  if (!existsSync(checkpoint)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(checkpoint, { readonly: true, fileMustExist: true });
    const value = db.prepare("SELECT value FROM meta WHERE key = 'settings'").pluck().get() as string | undefined;
    const output = value === undefined ? undefined : (JSON.parse(value) as { output?: unknown }).output;
    return typeof output === 'string' ? output : undefined;
  } catch {
    return undefined; // not readable as a checkpoint: opening it for the run says why
  } finally {
    db?.close();
  }
}
