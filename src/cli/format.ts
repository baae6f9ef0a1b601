import { num } from '../core/format.js';

export { duration, num, rate } from '../core/format.js';

export function retriesText(retries: Record<string, number>): string {
  const parts = Object.entries(retries).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${num(n)}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** Quotes an argument for a POSIX shell, so a printed command can be pasted back. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
