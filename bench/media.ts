/**
 * Media throughput: upload (resumable chunks + completion hash check) and
 * download of a 200 MiB blob through the server, to each blob store adapter
 * (filesystem; S3 via a local s3rver), with the server in a child process so
 * its peak RSS (VmHWM) shows whether it streams or buffers.
 *
 *   pnpm exec tsx bench/media.ts [--mib 200] [--stores fs,s3]
 *
 * Prints one JSON line ({bench, mib, results: [...]}) on stdout; progress and a table on stderr.
 * With S3 the upload chunks are staged in S3 too (any node can resume), so completion reads them back from S3.
 */
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};

interface ChildSpec {
  store: 'fs' | 's3';
  dataDir: string;
  s3?: { endpoint: string; bucket: string };
}

async function serverMain(spec: ChildSpec): Promise<void> {
  const { DEFAULTS, startServer } = await import('@tidings/sync-server');
  const server = await startServer({
    ...DEFAULTS,
    port: 0,
    host: '127.0.0.1',
    dataDir: spec.dataDir,
    databaseUrl: undefined,
    redisUrl: undefined,
    logLevel: 'warn',
    rateLimit: false,
    media: {
      ...DEFAULTS.media,
      store: spec.store,
      sweepIntervalMs: 0,
      s3: spec.s3 && {
        bucket: spec.s3.bucket,
        prefix: 'media/',
        endpoint: spec.s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        partBytes: 8 * MiB,
      },
    },
  });
  process.send?.({ url: server.url });
  process.on('message', (m) => {
    if (m === 'close') void server.close().then(() => process.exit(0));
  });
}

const rssOf = async (pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
};

async function json(url: string, method: string, token: string | undefined, body?: unknown): Promise<any> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await res.json();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(j)}`);
  return j;
}

async function runOne(store: 'fs' | 's3', file: string, size: number, sha256: string, s3?: { endpoint: string; bucket: string }) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-bench-media-'));
  const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify({ store, dataDir, s3 } satisfies ChildSpec)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: any) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const pid = child.pid!;
  try {
    const baseline = await rssOf(pid, 'VmRSS');
    let peak = baseline;
    const sampler = setInterval(() => void rssOf(pid, 'VmRSS').then((r) => (peak = Math.max(peak, r))).catch(() => {}), 25);
    const acct = await json(`${url}/v1/accounts`, 'POST', undefined, { username: `bench${Date.now()}`, password: 'correct horse battery' });
    const token: string = acct.token;

    const t0 = performance.now();
    const st = await json(`${url}/v1/uploads`, 'POST', token, { sha256, size });
    const fh = await open(file, 'r');
    const buf = Buffer.alloc(st.chunk_bytes);
    for (let i = 0; i < st.chunk_count; i++) {
      const { bytesRead } = await fh.read(buf, 0, st.chunk_bytes, i * st.chunk_bytes);
      const res = await fetch(`${url}/v1/uploads/${st.upload_id}/chunks/${i}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: buf.subarray(0, bytesRead),
      });
      if (!res.ok) throw new Error(`chunk ${i}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    await fh.close();
    const tChunks = performance.now();
    const done = await json(`${url}/v1/uploads/${st.upload_id}/complete`, 'POST', token, {});
    const t1 = performance.now();
    if (done.file_id !== sha256) throw new Error('wrong file id');

    const res = await fetch(`${url}/v1/blobs/${sha256}`, { headers: { authorization: `Bearer ${token}` } });
    const h = createHash('sha256');
    let got = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(c);
      got += c.length;
    }
    const t2 = performance.now();
    clearInterval(sampler);
    if (got !== size || h.digest('hex') !== sha256) throw new Error('download mismatch');
    const hwm = await rssOf(pid, 'VmHWM');
    return {
      store,
      uploadMiBs: size / MiB / ((t1 - t0) / 1000),
      chunksMiBs: size / MiB / ((tChunks - t0) / 1000),
      completeS: (t1 - tChunks) / 1000,
      downloadMiBs: size / MiB / ((t2 - t1) / 1000),
      baselineMiB: baseline / MiB,
      peakMiB: Math.max(peak, hwm) / MiB,
    };
  } finally {
    child.send('close');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mib = Number(arg('mib', '200'));
  const stores = arg('stores', 'fs,s3').split(',') as ('fs' | 's3')[];
  const work = await mkdtemp(path.join(tmpdir(), 'tidings-bench-file-'));
  const file = path.join(work, 'blob.bin');
  // Random bytes stand in for ciphertext (the server cannot tell the difference).
  const h = createHash('sha256');
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) {
    const b = randomBytes(MiB);
    h.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const sha256 = h.digest('hex');
  const results = [];
  let s3server: { close(): Promise<void> } | undefined;
  try {
    for (const store of stores) {
      let s3: { endpoint: string; bucket: string } | undefined;
      if (store === 's3') {
        const { default: S3rver } = await import('s3rver');
        const dir = path.join(work, 's3');
        const srv = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'tidings-media' }] });
        const { port } = (await srv.run()) as { port: number };
        s3server = srv;
        s3 = { endpoint: `http://127.0.0.1:${port}`, bucket: 'tidings-media' };
      }
      const r = await runOne(store, file, mib * MiB, sha256, s3);
      results.push(r);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
  } finally {
    await s3server?.close();
    await rm(work, { recursive: true, force: true });
  }
  // The table is for people (stderr); stdout carries one JSON line for scripts.
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`\nmedia: ${mib} MiB blob through the server (chunks of 4 MiB, sequential; completion re-reads and hashes the blob)`);
  say('| store | upload MiB/s (incl. verify) | chunk PUTs MiB/s | complete s | download MiB/s | server RSS before → peak MiB |');
  say('|---|---|---|---|---|---|');
  for (const r of results) {
    say(`| ${r.store} | ${r.uploadMiBs.toFixed(1)} | ${r.chunksMiBs.toFixed(1)} | ${r.completeS.toFixed(2)} | ${r.downloadMiBs.toFixed(1)} | ${r.baselineMiB.toFixed(0)} → ${r.peakMiB.toFixed(0)} |`);
  }
  console.log(JSON.stringify({ bench: 'media', mib, results }));
}

if (process.argv[2] === '--child') void serverMain(JSON.parse(process.argv[3]!) as ChildSpec);
else await main();
