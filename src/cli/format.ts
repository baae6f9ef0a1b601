import { num } from '../core/format.js';

export { num, rate } from '../core/format.js';

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}


export function retriesText(retries: Record<string, number>): string {
  const parts = Object.entries(retries).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${num(n)}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** Quotes an argument for a POSIX shell, so a printed command can be pasted back. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
