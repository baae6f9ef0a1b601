/** 1234567 → "1,234,567". Not Intl.NumberFormat: creating one loads ICU data, ~40 ms of every command's start. */
export function num(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Rows per second. */
export function rate(rows: number, ms: number): number {
  return ms > 0 ? (rows * 1000) / ms : 0;
}
