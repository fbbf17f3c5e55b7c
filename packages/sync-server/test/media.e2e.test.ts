/**
 * Media end to end on real servers (port 0), over both blob store adapters
 * (filesystem, and S3 via a local s3rver): two users, sealed with the client
 * media module, through resumable uploads, attach, authorized ranged downloads.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaHttp, MediaHttpError, MediaIntegrityError, openSealed, sealFile, type SealedFile } from '@tidings/client/media';
import jpeg from 'jpeg-js';
import { DEFAULTS, startServer, type RunningServer, type ServerConfig } from '../src/index.js';
import { MEDIA_DEFAULTS, type MediaConfig } from '../src/media/config.js';
import { api, register, type Account } from './support/raw-client.js';
import { localS3, type LocalS3 } from './support/s3.js';
import { freshPostgresDatabase, postgresReachable } from './support/stores.js';
import { jpegCodec, syntheticJpeg } from '../../client/test/media/jpeg-codec.js';
import { blobOf, collect, enc, expectSameBytes, MARKER, noise, syntheticMp4, syntheticPdf, syntheticWav } from './support/media-files.js';

const CHUNK = 64 * 1024;
const pgOk = await postgresReachable();

interface Env {
  server: RunningServer;
  dataDir: string;
  s3?: LocalS3;
  clock: { offset: number };
}

/** A server on port 0 with its own data dir; `shared` lets several nodes use one database and one S3 server. */
async function startMediaServer(store: 'fs' | 's3', media: Partial<MediaConfig> = {}, shared: { databaseUrl?: string; s3?: LocalS3 } = {}): Promise<Env> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-media-'));
  const s3 = store === 's3' ? (shared.s3 ?? (await localS3())) : undefined;
  const clock = { offset: 0 };
  const cfg: ServerConfig = {
    ...DEFAULTS,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    databaseUrl: shared.databaseUrl,
    redisUrl: undefined,
    logLevel: 'silent',
    rateLimit: false,
    media: {
      ...MEDIA_DEFAULTS,
      chunkBytes: CHUNK,
      sweepIntervalMs: 0,
      store,
      s3: s3 && {
        bucket: s3.bucket,
        prefix: 'media/',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: s3.credentials,
        partBytes: 5 * 1024 * 1024,
      },
      ...media,
    },
  };
  const server = await startServer(cfg, { logger: pino({ level: 'silent' }), clock: () => Date.now() + clock.offset });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { server, dataDir, s3, clock };
}

