/**
 * A lookup by ordinal over rows read from the checkpoint in sorted pages, for a caller that asks in
 * increasing order (the reader skipping finished rows, the export pairing each input row with its
 * result): a million rows cost a few hundred indexed range reads, not a query per row.
 */
export function inOrder<T>(fetch: (from: number, limit: number) => T[], ordinalOf: (item: T) => number, chunk: number, start = 0): (ordinal: number) => T | undefined {
  let page: T[] = [];
  let i = 0;
  let next = start;
  let exhausted = false;
  return (ordinal) => {
    for (;;) {
      while (i < page.length && ordinalOf(page[i]!) < ordinal) i++;
      if (i < page.length) return ordinalOf(page[i]!) === ordinal ? page[i] : undefined;
      if (exhausted) return undefined;
      page = fetch(Math.max(next, ordinal), chunk);
      i = 0;
      if (page.length < chunk) exhausted = true;
      if (page.length) next = ordinalOf(page[page.length - 1]!) + 1;
    }
  };
}
