import type { ProgressSink } from '../core/types.js';

/** Download progress on the CLI's stderr; redrawn in place on a terminal. */
export const stderrSink: ProgressSink = {
  write: (text) => void process.stderr.write(text),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};
