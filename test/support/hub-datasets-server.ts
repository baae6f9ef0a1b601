/**
 * A loopback server that answers like the Hugging Face Hub for dataset repositories: resolve (HEAD/GET,
 * X-Repo-Commit, ETags, a redirect to a second host for the bytes), the tree API with pagination, the
 * Parquet conversion listing, and the upload side (repo creation, preupload, LFS batch, NDJSON commits).
 * The "CDN" is a second server reached as `localhost` while the Hub is `127.0.0.1`: two origins, so a
 * token that followed a redirect would show in its request log.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rangeStart } from './onnx-models.js';

export interface RepoRevision {
  commit: string;
  files: Map<string, Buffer>;
}

export interface DatasetRepo {
  /** Revision name (main, refs/convert/parquet, ...) → its snapshot. */
  revisions: Map<string, RepoRevision>;
  gated?: boolean;
  private?: boolean;
}

export interface HubLogEntry {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface CommitRecord {
  repoId: string;
  revision: string;
  summary: string;
  files: { path: string; kind: 'file' | 'lfsFile' }[];
}

export interface DatasetHubOptions {
  token?: string;
  /** Serve file bytes from the second host (a 302 from resolve, as the Hub does for LFS files). */
  cdn?: boolean;
  /** Repository paths whose next N downloads stop half way (the connection destroyed). */
  dropDownloads?: Map<string, number>;
  /** Tree API page size (a Link header points at the next page). */
  pageSize?: number;
  /** Files from this size on are uploaded through LFS. */
  lfsThreshold?: number;
  /** LFS files larger than this are uploaded in parts of this size (the Hub's multipart transfer). */
  multipartChunk?: number;
}

export interface DatasetHub {
  url: string;
  cdnUrl: string;
  repos: Map<string, DatasetRepo>;
  requests: HubLogEntry[];
  cdnRequests: HubLogEntry[];
  commits: CommitRecord[];
  created: { name: string; private: boolean; type: string }[];
  options: DatasetHubOptions;
  close(): Promise<void>;
}

export function commitHash(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function revision(seed: string, files: Record<string, Buffer>): RepoRevision {
  return { commit: commitHash(seed), files: new Map(Object.entries(files)) };
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function json(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

export async function startDatasetHub(repos: Map<string, DatasetRepo>, options: DatasetHubOptions = {}): Promise<DatasetHub> {
  const requests: HubLogEntry[] = [];
  const cdnRequests: HubLogEntry[] = [];
  const commits: CommitRecord[] = [];
  const created: DatasetHub['created'] = [];
  const lfs = new Map<string, Buffer>();
  /** Parts of multipart uploads by `<oid>/<part number>`. */
  const parts = new Map<string, { bytes: Buffer; etag: string }>();
  const blobs = new Map<string, Buffer>(); // sha256 → bytes, for the CDN
  let url = '';
  let cdnUrl = '';

  const authorized = (req: http.IncomingMessage) => options.token !== undefined && req.headers.authorization === `Bearer ${options.token}`;
  /** The Hub's refusals: a gated repo says so; a private or unknown one is "not found". */
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, repo: DatasetRepo | undefined): boolean => {
    if (!repo) {
      json(res, 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      return true;
    }
    if ((repo.gated || repo.private) && !authorized(req)) {
      if (repo.gated) json(res, 401, { error: 'Access to this dataset is restricted.' }, { 'x-error-code': 'GatedRepo' });
      else json(res, 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      return true;
    }
    return false;
  };

  const hub = http.createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url!, url);
    const p = u.pathname;
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/))) {
      const repo = repos.get(m[1]!);
      if (refuse(req, res, repo)) return;
      const rev = decodeURIComponent(m[2]!);
      const snap = [...repo!.revisions.entries()].find(([name, r]) => name === rev || r.commit === rev)?.[1];
      if (!snap) return json(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      const repoPath = m[3]!.split('/').map(decodeURIComponent).join('/');
      const bytes = snap.files.get(repoPath);
      if (!bytes) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': snap.commit });
      const oid = sha256(bytes);
      blobs.set(oid, bytes);
      const headers = { 'x-repo-commit': snap.commit, 'x-linked-etag': `"${oid}"`, 'x-linked-size': String(bytes.length), etag: `"${oid}"` };
      if (options.cdn) {
        res.writeHead(302, { ...headers, location: `${cdnUrl}/blobs/${oid}?path=${encodeURIComponent(repoPath)}` });
        return void res.end();
      }
      return sendBytes(req, res, bytes, repoPath, headers);
    }
    if ((m = p.match(/^\/api\/datasets\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/))) {
      const repo = repos.get(m[1]!);
      if (refuse(req, res, repo)) return;
      const snap = repo!.revisions.get(decodeURIComponent(m[2]!));
      if (!snap) return json(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      const dir = (m[3] ?? '').split('/').filter(Boolean).map(decodeURIComponent).join('/');
      const all = [...snap.files.entries()].filter(([f]) => !dir || f.startsWith(`${dir}/`)).sort(([a], [b]) => a.localeCompare(b));
      if (dir && all.length === 0) return json(res, 404, { error: 'not found' }, { 'x-error-code': 'EntryNotFound' });
      const size = options.pageSize ?? 1000;
      const start = Number(u.searchParams.get('cursor') ?? 0);
      const page = all.slice(start, start + size).map(([path, b]) => ({ type: 'file', path, size: b.length, oid: commitHash(path), lfs: { oid: sha256(b), size: b.length } }));
      const headers: Record<string, string> = {};
      if (start + size < all.length) {
        const next = new URL(u);
        next.searchParams.set('cursor', String(start + size));
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return json(res, 200, page, headers);
    }
    if ((m = p.match(/^\/api\/datasets\/([^/]+\/[^/]+)\/parquet(?:\/([^/]+)\/([^/]+))?$/))) {
      const repo = repos.get(m[1]!);
      if (refuse(req, res, repo)) return;
      const snap = repo!.revisions.get('refs/convert/parquet');
      const listing: Record<string, Record<string, string[]>> = {};
      for (const f of [...(snap?.files.keys() ?? [])].sort()) {
        const [config, split, name] = f.split('/');
        if (!config || !split || !name) continue;
        ((listing[config] ??= {})[split] ??= []).push(`${url}/api/datasets/${m[1]}/parquet/${config}/${split}/${Number(name.split('.')[0])}.parquet`);
      }
      if (!m[2]) return json(res, 200, listing);
      const urls = listing[decodeURIComponent(m[2])]?.[decodeURIComponent(m[3]!)];
      return urls ? json(res, 200, urls) : json(res, 404, { error: 'Not found' });
    }
    if (p === '/api/repos/create' && req.method === 'POST') {
      if (!authorized(req)) return json(res, 401, { error: 'Invalid credentials' });
      const b = JSON.parse((await body(req)).toString()) as { name: string; organization?: string; type: string; private?: boolean };
      const id = b.organization ? `${b.organization}/${b.name}` : b.name;
      created.push({ name: id, private: b.private === true, type: b.type });
      if (repos.has(id)) return json(res, 409, { error: 'You already created this dataset repo', url: `${url}/datasets/${id}` });
      repos.set(id, { revisions: new Map([['main', revision(`${id}@init`, { '.gitattributes': Buffer.from('*.parquet filter=lfs diff=lfs merge=lfs -text\n') })]]), private: b.private === true });
      return json(res, 200, { url: `${url}/datasets/${id}`, name: id });
    }
    if ((m = p.match(/^\/api\/datasets\/([^/]+\/[^/]+)\/preupload\/([^/]+)$/)) && req.method === 'POST') {
      if (!authorized(req)) return json(res, 401, { error: 'Invalid credentials' });
      if (!repos.has(m[1]!)) return json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      const b = JSON.parse((await body(req)).toString()) as { files: { path: string; size: number; sample: string }[] };
      const threshold = options.lfsThreshold ?? 10 * 1024 * 1024;
      return json(res, 200, { files: b.files.map((f) => ({ path: f.path, uploadMode: f.size >= threshold || f.path.endsWith('.parquet') ? 'lfs' : 'regular', shouldIgnore: false })) });
    }
    if ((m = p.match(/^\/datasets\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/)) && req.method === 'POST') {
      if (!authorized(req)) return json(res, 401, { message: 'Invalid credentials' });
      const b = JSON.parse((await body(req)).toString()) as { operation: string; transfers?: string[]; objects: { oid: string; size: number }[] };
      const chunk = options.multipartChunk;
      const inParts = (size: number) => chunk !== undefined && size > chunk && (b.transfers ?? []).includes('multipart');
      const upload = (o: { oid: string; size: number }) =>
        inParts(o.size)
          ? { href: `${url}/lfs-complete/${o.oid}`, header: { chunk_size: String(chunk), ...Object.fromEntries(Array.from({ length: Math.ceil(o.size / chunk!) }, (_, i) => [String(i + 1).padStart(5, '0'), `${cdnUrl}/lfs-part/${o.oid}/${i + 1}?sig=signed`])) } }
          : { href: `${cdnUrl}/lfs/${o.oid}`, header: { 'x-upload-sig': 'signed' } };
      res.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json' });
      return void res.end(JSON.stringify({
        transfer: b.objects.some((o) => inParts(o.size)) ? 'multipart' : 'basic',
        objects: b.objects.map((o) => (lfs.has(o.oid) ? { oid: o.oid, size: o.size } : { oid: o.oid, size: o.size, actions: { upload: upload(o) } })),
      }));
    }
    if ((m = p.match(/^\/lfs-complete\/([0-9a-f]{64})$/)) && req.method === 'POST') {
      const b = JSON.parse((await body(req)).toString()) as { oid: string; parts: { partNumber: number; etag: string }[] };
      const stored = b.parts.map((part) => parts.get(`${m![1]}/${part.partNumber}`));
      if (b.oid !== m[1] || stored.some((x, i) => !x || x.etag !== b.parts[i]!.etag || b.parts[i]!.partNumber !== i + 1)) return json(res, 400, { error: 'parts do not match' });
      const whole = Buffer.concat(stored.map((x) => x!.bytes));
      if (sha256(whole) !== m[1]) return json(res, 400, { error: 'sha256 mismatch' });
      lfs.set(m[1]!, whole);
      return json(res, 200, {});
    }
    if ((m = p.match(/^\/api\/datasets\/([^/]+\/[^/]+)\/commit\/([^/]+)$/)) && req.method === 'POST') {
      if (!authorized(req)) return json(res, 401, { error: 'Invalid credentials' });
      const repo = repos.get(m[1]!);
      if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      if (req.headers['content-type'] !== 'application/x-ndjson') return json(res, 400, { error: 'expected application/x-ndjson' });
      const rev = decodeURIComponent(m[2]!);
      const parent = repo.revisions.get(rev);
      if (!parent) return json(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      const lines = (await body(req)).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
      const header = lines.find((l) => l.key === 'header');
      if (!header || typeof header.value.summary !== 'string') return json(res, 400, { error: 'missing header' });
      const files = new Map(parent.files);
      const record: CommitRecord = { repoId: m[1]!, revision: rev, summary: header.value.summary, files: [] };
      for (const l of lines) {
        if (l.key === 'file') {
          if (l.value.encoding !== 'base64') return json(res, 400, { error: 'unknown encoding' });
          files.set(l.value.path as string, Buffer.from(l.value.content as string, 'base64'));
          record.files.push({ path: l.value.path as string, kind: 'file' });
        } else if (l.key === 'lfsFile') {
          const bytes = lfs.get(l.value.oid as string);
          if (!bytes || l.value.algo !== 'sha256' || bytes.length !== l.value.size) return json(res, 422, { error: `LFS object ${String(l.value.oid)} was never uploaded` });
          files.set(l.value.path as string, bytes);
          record.files.push({ path: l.value.path as string, kind: 'lfsFile' });
        } else if (l.key !== 'header') return json(res, 400, { error: `unknown key ${l.key}` });
      }
      const commit = commitHash(`${parent.commit}+${commits.length}`);
      repo.revisions.set(rev, { commit, files });
      commits.push(record);
      return json(res, 200, { commitOid: commit, commitUrl: `${url}/datasets/${m[1]}/commit/${commit}`, success: true });
    }
    json(res, 404, { error: `no route ${req.method} ${p}` });
  }

  function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, whole: Buffer, repoPath: string, headers: Record<string, string>): void {
    // A Range is answered from the first byte asked for (206), as the Hub, S3 and CloudFront do.
    const from = req.method === 'GET' ? rangeStart(req.headers.range, whole.length) : 0;
    const bytes = whole.subarray(from);
    const range = from > 0 ? { 'content-range': `bytes ${from}-${whole.length - 1}/${whole.length}` } : {};
    res.writeHead(from > 0 ? 206 : 200, { ...headers, ...range, 'content-length': String(bytes.length), 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    const drops = options.dropDownloads?.get(repoPath) ?? 0;
    if (drops > 0) {
      options.dropDownloads!.set(repoPath, drops - 1);
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(bytes);
  }

  const cdn = http.createServer((req, res) => {
    cdnRequests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
    const u = new URL(req.url!, cdnUrl);
    let m: RegExpMatchArray | null;
    if ((m = u.pathname.match(/^\/blobs\/([0-9a-f]{64})$/)) && (req.method === 'GET' || req.method === 'HEAD')) {
      const bytes = blobs.get(m[1]!);
      if (!bytes) return json(res, 404, { error: 'no blob' });
      return sendBytes(req, res, bytes, u.searchParams.get('path') ?? '', {});
    }
    if ((m = u.pathname.match(/^\/lfs-part\/([0-9a-f]{64})\/(\d+)$/)) && req.method === 'PUT') {
      void body(req).then((b) => {
        const etag = `"${createHash('md5').update(b).digest('hex')}"`;
        parts.set(`${m![1]}/${m![2]}`, { bytes: b, etag });
        res.writeHead(200, { etag });
        res.end();
      });
      return;
    }
    if ((m = u.pathname.match(/^\/lfs\/([0-9a-f]{64})$/)) && req.method === 'PUT') {
      void body(req).then((b) => {
        if (sha256(b) !== m![1]) return json(res, 400, { error: 'sha256 mismatch' });
        lfs.set(m![1]!, b);
        res.writeHead(200);
        res.end();
      });
      return;
    }
    json(res, 404, { error: 'no route' });
  });

  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  cdnUrl = `http://localhost:${(cdn.address() as AddressInfo).port}`;
  return {
    url,
    cdnUrl,
    repos,
    requests,
    cdnRequests,
    commits,
    created,
    options,
    async close() {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}
