import path from 'node:path';
import { shellQuote } from './format.js';

/**
 * The command as the user started it, for hints to paste back: `npx batchlabel` under npx (npm sets
 * npm_command=exec), `node <script>` when the script was run by its path, else `batchlabel` (the installed
 * command, whose link is named so). A hint saying `batchlabel` to someone without it installed is
 * "command not found".
 */
export function invokedAs(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string {
  if (env.npm_command === 'exec') return 'npx batchlabel';
  const script = argv[1];
  if (!script || path.basename(script) === 'batchlabel') return 'batchlabel';
  const rel = path.relative(process.cwd(), script);
  return `node ${shellQuote(rel && !rel.startsWith('..') ? rel : script)}`;
}

/** A message's `batchlabel …` hints (library messages name the installed command) as this command. */
export function asInvoked(message: string, command = invokedAs()): string {
  return command === 'batchlabel' ? message : message.replace(/`batchlabel /g, `\`${command} `);
}
