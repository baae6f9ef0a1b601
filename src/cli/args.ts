/**
 * Command-line mistakes told as one line that says how to fix them: a misspelled flag gets the flag it
 * was probably meant to be, a long flag typed with one dash is named as such, and a value that is not a
 * number (or a flag given twice) is echoed as typed rather than as yargs' NaN or array.
 */
import { UsageError } from '../errors.js';
import { JOB_OPTIONS, type OptionSpec } from '../job/options.js';

/** The flags of the commands besides the job's own (kept in step with main.ts), for suggestions. */
const COMMAND_FLAGS = [
  'restart', 'retry-failed', 'quiet', 'json', 'probe', 'no-probe', 'probe-requests', 'shards', 'partial', 'label', 'max-score', 'sample', 'seed', 'lowest', 'help', 'version',
];

const KNOWN_FLAGS = [...new Set([...JOB_OPTIONS.map((o) => o.flag), ...COMMAND_FLAGS])];

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known flag closest to `name`: within a third of its length, or the one it is a prefix of. */
export function suggestFlag(name: string): string | undefined {
  const n = name.toLowerCase().replace(/_/g, '-');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const flag of KNOWN_FLAGS) {
    const dist = flag.startsWith(n) && n.length >= 3 ? 0.5 : distance(n, flag);
    if (dist < bestDistance) [best, bestDistance] = [flag, dist];
  }
  return bestDistance <= Math.max(1, Math.floor(n.length / 3)) ? best : undefined;
}

/** An argument such as `-input`: a long flag name after one dash (yargs reads it as -i -n -p -u -t). */
function singleDashFlag(args: string[]): string | undefined {
  for (const a of args) {
    if (a === '--') return undefined;
    const m = /^-([A-Za-z][\w-]+)(?:=.*)?$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * yargs' "Unknown argument(s): a, b" as what the user can do about it; undefined for other messages.
 * `args`: the command line after the script, to spot a long flag given with one dash.
 */
export function explainUnknownArguments(message: string, args: string[]): string | undefined {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m) return undefined;
  const oneDash = singleDashFlag(args);
  if (oneDash) {
    const flag = KNOWN_FLAGS.includes(oneDash) ? oneDash : suggestFlag(oneDash);
    return `-${oneDash} has one dash: long options take two${flag ? `, --${flag}` : ` (--${oneDash})`}.`;
  }
  // yargs lists each unknown flag twice, as typed and camel-cased: the typed one is enough.
  const all = m[1]!.split(', ');
  const names = all.filter((n) => !/[A-Z]/.test(n) || !all.includes(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)));
  const parts = names.map((n) => {
    const flag = suggestFlag(n);
    // yargs names --no-x as x: show the flag as typed.
    const shown = n.length === 1 ? `-${n}` : args.some((x) => x === `--no-${n}` || x.startsWith(`--no-${n}=`)) ? `--no-${n}` : `--${n}`;
    // A bare word is a stray positional (an unquoted value with a space, say), not a misspelled flag.
    return args.includes(n) ? `unexpected argument ${JSON.stringify(n)} (quote a value that contains spaces)` : `Unknown argument ${shown}${flag ? ` (did you mean --${flag}?)` : ''}`;
  });
  return `${parts.join('; ')}.`;
}

/** A flag's value as typed, checked: a number flag gets a number, and no flag is given twice. */
export function coerceOption(spec: Pick<OptionSpec, 'flag' | 'type'>): (value: unknown) => unknown {
  return (value) => {
    if (Array.isArray(value)) {
      if (spec.type === 'list') throw new UsageError(`--${spec.flag} is given twice (${value.map((v) => JSON.stringify(String(v))).join(' and ')}): give the labels once, comma-separated.`);
      throw new UsageError(`--${spec.flag} is given twice (${value.map((v) => JSON.stringify(String(v))).join(' and ')}): give it once.`);
    }
    if (spec.type !== 'number') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (value === true || value === '') throw new UsageError(`--${spec.flag} needs a number after it, e.g. --${spec.flag} 4.`);
    throw new UsageError(`--${spec.flag} must be a number, got ${JSON.stringify(String(value))}.`);
  };
}
