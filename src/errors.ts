/**
 * Errors a user can cause carry a stable `code` (one of ErrorCode) and the process exit code they map to;
 * the CLI prints their message as one line. Anything that is not a BatchlabelError is a bug and keeps its
 * stack.
 */
export const ExitCode = {
  ok: 0,
  fatal: 1,
  usage: 2,
  someRowsFailed: 4,
  interrupted: 130,
} as const;

/** Every code a BatchlabelError can carry. Stable: scripts and library callers may switch on them. */
export const ErrorCode = {
  generic: 'E_BATCHLABEL',
  usage: 'E_USAGE',
  jobFile: 'E_JOB_FILE',
  input: 'E_INPUT',
  checkpoint: 'E_CHECKPOINT',
  export: 'E_EXPORT',
  interrupted: 'E_INTERRUPTED',
  /** A backend failure with no more specific code. */
  backend: 'E_BACKEND',
  /** 401/403 from the inference API: the token is missing, invalid or lacks permission. */
  auth: 'E_AUTH',
  /** 402: no credits left. */
  credits: 'E_CREDITS',
  /** The endpoint cannot serve this job (404 model, 405, wrong task, bad URL). */
  endpoint: 'E_ENDPOINT',
  /** 410: the endpoint is retired (api-inference.huggingface.co). */
  endpointGone: 'E_ENDPOINT_GONE',
  /** The endpoint could not be reached at all. */
  connect: 'E_CONNECT',
  /** Nothing succeeded for a while (the circuit breaker): the server is down, broken or refusing everything. */
  backendDown: 'E_BACKEND_DOWN',
  /** The model stayed cold longer than the loading budget. */
  modelLoading: 'E_MODEL_LOADING',
  /** Offline (HF_HUB_OFFLINE) and the model or one of its files is not in the cache. */
  modelOffline: 'E_MODEL_OFFLINE',
  /** The repository, revision or a required file does not exist; or a local folder is missing. */
  modelNotFound: 'E_MODEL_NOT_FOUND',
  /** Model files present but unusable (not ONNX, wrong inputs, an LFS pointer). */
  modelFiles: 'E_MODEL_FILES',
  /** onnxruntime could not load the model. */
  onnxLoad: 'E_ONNX_LOAD',
  /** --device cuda without a usable CUDA build or GPU. */
  cudaUnavailable: 'E_CUDA_UNAVAILABLE',
  /** The tokenizer threads failed. */
  tokenizer: 'E_TOKENIZER',
  /** 401/403 from the Hub: bad token, private or gated repository. */
  hubAuth: 'E_HUB_AUTH',
  /** The Hub could not be reached, or kept failing after retries. */
  hubNetwork: 'E_HUB_NETWORK',
  /** The server answered, but not like the Hub. */
  hubResponse: 'E_HUB_RESPONSE',
  /** The Hub cache folder cannot be written. */
  hubCache: 'E_HUB_CACHE',
  /** Uploading the export to the Hub failed. */
  push: 'E_PUSH',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorOptions {
  /** The underlying error (a system error, an HTTP answer), for callers that want it; never printed. */
  cause?: unknown;
}

export class BatchlabelError extends Error {
  readonly code: ErrorCodeValue;
  readonly exitCode: number;
  /** Set when the error stopped a run: the checkpoint that keeps its finished rows, for a resume. */
  checkpoint?: { path: string; finishedRows: number };
  constructor(message: string, code: ErrorCodeValue = ErrorCode.generic, exitCode: number = ExitCode.fatal, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Wrong flags or flag combinations (exit 2). */
export class UsageError extends BatchlabelError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.usage, ExitCode.usage, options);
  }
}

/** A job file that cannot be read or does not validate. */
export class JobFileError extends BatchlabelError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.jobFile, ExitCode.fatal, options);
  }
}

/** The input file cannot be read or parsed as a whole (a single bad row is not this: it is a failed row). */
export class InputError extends BatchlabelError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.input, ExitCode.fatal, options);
  }
}

/** The checkpoint belongs to another input or other settings, or is not a batchlabel checkpoint. */
export class CheckpointError extends BatchlabelError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.checkpoint, ExitCode.fatal, options);
  }
}

/** Export cannot be written as asked (column clash, unfinished job without --partial). */
export class ExportError extends BatchlabelError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCode.export, ExitCode.fatal, options);
  }
}

/**
 * The backend can never succeed as configured: bad credentials, no credits, unknown model, endpoint gone,
 * model files missing. The run stops at once, the checkpoint stays valid and resumable.
 */
export class BackendFatalError extends BatchlabelError {
  constructor(message: string, code: ErrorCodeValue = ErrorCode.backend, options?: ErrorOptions) {
    super(message, code, ExitCode.fatal, options);
  }
}

/** Raised inside the pipeline when the user interrupted (SIGINT/SIGTERM). */
export class InterruptedError extends BatchlabelError {
  constructor(message = 'interrupted') {
    super(message, ErrorCode.interrupted, ExitCode.interrupted);
  }
}
