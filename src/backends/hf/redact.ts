/**
 * Every message that may reach the user passes through here: one line (server and OpenSSL messages carry
 * newlines), and no secrets: the job's token and any other credential it sends, anything shaped like a
 * Hugging Face token, any bearer or basic credential, and credentials inside URLs (userinfo, `?token=…`).
 * Redact a text before cutting it short: a secret cut in half no longer matches.
 */
import { redactUrlsIn } from '../../core/redact-url.js';

const HF_TOKEN_SHAPE = /\bhf_[A-Za-z0-9]{8,}\b/g;

export function createRedactor(token: string | undefined, otherSecrets: readonly string[] = []): (text: string) => string {
  const secrets = [token, ...otherSecrets].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return (text) => {
    let out = text;
    for (const s of secrets) out = out.split(s).join('[redacted]');
    out = redactUrlsIn(out).replace(HF_TOKEN_SHAPE, '[redacted]').replace(/Bearer\s+\S+/gi, 'Bearer [redacted]').replace(/\bBasic\s+[A-Za-z0-9+/=]{8,}/g, 'Basic [redacted]');
    return out.replace(/\s+/g, ' ').trim();
  };
}
