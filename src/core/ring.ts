/**
 * Rings indexed by ordinal (slot `ordinal & mask`), for rows read in order and let go out of order: no
 * object or map entry per row, which at a million rows was garbage the collector copied between
 * generations while the rows waited.
 */
export interface Ring {
  [slot: number]: unknown;
  readonly length: number;
}

/**
 * The rings moved into rings of twice the room (each of its own kind: an Array, a Float64Array …), the
 * slots of ordinals [from, to) at their places under the new mask.
 */
export function grownRings<T extends Ring[]>(rings: T, mask: number, from: number, to: number): { mask: number; rings: T } {
  const bigger = mask * 2 + 1;
  const out = rings.map((r) => new (r.constructor as new (size: number) => Ring)(bigger + 1)) as T;
  for (let k = 0; k < rings.length; k++) {
    const was = rings[k]!;
    const now = out[k]!;
    for (let o = from; o < to; o++) now[o & bigger] = was[o & mask];
  }
  return { mask: bigger, rings: out };
}
