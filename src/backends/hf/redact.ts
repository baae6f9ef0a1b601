/** Secrets never reach a message: the job's token, and anything shaped like a Hugging Face token. */

const HF_TOKEN_SHAPE = /\bhf_[A-Za-z0-9]{8,}\b/g;

export function createRedactor(token: string | undefined): (text: string) => string {
  return (text) => {
    let out = token ? text.split(token).join('[redacted]') : text;
    out = out.replace(HF_TOKEN_SHAPE, '[redacted]');
    return out.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
  };
}
