/**
 * Errors a user can cause carry a stable `code` and the process exit code they map to; the CLI prints
 * their message as one line. Anything that is not a BatchlabelError is a bug and keeps its stack.
 */
export const ExitCode = {
  ok: 0,
  fatal: 1,
  usage: 2,
  someRowsFailed: 4,
  interrupted: 130,
} as const;

export class BatchlabelError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(message: string, code = 'E_BATCHLABEL', exitCode: number = ExitCode.fatal) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Wrong flags or flag combinations (exit 2). */
export class UsageError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_USAGE', ExitCode.usage);
  }
}

/** A job file that cannot be read or does not validate. */
export class JobFileError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_JOB_FILE');
  }
}

/** The input file cannot be read or parsed as a whole (a single bad row is not this: it is a failed row). */
export class InputError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_INPUT');
  }
}

/** The checkpoint belongs to another input or other settings, or is not a batchlabel checkpoint. */
export class CheckpointError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_CHECKPOINT');
  }
}

/** Export cannot be written as asked (column clash, unfinished job without --partial). */
export class ExportError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_EXPORT');
  }
}

/**
 * The backend can never succeed as configured: bad credentials, no credits, unknown model, endpoint gone,
 * model files missing. The run stops at once, the checkpoint stays valid and resumable.
 */
export class BackendFatalError extends BatchlabelError {
  constructor(message: string, code = 'E_BACKEND') {
    super(message, code);
  }
}

/** Raised inside the pipeline when the user interrupted (SIGINT/SIGTERM). */
export class InterruptedError extends BatchlabelError {
  constructor(message = 'interrupted') {
    super(message, 'E_INTERRUPTED', ExitCode.interrupted);
  }
}
