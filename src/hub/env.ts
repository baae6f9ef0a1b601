/**
 * The Hugging Face environment variables, read the way huggingface_hub reads them, so that batchlabel and
 * Python share one cache and one set of switches.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandHome } from '../core/fs.js';

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

/**
 * huggingface_hub's HF_HOME: `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `<home>/.cache/huggingface`
 * (undefined without a home). The hub cache and the login token both live under it.
 */
function hfHomeDir(hfHome: string | undefined, xdg: string | undefined, home: string | undefined): string | undefined {
  if (hfHome) return path.resolve(expandHome(hfHome, home));
  if (xdg) return path.resolve(expandHome(xdg, home), 'huggingface');
  return home !== undefined ? path.join(home, '.cache', 'huggingface') : undefined;
}

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v : undefined);
  const home = os.homedir();
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit) return path.resolve(expandHome(explicit, home));
  return path.join(hfHomeDir(nonEmpty(env.HF_HOME), nonEmpty(env.XDG_CACHE_HOME), home)!, 'hub');
}

/**
 * Where `huggingface-cli login` (`hf auth login`) keeps the token: `$HF_TOKEN_PATH`, else `$HF_HOME/token`,
 * else `$XDG_CACHE_HOME/huggingface/token`, else `$HOME/.cache/huggingface/token`. Read from `env` alone
 * (HOME included), so an environment without HOME, like a test's, has no token file.
 */
export function tokenFilePath(env: NodeJS.ProcessEnv): string | undefined {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  const home = nonEmpty(env.HOME);
  const explicit = nonEmpty(env.HF_TOKEN_PATH);
  if (explicit) return path.resolve(expandHome(explicit, home));
  const dir = hfHomeDir(nonEmpty(env.HF_HOME), nonEmpty(env.XDG_CACHE_HOME), home);
  return dir && path.join(dir, 'token');
}

/** `HF_TOKEN`, else the login token file, as huggingface_hub's get_token(); where it came from, for messages. */
export function readHfToken(env: NodeJS.ProcessEnv): { token: string; source: string } | undefined {
  const fromEnv = env.HF_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'HF_TOKEN' };
  const file = tokenFilePath(env);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // no login on this machine: the usual case
  }
  const token = text.trim();
  return token ? { token, source: `the token file ${file}` } : undefined;
}

export function readHubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const endpoint = (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const token = readHfToken(env)?.token;
  return { cacheDir: hubCacheDir(env), endpoint, token, offline: isTrueEnv(env.HF_HUB_OFFLINE) };
}
