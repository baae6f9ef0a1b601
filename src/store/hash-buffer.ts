/**
 * Text hash → ordinal for the hashes not yet written out as a sorted run, in flat typed arrays: no object,
 * string or Map entry per hash, so tens of thousands of live entries cost the garbage collector nothing
 * (a Map keyed by latin1 strings spent ~25% of the checkpoint's time in GC).
 * Open addressing with linear probing on the hash's own first bytes (SHA-256 is uniform).
 */
const HASH = 16;

/**
 * Byte order of two 16-byte keys. A plain loop: Buffer.compare's argument checks and native call cost
 * more than the one or two bytes it usually takes to tell random keys apart.
 */
export function compareKeys(a: Uint8Array, at: number, b: Uint8Array, bt: number): number {
  for (let i = 0; i < HASH; i++) {
    const d = a[at + i]! - b[bt + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The little-endian 32-bit word at `at`, without Buffer.readUInt32LE's argument checks (a probe per row). */
export function word32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export class HashBuffer {
  private keys: Buffer;
  private ordinals: Float64Array;
  /** Entry index + 1 per slot; 0 is empty. */
  private slots: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = Buffer.alloc(capacity * HASH);
    this.ordinals = new Float64Array(capacity);
    this.slots = new Int32Array(slotsFor(capacity));
  }

  get(hash: Buffer): number | undefined {
    const i = this.find(hash);
    return i < 0 ? undefined : this.ordinals[i];
  }

  /** Keeps the first ordinal given for a hash. */
  set(hash: Buffer, ordinal: number): void {
    if (this.find(hash) >= 0) return;
    if (this.size === this.ordinals.length) this.grow();
    const i = this.size++;
    hash.copy(this.keys, i * HASH, 0, HASH);
    this.ordinals[i] = ordinal;
    this.place(i);
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }

  /** Calls fn for every entry in hash order, with the buffer holding the key at `at`. */
  sorted(fn: (keys: Buffer, at: number, ordinal: number) => void): void {
    // Sort 64-bit words "first 4 hash bytes (big-endian), entry index" natively, then put the rare runs
    // of equal 4-byte prefixes in full order.
    const words = Buffer.allocUnsafe(this.size * 8);
    for (let i = 0; i < this.size; i++) {
      words.writeUInt32LE(i, i * 8);
      words.writeUInt32LE(this.keys.readUInt32BE(i * HASH), i * 8 + 4);
    }
    new BigUint64Array(words.buffer, words.byteOffset, this.size).sort();
    // Read the sorted words back as 32-bit halves: BigInt arithmetic would allocate per entry.
    const half = new Uint32Array(words.buffer, words.byteOffset, this.size * 2);
    const byKey = (a: number, b: number) => compareKeys(this.keys, a * HASH, this.keys, b * HASH);
    for (let k = 0; k < this.size; ) {
      let end = k + 1;
      while (end < this.size && half[2 * end + 1] === half[2 * k + 1]) end++;
      if (end - k === 1) fn(this.keys, half[2 * k]! * HASH, this.ordinals[half[2 * k]!]!);
      else {
        const group = Array.from({ length: end - k }, (_, j) => half[2 * (k + j)]!).sort(byKey);
        for (const i of group) fn(this.keys, i * HASH, this.ordinals[i]!);
      }
      k = end;
    }
  }

  private find(hash: Buffer): number {
    const mask = this.slots.length - 1;
    for (let s = word32(hash, 0) & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]!;
      if (e === 0) return -1;
      if (compareKeys(hash, 0, this.keys, (e - 1) * HASH) === 0) return e - 1;
    }
  }

  private place(i: number): void {
    const mask = this.slots.length - 1;
    let s = word32(this.keys, i * HASH) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = i + 1;
  }

  /** A commit can overshoot the spill limit; room doubles then. */
  private grow(): void {
    const capacity = this.ordinals.length * 2;
    const keys = Buffer.alloc(capacity * HASH);
    this.keys.copy(keys);
    this.keys = keys;
    const ordinals = new Float64Array(capacity);
    ordinals.set(this.ordinals);
    this.ordinals = ordinals;
    this.slots = new Int32Array(slotsFor(capacity));
    for (let i = 0; i < this.size; i++) this.place(i);
  }
}

/** A power of two at least twice the capacity, so probes stay short. */
function slotsFor(capacity: number): number {
  let n = 16;
  while (n < capacity * 2) n *= 2;
  return n;
}
