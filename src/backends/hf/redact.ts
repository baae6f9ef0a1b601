/**
 * Every message that may reach the user passes through here: one line (server and OpenSSL messages carry
 * newlines), and no secrets: the job's token, anything shaped like a Hugging Face token, any bearer credential.
 */

const HF_TOKEN_SHAPE = /\bhf_[A-Za-z0-9]{8,}\b/g;

export function createRedactor(token: string | undefined): (text: string) => string {
  return (text) => {
    let out = token ? text.split(token).join('[redacted]') : text;
    out = out.replace(HF_TOKEN_SHAPE, '[redacted]').replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
    return out.replace(/\s+/g, ' ').trim();
  };
}
