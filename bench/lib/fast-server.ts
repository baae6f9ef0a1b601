/**
 * A loopback server that answers instantly in the Hugging Face text-classification format, as cheaply as
 * it can, so that it is never what limits a benchmark: raw TCP with a minimal HTTP/1.1 keep-alive parser
 * (no node:http), the request body JSON-parsed only to count its texts, answers prebuilt per batch size.
 * It keeps counters, not a request log, so it can serve millions of requests in constant memory.
 *
 * Run as its own process (`node dist/bench/lib/fast-server.js`) so the client under test and the server do
 * not share an event loop; it prints `listening <port>` and answers `{"type":"stats"}` IPC messages.
 * Binds 127.0.0.1 only.
 */
import net from 'node:net';

const ONE = [
  { label: 'POSITIVE', score: 0.9731 },
  { label: 'NEGATIVE', score: 0.0269 },
];
const ONE_JSON = JSON.stringify(ONE);
const answers = new Map<number, Buffer>();

function answer(n: number, single: boolean): Buffer {
  const key = single ? 0 : n;
  let a = answers.get(key);
  if (!a) {
    // One text: the router's shape, the list wrapped once more; n texts: one list per text.
    const body = single ? `[${ONE_JSON}]` : `[${Array(n).fill(ONE_JSON).join(',')}]`;
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\n`;
    a = Buffer.from(head + body);
    answers.set(key, a);
  }
  return a;
}

function error(status: number, message: string): Buffer {
  const body = JSON.stringify({ error: message });
  return Buffer.from(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`);
}

const stats = { requests: 0, texts: 0, errors: 0, connections: 0 };
const CRLF2 = Buffer.from('\r\n\r\n');

const server = net.createServer((socket) => {
  stats.connections++;
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const replies: Buffer[] = [];
    for (;;) {
      const headEnd = buf.indexOf(CRLF2);
      if (headEnd < 0) break;
      const head = buf.toString('latin1', 0, headEnd);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) {
        if (/\r\ntransfer-encoding:/i.test(head)) {
          replies.push(error(411, 'length required'));
          stats.errors++;
          socket.end(Buffer.concat(replies));
          return;
        }
      }
      const length = m ? Number(m[1]) : 0;
      const total = headEnd + 4 + length;
      if (buf.length < total) break;
      const body = buf.toString('utf8', headEnd + 4, total);
      buf = buf.subarray(total);
      stats.requests++;
      let inputs: unknown;
      try {
        inputs = (JSON.parse(body) as { inputs?: unknown }).inputs;
      } catch {
        inputs = undefined;
      }
      if (typeof inputs === 'string') {
        stats.texts++;
        replies.push(answer(1, true));
      } else if (Array.isArray(inputs) && inputs.length > 0) {
        stats.texts += inputs.length;
        replies.push(answer(inputs.length, false));
      } else {
        stats.errors++;
        replies.push(error(400, 'Input should be a valid string'));
      }
    }
    if (replies.length === 1) socket.write(replies[0]!);
    else if (replies.length > 1) socket.write(Buffer.concat(replies));
    if (buf.length === 0) buf = Buffer.alloc(0);
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`listening ${addr.port}\n`);
});

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'stats') process.send?.({ type: 'stats', ...stats });
  if (msg?.type === 'reset') {
    stats.requests = 0;
    stats.texts = 0;
    stats.errors = 0;
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
