/**
 * The text encodings a CSV or JSONL input may be in, and the export written back in. Inside batchlabel
 * text is UTF-8: another encoding is transcoded to UTF-8 as the file is read and back as the export is
 * written, so every reader, hash and fast path sees UTF-8, and a lossless round trip gives the export the
 * input's own bytes where it copies rows. Names are the WHATWG encoding labels TextDecoder takes.
 */
import { TextDecoder } from 'node:util';
import { UsageError } from '../errors.js';

/** A UTF-16 code unit of a surrogate pair left without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface TextEncoding {
  /** The WHATWG name (`latin1` resolves to `windows-1252`, as in every browser). */
  name: string;
  /** UTF-8: nothing to transcode. */
  utf8: boolean;
  /**
   * A decoder of the file's bytes (a byte order mark at the start is dropped). Call it with
   * `{ stream: true }` always: Node 20.18.3+ decodes windows-1252 as ISO-8859-1 in a one-shot decode()
   * (0x80 gives U+0080, not €: nodejs/node#60888), while its streaming path maps the table right.
   */
  decoder(): TextDecoder;
  /** The text in this encoding; throws EncodeError at a character it cannot hold. */
  encode(text: string): Buffer;
  /** Written at the start of an export (UTF-16's byte order mark, which Excel and most readers need). */
  bom: Buffer;
}

/** A character the output encoding has no byte for. */
export class EncodeError extends Error {
  constructor(
    readonly character: string,
    readonly encoding: string,
  ) {
    super(`${JSON.stringify(character)} (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) cannot be written in ${encoding}`);
  }
}

/**
 * WHATWG's legacy single-byte encodings: one byte is one character, and bytes below 0x80 are ASCII, so
 * a byte table encodes them back. The multi-byte legacy encodings (Shift_JIS, GBK, Big5, EUC-*) are not
 * here: Node can decode them but not encode them, so their exports could not keep the input's encoding.
 */
const SINGLE_BYTE = new Set([
  'ibm866', 'iso-8859-2', 'iso-8859-3', 'iso-8859-4', 'iso-8859-5', 'iso-8859-6', 'iso-8859-7', 'iso-8859-8', 'iso-8859-8-i',
  'iso-8859-10', 'iso-8859-13', 'iso-8859-14', 'iso-8859-15', 'iso-8859-16', 'koi8-r', 'koi8-u', 'macintosh', 'windows-874',
  'windows-1250', 'windows-1251', 'windows-1252', 'windows-1253', 'windows-1254', 'windows-1255', 'windows-1256', 'windows-1257',
  'windows-1258', 'x-mac-cyrillic',
]);

export const UTF8: TextEncoding = {
  name: 'utf-8',
  utf8: true,
  decoder: () => new TextDecoder('utf-8'),
  encode: (text) => Buffer.from(text, 'utf8'),
  bom: Buffer.alloc(0),
};

/** UTF-16, either byte order; a lone surrogate (which no encoding holds) is refused like an unmapped character. */
function utf16(name: 'utf-16le' | 'utf-16be'): TextEncoding {
  return {
    name,
    utf8: false,
    decoder: () => new TextDecoder(name),
    encode(text) {
      const lone = LONE_SURROGATE.exec(text);
      if (lone) throw new EncodeError(lone[0], name);
      const le = Buffer.from(text, 'utf16le');
      return name === 'utf-16le' ? le : le.swap16();
    },
    bom: name === 'utf-16le' ? Buffer.from([0xff, 0xfe]) : Buffer.from([0xfe, 0xff]),
  };
}

/** A single-byte encoding, its encoder the inverse of its decoder's byte table (bytes it leaves unmapped stay out). */
function singleByte(name: string): TextEncoding {
  const table = new TextDecoder(name).decode(Uint8Array.from({ length: 256 }, (_, b) => b), { stream: true });
  const toByte = new Map<number, number>();
  for (let b = 0; b < 256; b++) {
    const c = table.charCodeAt(b);
    if (c !== 0xfffd && !toByte.has(c)) toByte.set(c, b);
  }
  return {
    name,
    utf8: false,
    decoder: () => new TextDecoder(name),
    encode(text) {
      const out = Buffer.allocUnsafe(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        const b = c < 0x80 ? c : toByte.get(c);
        if (b === undefined) throw new EncodeError(String.fromCodePoint(text.codePointAt(i)!), name);
        out[i] = b;
      }
      return out;
    },
    bom: Buffer.alloc(0),
  };
}

const made = new Map<string, TextEncoding>([['utf-8', UTF8]]);

/** The encoding a label names (case-insensitive: utf-8, latin1, windows-1252, cp1252, utf-16le, iso-8859-15 …). */
export function textEncoding(label: string, flag = 'encoding'): TextEncoding {
  let name: string;
  try {
    name = new TextDecoder(label.trim()).encoding;
  } catch {
    throw new UsageError(`--${flag} ${JSON.stringify(label)} is not an encoding: use utf-8, utf-16le, utf-16be, windows-1252 (latin1), iso-8859-15 or another single-byte encoding.`);
  }
  const known = made.get(name);
  if (known) return known;
  let enc: TextEncoding;
  if (name === 'utf-16le' || name === 'utf-16be') enc = utf16(name);
  else if (SINGLE_BYTE.has(name)) enc = singleByte(name);
  else throw new UsageError(`--${flag} ${label}: batchlabel reads and writes UTF-8, UTF-16 and single-byte encodings (windows-1252, iso-8859-*, koi8-r …), not ${name}. Convert the file to UTF-8 first, e.g. iconv -f ${name} -t utf-8 in.csv > in-utf8.csv.`);
  made.set(name, enc);
  return enc;
}

/** The encoding a byte order mark at the start of a file declares. */
export function bomEncoding(head: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
}
