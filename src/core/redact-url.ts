/**
 * Credentials users put in URLs (`http://user:pass@host/…`, `?api_key=…`, a presigned `X-Amz-Signature`),
 * hidden for anything printed or stored for display. The rest of the URL is kept as written, character for
 * character: a URL without secrets comes back unchanged, so stored forms stay comparable across versions.
 */

/** Query parameter names whose value is a credential (matched anywhere in the name, any case). */
const SECRET_PARAM = /key|token|sig|secret|password|passwd|pwd|auth|credential|session|code/i;

export const REDACTED = '[redacted]';

/** `scheme://userinfo@` */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/i;

/** The URL with its userinfo and secret-looking query values replaced by [redacted]. */
export function redactUrl(url: string): string {
  let out = url.replace(USERINFO, `$1${REDACTED}@`);
  const q = out.indexOf('?');
  if (q < 0) return out;
  const hash = out.indexOf('#', q);
  const end = hash < 0 ? out.length : hash;
  const query = out
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_PARAM.test(decodeName(name)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  out = `${out.slice(0, q + 1)}${query}${out.slice(end)}`;
  return out;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** Whether the URL carries anything redactUrl hides. */
export function urlHasSecrets(url: string): boolean {
  return redactUrl(url) !== url;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Every URL inside a text (a message, a command line) redacted. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
