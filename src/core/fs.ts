import { stat } from 'node:fs/promises';
import path from 'node:path';

/** `~` and `~/…` in a path the user typed, expanded as a shell would; left as they are without a home. */
export function expandHome(p: string, home: string | undefined): string {
  return home !== undefined && (p === '~' || p.startsWith('~/')) ? path.join(home, p.slice(1)) : p;
}

/** Whether something is there, following symlinks: a symlink whose target is gone counts as missing. */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