/** Every file under a folder (the blob store's bytes on disk). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe.each(['fs', 's3'] as const)('media end to end over the %s blob store', (store) => {
  let env: Env;
  let alice: Account, bob: Account, carol: Account;
  let dm: string;
  const http = (a: Account, f?: typeof fetch) => new MediaHttp({ baseUrl: env.server.url, token: a.token, ...(f ? { fetch: f } : {}) });
  const plaintexts: Uint8Array[] = [];
  const sealedFiles: SealedFile[] = [];

  beforeAll(async () => {
    env = await startMediaServer(store);
    [alice, bob, carol] = await Promise.all([register(env.server.url), register(env.server.url), register(env.server.url)]);
    dm = (await api(env.server.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id;
  });

  /** Alice seals, uploads and attaches; the descriptor would travel inside the E2EE message. Bob downloads and decrypts. */
  async function send(file: Uint8Array, type: string, name: string) {
    plaintexts.push(file);
    const sealed = await sealFile(blobOf(file, type), { fileName: name, imageCodec: jpegCodec, image: { maxDimension: 512, type: 'image/jpeg' } });
    sealedFiles.push(sealed);
    const up = await http(alice).upload(sealed);
    await http(alice).attach(sealed.descriptor.blobId, dm);
    const got = await collect(await http(bob).download(JSON.parse(JSON.stringify(sealed.descriptor))));
    return { sealed, up, got };
  }

  it('round-trips audio, video and PDF between two users to the original bytes', async () => {
    for (const [file, type, name] of [
      [syntheticWav(3), 'audio/wav', 'voice.wav'],
      [syntheticMp4(400_000), 'video/mp4', 'clip.mp4'],
      [syntheticPdf(), 'application/pdf', 'doc.pdf'],
    ] as const) {
      const { got, up, sealed } = await send(file, type, name);
      expectSameBytes(got, file);
      expect(up.sentBytes).toBe(sealed.descriptor.blobSize);
      expect(sealed.descriptor.mediaType).toBe(type);
    }
  });

  it('round-trips an image as a smaller re-encoded one with its preview', async () => {
    const original = syntheticJpeg(1024, 768, 7);
    const { got, sealed } = await send(original, 'image/jpeg', 'photo.jpg');
    expect(got.length).toBeLessThan(original.length);
    expect(got.length).toBe(sealed.descriptor.size);
    const img = jpeg.decode(got);
    expect(Math.max(img.width, img.height)).toBe(512);
    expect(sealed.descriptor.preview).toBeDefined();
    expect(sealed.descriptor.preview!.width).toBeLessThanOrEqual(32);
  });

  it('a second upload of the same blob sends no bytes, and a re-send in the conversation dedups', async () => {
    const sealed = sealedFiles[0]!;
    const again = await http(alice).upload(sealed);
    expect(again).toMatchObject({ deduplicated: true, sentBytes: 0 });
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const file = blobOf(syntheticPdf(), 'application/pdf');
    const first = await sealFile(file, { fileName: 'a.pdf', conversationSecret: secret });
    expect((await http(alice).upload(first)).sentBytes).toBeGreaterThan(0);
    await http(alice).attach(first.descriptor.blobId, dm);
    const resend = await sealFile(file, { fileName: 'a.pdf', conversationSecret: secret });
    expect(resend.descriptor.blobId).toBe(first.descriptor.blobId);
    // Bob forwards/re-sends it in the same conversation: he may read it, so no bytes go up.
    expect(await http(bob).upload(resend)).toMatchObject({ deduplicated: true, sentBytes: 0 });
  });

  it('an upload interrupted at 60% resumes from the last stored chunk and completes', async () => {
    const file = noise(20 * CHUNK - 1000, 5);
    const sealed = await sealFile(blobOf(file, 'application/octet-stream'), { fileName: 'big.bin', compress: false });
    const chunks = Math.ceil(sealed.descriptor.blobSize / CHUNK);
    let puts = 0;
    const failing: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && ++puts > Math.floor(chunks * 0.6)) throw new TypeError('network connection lost');
      return fetch(input, init);
    };
    await expect(http(alice, failing).upload(sealed)).rejects.toThrow('network connection lost');
    const res = await http(alice).upload(sealed);
    expect(res.resumedChunks).toBe(Math.floor(chunks * 0.6));
    expect(res.sentBytes).toBeLessThan(sealed.descriptor.blobSize * 0.45);
    await http(alice).attach(sealed.descriptor.blobId, dm);
    expectSameBytes(await collect(await http(bob).download(sealed.descriptor)), file);
    plaintexts.push(file);
  });

  it('completion verifies the whole ciphertext: chunks that do not hash to the id are rejected, nothing visible', async () => {
    const fake = 'ab'.repeat(32);
    const st = (await api(env.server.url, 'POST', '/v1/uploads', { sha256: fake, size: 10 }, alice.token)).json;
    const put = await fetch(`${env.server.url}/v1/uploads/${st.upload_id}/chunks/0`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(10) as Uint8Array<ArrayBuffer>,
    });
    expect(put.status).toBe(200);
    const done = await api(env.server.url, 'POST', `/v1/uploads/${st.upload_id}/complete`, {}, alice.token);
    expect(done.status).toBe(400);
    expect(done.json.error.message).toMatch(/hash mismatch/);
    expect((await api(env.server.url, 'GET', `/downloadFile?file_id=${fake}`, undefined, alice.token)).status).toBe(404);
  });

  it('detects a corrupted chunk on download', async () => {
    const sealed = sealedFiles[1]!;
    const ct = await collect(await http(bob).fetchBlob(sealed.descriptor.blobId));
    ct[3 * (sealed.descriptor.chunkSize + 16) + 5]! ^= 0x40;
    const stream = await openSealed(sealed.descriptor, new Blob([ct as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<Uint8Array>);
    await expect(collect(stream)).rejects.toBeInstanceOf(MediaIntegrityError);
  });

  it('serves HTTP ranges (206) for streaming, and 416 past the end', async () => {
    const id = sealedFiles[1]!.descriptor.blobId;
    const whole = await collect(await http(bob).fetchBlob(id));
    const res = await fetch(`${env.server.url}/downloadFile?file_id=${id}`, { headers: { authorization: `Bearer ${bob.token}`, range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-199/${whole.length}`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(whole.subarray(100, 200));
    const tail = await fetch(`${env.server.url}/v1/blobs/${id}`, { headers: { authorization: `Bearer ${bob.token}`, range: 'bytes=-10' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 10));
    const past = await fetch(`${env.server.url}/v1/blobs/${id}`, { headers: { authorization: `Bearer ${bob.token}`, range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    await past.body?.cancel();
  });

  it('a user not in the conversation cannot download (or attach) the blob', async () => {
    const id = sealedFiles[0]!.descriptor.blobId;
    const r = await api(env.server.url, 'GET', `/downloadFile?file_id=${id}`, undefined, carol.token);
    expect(r.status).toBe(404);
    await expect(http(carol).download(sealedFiles[0]!.descriptor)).rejects.toMatchObject({ status: 404 });
    const carolDm = (await api(env.server.url, 'POST', '/v1/dms', { user_id: alice.userId }, carol.token)).json.conversation_id;
    await expect(http(carol).attach(id, carolDm)).rejects.toMatchObject({ status: 404 });
    await expect(http(carol).attach(id, dm)).rejects.toMatchObject({ status: 403, code: 'not_a_member' });
    // Asking whether it exists tells Carol nothing: she is asked to upload it.
    const ask = await api(env.server.url, 'POST', '/v1/uploads', { sha256: id, size: sealedFiles[0]!.descriptor.blobSize }, carol.token);
    expect(ask.json.exists).toBe(false);
    expect((await api(env.server.url, 'GET', `/downloadFile?file_id=${id}`)).status).toBe(401);
  });

  it('rejects path-like and malformed file ids', async () => {
    const bad = ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(62)}/.`, '%00' + 'a'.repeat(61), ''];
    for (const b of bad) {
      const r = await api(env.server.url, 'GET', `/downloadFile?file_id=${b}`, undefined, bob.token);
      expect(r.status, b).toBe(400);
      expect(r.json.error.code).toBe('invalid_argument');
    }
    for (const b of ['..%2F..%2Fetc%2Fpasswd', 'A'.repeat(64), 'zz' + 'a'.repeat(62)]) {
      expect((await api(env.server.url, 'GET', `/v1/blobs/${b}`, undefined, bob.token)).status, b).toBe(400);
    }
    expect((await api(env.server.url, 'GET', '/v1/uploads/..%2F..%2Fdata', undefined, bob.token)).status).toBe(400);
    expect((await api(env.server.url, 'POST', '/v1/uploads', { sha256: '../x', size: 1 }, bob.token)).status).toBe(400);
  });

  it('POST /uploadFile takes a small file in one request; GET /downloadFile returns it', async () => {
    const sealed = await sealFile(blobOf(enc.encode(`${MARKER} small note`), 'text/plain'), { fileName: 'n.txt' });
    const ct = await collect(sealed.ciphertext());
    const res = await fetch(`${env.server.url}/uploadFile?sha256=${sealed.descriptor.blobId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: ct as Uint8Array<ArrayBuffer>,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ file_id: sealed.descriptor.blobId, size: ct.length });
    const back = await fetch(`${env.server.url}/downloadFile?file_id=${sealed.descriptor.blobId}`, { headers: { authorization: `Bearer ${alice.token}` } });
    expectSameBytes(new Uint8Array(await back.arrayBuffer()), ct);
    plaintexts.push(enc.encode(`${MARKER} small note`));
  });

  it('no plaintext of any test file appears in the blob store', async () => {
    const root = store === 'fs' ? path.join(env.dataDir, 'media') : env.s3!.directory;
    const files = await filesUnder(root);
    const blobs = await Promise.all(files.map((f) => readFile(f)));
    expect(blobs.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(500_000);
    const needles = [Buffer.from(MARKER)];
    for (const p of plaintexts) for (let i = 0; i + 32 <= p.length && needles.length < 400; i += Math.max(32, Math.floor(p.length / 20))) needles.push(Buffer.from(p.subarray(i, i + 32)));
    for (const b of blobs) for (const n of needles) expect(b.includes(n)).toBe(false);
  });
});

describe('media limits, quota and retention', () => {
  let env: Env;
  let alice: Account, bob: Account;
  beforeAll(async () => {
    env = await startMediaServer('fs', { maxBlobBytes: 1024 * 1024, quotaBytes: 1_500_000, retentionMs: 60_000, maxSingleUploadBytes: 100_000 });
    [alice, bob] = await Promise.all([register(env.server.url), register(env.server.url)]);
  });
  const http = (a: Account) => new MediaHttp({ baseUrl: env.server.url, token: a.token });

  it('refuses files over the size limit and uploads past the quota with clear errors', async () => {
    const big = await api(env.server.url, 'POST', '/v1/uploads', { sha256: 'cd'.repeat(32), size: 2 * 1024 * 1024 }, alice.token);
    expect(big.status).toBe(413);
    expect(big.json.error).toMatchObject({ code: 'payload_too_large' });
    expect(big.json.error.message).toMatch(/limit/);
    const a = await sealFile(blobOf(noise(900_000, 1), 'application/octet-stream'), { fileName: 'a', compress: false });
    await http(alice).upload(a);
    const b = await sealFile(blobOf(noise(900_000, 2), 'application/octet-stream'), { fileName: 'b', compress: false });
    const err = await http(alice).upload(b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaHttpError);
    expect(err).toMatchObject({ status: 507, code: 'quota_exceeded' });
    expect((err as Error).message).toMatch(/quota/);
    // Refused before any byte went up: nothing was staged or counted against Alice.
    const usage = await api(env.server.url, 'GET', '/v1/media/usage', undefined, alice.token);
    expect(usage.json.used).toBe(a.descriptor.blobSize);
    // The one-request upload answers the same way past the quota.
    const c = await sealFile(blobOf(noise(550_000, 5), 'application/octet-stream'), { fileName: 'c', compress: false });
    await http(alice).upload(c);
    const over = await fetch(`${env.server.url}/uploadFile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: noise(90_000, 4) as Uint8Array<ArrayBuffer>,
    });
    expect(over.status).toBe(507);
    expect(await over.json()).toMatchObject({ error: { code: 'quota_exceeded' } });
    const single = await fetch(`${env.server.url}/uploadFile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob.token}`, 'content-type': 'application/octet-stream' },
      body: noise(200_000, 3) as Uint8Array<ArrayBuffer>,
    });
    expect(single.status).toBe(413);
    expect(await api(env.server.url, 'GET', '/v1/media/usage', undefined, alice.token)).toMatchObject({ json: { quota: 1_500_000 } });
  });

  it('the sweep deletes blobs no conversation references once the retention period has passed', async () => {
    const dm = (await api(env.server.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id;
    const kept = await sealFile(blobOf(noise(5000, 10), 'application/octet-stream'), { fileName: 'k' });
    const dropped = await sealFile(blobOf(noise(5000, 11), 'application/octet-stream'), { fileName: 'd' });
    const orphan = await sealFile(blobOf(noise(5000, 12), 'application/octet-stream'), { fileName: 'o' });
    for (const s of [kept, dropped, orphan]) await http(alice).upload(s);
    await http(alice).attach(kept.descriptor.blobId, dm);
    await http(alice).attach(dropped.descriptor.blobId, dm);
    await http(alice).detach(dropped.descriptor.blobId, dm);
    const blobPath = (id: string) => path.join(env.dataDir, 'media', 'blobs', id.slice(0, 2), id.slice(2, 4), id);
    expect((await env.server.media.sweep()).blobs).toBe(0); // within retention
    env.clock.offset += 61_000;
    // dropped, orphan, and the previous test's two unattached uploads; kept is referenced.
    expect((await env.server.media.sweep()).blobs).toBe(4);
    await expect(stat(blobPath(kept.descriptor.blobId))).resolves.toBeDefined();
    await expect(stat(blobPath(dropped.descriptor.blobId))).rejects.toThrow();
    await expect(stat(blobPath(orphan.descriptor.blobId))).rejects.toThrow();
    expect(await collect(await http(bob).download(kept.descriptor))).toEqual(noise(5000, 10));
  });
});

describe.skipIf(!pgOk)('media on two nodes (one Postgres, one S3)', () => {
  let a: Env, b: Env, s3: LocalS3;
  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    afterAll(db.drop); // registered first, so it runs after the servers have closed
    s3 = await localS3();
    a = await startMediaServer('s3', {}, { databaseUrl: db.url, s3 });
    b = await startMediaServer('s3', {}, { databaseUrl: db.url, s3 });
  });

  it('an upload interrupted on one node resumes on another: chunks are staged in S3, not on a node\'s disk', async () => {
    const [alice, bob] = await Promise.all([register(a.server.url), register(a.server.url)]);
    const dm = (await api(a.server.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id;
    const file = noise(20 * CHUNK - 1000, 8);
    const sealed = await sealFile(blobOf(file, 'application/octet-stream'), { fileName: 'big.bin', compress: false });
    const chunks = Math.ceil(sealed.descriptor.blobSize / CHUNK);
    let puts = 0;
    const failing: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && ++puts > Math.floor(chunks * 0.6)) throw new TypeError('network connection lost');
      return fetch(input, init);
    };
    await expect(new MediaHttp({ baseUrl: a.server.url, token: alice.token, fetch: failing }).upload(sealed)).rejects.toThrow('network connection lost');
    expect(await filesUnder(path.join(a.dataDir, 'media'))).toEqual([]); // nothing on node A's disk
    const res = await new MediaHttp({ baseUrl: b.server.url, token: alice.token }).upload(sealed);
    expect(res.resumedChunks).toBe(Math.floor(chunks * 0.6));
    expect(res.sentBytes).toBeLessThan(sealed.descriptor.blobSize * 0.45);
    await new MediaHttp({ baseUrl: b.server.url, token: alice.token }).attach(sealed.descriptor.blobId, dm);
    expectSameBytes(await collect(await new MediaHttp({ baseUrl: a.server.url, token: bob.token }).download(sealed.descriptor)), file);
    // Completed: the staged chunks are gone, only the blob is left.
    const left = (await filesUnder(s3.directory)).filter((f) => f.includes(`${path.sep}staging${path.sep}`));
    expect(left).toEqual([]);
  });
});
