/**
 * The Hugging Face environment variables, read the way huggingface_hub reads them, so that batchlabel and
 * Python share one cache and one set of switches.
 */
import os from 'node:os';
import path from 'node:path';

export interface HubEnv {
  /** Root of the model cache (the folder that holds `models--org--name`). */
  cacheDir: string;
  /** Base URL files are resolved against, without a trailing slash. */
  endpoint: string;
  /** Bearer token, if any. Never put it in a message or a log line. */
  token?: string;
  /** HF_HUB_OFFLINE: never touch the network. */
  offline: boolean;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** huggingface_hub's `_is_true`: these spellings switch a flag on, anything else leaves it off. */
export function isTrueEnv(value: string | undefined): boolean {
  return value !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(value.trim().toUpperCase());
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v : undefined);
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit) return path.resolve(expandHome(explicit));
  const home = nonEmpty(env.HF_HOME);
  if (home) return path.resolve(expandHome(home), 'hub');
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return path.resolve(xdg ? expandHome(xdg) : path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

export function readHubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const endpoint = (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const token = env.HF_TOKEN?.trim() || undefined;
  return { cacheDir: hubCacheDir(env), endpoint, token, offline: isTrueEnv(env.HF_HUB_OFFLINE) };
}
