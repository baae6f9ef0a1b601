/**
 * Stable codes for everything that can go wrong while finding a model. All are BackendFatalError: the run
 * cannot start without the model, and the message is the one line the user sees.
 */
import { BackendFatalError } from '../errors.js';

export const HubErrorCode = {
  /** Offline (HF_HUB_OFFLINE) and the model or one of its files is not in the cache. */
  offline: 'E_MODEL_OFFLINE',
  /** The repository, revision or a required file does not exist; or a local folder is missing. */
  notFound: 'E_MODEL_NOT_FOUND',
  /** 401/403: bad token, private or gated repository. */
  auth: 'E_HUB_AUTH',
  /** The Hub could not be reached, or kept failing (5xx, 429, resets) after retries. */
  network: 'E_HUB_NETWORK',
  /** The server answered, but not like the Hub (no commit or ETag headers, wrong size). */
  response: 'E_HUB_RESPONSE',
  /** The cache folder cannot be written. */
  cache: 'E_HUB_CACHE',
} as const;

/** A network-level failure: resolution falls back to a cached snapshot when it sees this. */
export class HubNetworkError extends BackendFatalError {
  constructor(message: string) {
    super(message, HubErrorCode.network);
  }
}

/** The Hub says the file is not in the repository at that revision (HTTP 404, EntryNotFound). */
export class EntryNotFoundError extends BackendFatalError {
  readonly commit: string | undefined;
  constructor(message: string, commit: string | undefined) {
    super(message, HubErrorCode.notFound);
    this.commit = commit;
  }
}
