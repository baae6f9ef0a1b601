/**
 * Parquet values as the reader decodes them and the exports write them: decoded so that the Parquet export
 * writes back exactly what the file held (bytes as bytes, timestamps to their unit), and rendered for CSV
 * and JSON as text a reader of those formats can take.
 */
import { DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import type { ParquetParsers } from 'hyparquet/src/types.js';
import type { SchemaElement } from 'hyparquet';

/** A Parquet DATE: a day, not an instant, so in CSV and JSON it is 2020-01-31 rather than midnight UTC. */
export class CalendarDate extends Date {
  override toISOString(): string {
    const iso = super.toISOString();
    return iso.slice(0, iso.indexOf('T'));
  }
}

/**
 * A micro- or nanosecond timestamp as the file stores it (a Date holds milliseconds: the export wrote
 * 05:06:07.123456789 back as 05:06:07.123). Not a Date, so nothing rounds it on the way.
 */
export class PreciseTimestamp {
  constructor(
    /** Units since the epoch. */
    readonly ticks: bigint,
    /** Fraction digits of a second: 6 for microseconds, 9 for nanoseconds. */
    readonly digits: 6 | 9,
  ) {}

  /** ISO 8601 with every digit the unit has (2021-03-04T05:06:07.123456Z); the tick count if out of a Date's range. */
  toISOString(): string {
    const perSecond = 10n ** BigInt(this.digits);
    let seconds = this.ticks / perSecond;
    let fraction = this.ticks % perSecond;
    if (fraction < 0n) {
      fraction += perSecond;
      seconds -= 1n;
    }
    const day = new Date(Number(seconds) * 1000);
    if (Number.isNaN(day.getTime())) return this.ticks.toString();
    const iso = day.toISOString();
    return `${iso.slice(0, iso.indexOf('.'))}.${fraction.toString().padStart(this.digits, '0')}Z`;
  }

  toJSON(): string {
    return this.toISOString();
  }
}

/**
 * A DECIMAL as the file stores it: the unscaled integer and the scale. hyparquet decodes a DECIMAL to a
 * double, which holds 15–17 digits: Spark's default DECIMAL(38,18) came back from the export with its last
 * digits changed (1.123456789012345678 as 1.123456789012345856, read by DuckDB).
 */
export class ExactDecimal {
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  /** The decimal's digits, all of them: -12.3400 at scale 4. */
  toString(): string {
    const negative = this.unscaled < 0n;
    const digits = (negative ? -this.unscaled : this.unscaled).toString().padStart(this.scale + 1, '0');
    const whole = this.scale ? `${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}` : digits;
    return negative ? `-${whole}` : whole;
  }

  /** A number where the double is the decimal exactly as written (3.5, 0.01), else its exact digits as a string. */
  plain(): number | string {
    const text = this.toString();
    const n = Number(text);
    const trimmed = this.scale ? text.replace(/\.?0+$/, '') : text;
    return String(n) === (trimmed === '-0' ? '0' : trimmed) ? n : text;
  }
}

/** A TIME (time of day) as the file stores it: a count of its unit since midnight, shown as 01:02:03.000000. */
export class TimeOfDay {
  constructor(
    readonly ticks: bigint,
    /** Fraction digits of a second: 3, 6 or 9 for milli-, micro- or nanoseconds. */
    readonly digits: 3 | 6 | 9,
  ) {}

  toString(): string {
    const perSecond = 10n ** BigInt(this.digits);
    const seconds = Number(this.ticks / perSecond);
    const two = (n: number) => String(n).padStart(2, '0');
    const fraction = (this.ticks % perSecond).toString().padStart(this.digits, '0');
    return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}.${fraction}`;
  }
}

function timeDigits(e: SchemaElement): 3 | 6 | 9 | undefined {
  if (e.converted_type === 'TIME_MILLIS') return 3;
  if (e.converted_type === 'TIME_MICROS') return 6;
  if (e.logical_type?.type !== 'TIME') return undefined;
  return e.logical_type.unit === 'MILLIS' ? 3 : e.logical_type.unit === 'MICROS' ? 6 : 9;
}

/**
 * How a column's raw values (hyparquet's, with DECIMAL annotations taken off: see withoutDecimal) become
 * the reader's: ExactDecimal for a DECIMAL, TimeOfDay for a TIME (hyparquet leaves it a bare count);
 * undefined where hyparquet's own value is kept.
 */
export function rawValueOf(e: SchemaElement): ((raw: unknown) => unknown) | undefined {
  if (isDecimal(e)) {
    const scale = decimalScale(e);
    return (raw) => exactDecimal(raw, scale);
  }
  const digits = timeDigits(e);
  if (digits) return (raw) => (raw === null || raw === undefined ? raw : new TimeOfDay(BigInt(raw as number | bigint), digits));
  return undefined;
}

/** A DECIMAL's unscaled value from what its physical type holds: an int, a bigint, or big-endian two's complement bytes. */
function exactDecimal(raw: unknown, scale: number): ExactDecimal | null | undefined {
  if (raw === null || raw === undefined) return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return new ExactDecimal(BigInt(raw), scale);
  const bytes = raw as Uint8Array;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  if (bytes.length && bytes[0]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return new ExactDecimal(value, scale);
}

/**
 * How the reader decodes values: as the export writes them back. Binary (BYTE_ARRAY with no string
 * annotation: image bytes, hashes) is left as bytes by `utf8: false` beside these; hyparquet's default
 * decoded it as UTF-8, and every byte above 0x7f came back U+FFFD.
 */
export const PARSERS: ParquetParsers = {
  ...DEFAULT_PARSERS,
  dateFromDays: (days) => new CalendarDate(days * 86_400_000),
  timestampFromMicroseconds: (us) => new PreciseTimestamp(BigInt(us), 6),
  timestampFromNanoseconds: (ns) => new PreciseTimestamp(BigInt(ns), 9),
};

/** Whether a column's schema elements hold values the writer takes only through storedValue: precise timestamps, decimals, times. */
export function needsStoredValues(schema: SchemaElement[]): boolean {
  return schema.some((e) => e.converted_type === 'TIMESTAMP_MICROS' || (e.logical_type?.type === 'TIMESTAMP' && e.logical_type.unit !== 'MILLIS') || rawValueOf(e) !== undefined);
}

function isDecimal(e: SchemaElement): boolean {
  return e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
}

function decimalScale(e: SchemaElement): number {
  return e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : 0);
}

/** The element without its DECIMAL annotation: hyparquet then hands out the raw integers exactDecimal scales. */
export function withoutDecimal(e: SchemaElement): SchemaElement {
  if (!isDecimal(e)) return e;
  const { converted_type: _c, logical_type: _l, ...raw } = e;
  return raw;
}

/** A decoded value as the Parquet writer takes it back: precise timestamps as their ticks, exact decimals unscaled, inside lists and structs too. */
export function storedValue(v: unknown): unknown {
  if (v instanceof PreciseTimestamp) return v.ticks;
  if (v instanceof ExactDecimal) return v.unscaled;
  if (v instanceof TimeOfDay) return v.digits === 3 ? Number(v.ticks) : v.ticks; // TIME_MILLIS is an INT32
  if (Array.isArray(v)) return v.map(storedValue);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = storedValue(x);
    return out;
  }
  return v;
}

/**
 * A decoded Parquet value as JSON can hold it: 64-bit integers and decimals as numbers where exact (else
 * as their decimal string), dates, times and timestamps as ISO 8601 text, bytes as base64, lists and structs recursively.
 */
export function plainValue(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v instanceof Date || v instanceof PreciseTimestamp) return v.toISOString();
  if (v instanceof ExactDecimal) return v.plain();
  if (v instanceof TimeOfDay) return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}
