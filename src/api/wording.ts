/**
 * Messages as a caller of the library reads them. Errors and notices name settings the way the command
 * line spells them (`--text-column`), which is where most people meet them; the functions src/index.ts
 * exports reword each flag of a setting into the option it is for (`textColumn`, `cache: false`), in
 * thrown errors and notices alike, so a caller of label() is told about its own options. Commands quoted
 * in backticks (`batchlabel run --restart`) are left as they are: they are commands to run.
 */
import { BatchlabelError } from '../errors.js';
import { JOB_OPTIONS } from '../job/options.js';

/** Settings that are options of the library's functions besides the job's own (RunControl, exportJob, plan). */
const OTHER_OPTIONS = ['restart', 'retryFailed', 'job', 'partial', 'shards', 'probe', 'outputFormat', 'outputEncoding'];
const OPTIONS = new Set<string>([...JOB_OPTIONS.map((o) => o.key), ...OTHER_OPTIONS]);

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A `--flag` (or `--no-flag`) of a setting as the option it is; anything else as it was. */
function asOption(flag: string): string | undefined {
  const key = camel(flag);
  if (OPTIONS.has(key)) return `\`${key}\``;
  if (flag.startsWith('no-') && OPTIONS.has(camel(flag.slice(3)))) return `\`${camel(flag.slice(3))}: false\``;
  return undefined;
}

/** The message with the flags outside backtick spans reworded as options. */
export function optionWording(message: string): string {
  return message
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/--([a-z][a-z0-9-]*)/g, (whole, flag: string) => asOption(flag) ?? whole)))
    .join('');
}

/** The error with its message reworded (the same object: its class, code and cause are the caller's to switch on). */
function reworded(err: unknown): unknown {
  if (err instanceof BatchlabelError) err.message = optionWording(err.message);
  return err;
}

/** An options or hooks object whose onNotice hears reworded notices. */
function withNotices<T>(arg: T): T {
  if (arg === null || typeof arg !== 'object' || typeof (arg as { onNotice?: unknown }).onNotice !== 'function') return arg;
  const onNotice = (arg as unknown as { onNotice(message: string): void }).onNotice;
  return { ...arg, onNotice: (message: string) => onNotice.call(arg, optionWording(message)) };
}

/** `fn` as the library exports it: its errors and notices worded for a caller of the library. */
export function libraryWording<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...(args.map(withNotices) as A));
    } catch (err) {
      throw reworded(err);
    }
  };
}
