import path from 'node:path';
import { shellQuote } from './format.js';

/**
 * The command as the user started it, for hints to paste back: `npx batchlabel` under npx (npm sets
 * npm_command=exec), `node <script>` when the script was run by its path, else `batchlabel` (the installed
 * command, whose link is named so). The launcher (bin/batchlabel) says what it was started as in
 * BATCHLABEL_LAUNCHER. A hint saying `batchlabel` to someone without it installed is "command not found".
 */
export function invokedAs(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string {
  if (env.npm_command === 'exec') return 'npx batchlabel';
  const launcher = env.BATCHLABEL_LAUNCHER;
  if (launcher) {
    const onPath = (env.PATH ?? '').split(path.delimiter).some((dir) => dir && path.resolve(dir) === path.resolve(path.dirname(launcher)));
    return onPath && path.basename(launcher) === 'batchlabel' ? 'batchlabel' : shellQuote(byPath(launcher));
  }
  const script = argv[1];
  if (!script || path.basename(script) === 'batchlabel') return 'batchlabel';
  return `node ${shellQuote(byPath(script))}`;
}

/** A file as the user can name it from here: relative inside the working directory (with a slash, so a shell runs it), else absolute. */
function byPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return path.resolve(file);
  return rel.includes(path.sep) ? rel : `.${path.sep}${rel}`;
}

/** A message's `batchlabel …` hints (library messages name the installed command) as this command. */
export function asInvoked(message: string, command = invokedAs()): string {
  return command === 'batchlabel' ? message : message.replace(/`batchlabel /g, `\`${command} `);
}
