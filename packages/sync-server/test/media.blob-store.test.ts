/**
 * The BlobStore conformance suite: every adapter against its real backend —
 * the filesystem, and S3 through a local S3-API server (s3rver) on 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBlobId, type BlobId } from '../src/media/blob-id.js';
import type { BlobStore } from '../src/media/blob-store.js';
import { FsBlobStore } from '../src/media/fs-store.js';
import { S3BlobStore } from '../src/media/s3-store.js';
import { localS3 } from './support/s3.js';

const idOf = (b: Uint8Array): BlobId => parseBlobId(createHash('sha256').update(b).digest('hex'));
const read = async (s: Readable): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
};
/** Yield `b` in pieces of `n` bytes, as a network would. */
async function* pieces(b: Uint8Array, n = 100_000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
}

interface Backend {
  readonly name: string;
  make(): Promise<BlobStore>;
}

const backends: Backend[] = [
  {
    name: 'fs',
    async make() {
      const dir = await mkdtemp(path.join(tmpdir(), 'tidings-blobs-'));
      afterAll(() => rm(dir, { recursive: true, force: true }));
      return FsBlobStore.open(dir);
    },
  },
  {
    name: 's3 (s3rver)',
    async make() {
      const s3 = await localS3();
      const store = new S3BlobStore({
        bucket: s3.bucket,
        prefix: 'blobs/',
        partBytes: 5 * 1024 * 1024,
        queueSize: 2,
        client: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials },
      });
      afterAll(() => store.close());
      return store;
    },
  },
];

describe.each(backends)('BlobStore conformance: $name', (backend) => {
  let store: BlobStore;
  const small = randomBytes(1000);
  const smallId = idOf(small);

  it('opens', async () => {
    store = await backend.make();
  });

  it('a missing blob has no size and get rejects with not_found', async () => {
    expect(await store.size(smallId)).toBeUndefined();
    await expect(store.get(smallId)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('put streams a blob in; size and get give it back', async () => {
    await store.put(smallId, pieces(small, 7));
    expect(await store.size(smallId)).toBe(small.length);
    expect((await read(await store.get(smallId))).equals(small)).toBe(true);
  });

  it('get returns an inclusive byte range', async () => {
    expect((await read(await store.get(smallId, { start: 10, end: 19 }))).equals(small.subarray(10, 20))).toBe(true);
    expect((await read(await store.get(smallId, { start: 999, end: 999 }))).equals(small.subarray(999))).toBe(true);
  });

  it('putting the same blob again is harmless', async () => {
    await store.put(smallId, Readable.from([small]));
    expect(await store.size(smallId)).toBe(small.length);
  });

  it('a put whose bytes do not hash to the id fails and stores nothing', async () => {
    const other = randomBytes(2000);
    const wrongId = idOf(randomBytes(10));
    await expect(store.put(wrongId, pieces(other))).rejects.toThrow(/hash mismatch/);
    expect(await store.size(wrongId)).toBeUndefined();
  });

  it('a put whose source fails stores nothing', async () => {
    const data = randomBytes(300_000);
    const id = idOf(data);
    async function* failing(): AsyncIterable<Uint8Array> {
      yield data.subarray(0, 100_000);
      throw new Error('connection reset');
    }
    await expect(store.put(id, failing())).rejects.toThrow();
    expect(await store.size(id)).toBeUndefined();
  });

  it('a large blob goes up in parts (multipart on S3) and reads back intact', async () => {
    const big = randomBytes(12 * 1024 * 1024 + 123);
    const id = idOf(big);
    await store.put(id, pieces(big, 1024 * 1024));
    expect(await store.size(id)).toBe(big.length);
    const back = await read(await store.get(id));
    expect(back.equals(big)).toBe(true);
    const start = 5 * 1024 * 1024 - 3;
    expect((await read(await store.get(id, { start, end: start + 9 }))).equals(big.subarray(start, start + 10))).toBe(true);
    await store.delete(id);
  });

  it('delete removes a blob; deleting a missing blob is fine', async () => {
    await store.delete(smallId);
    expect(await store.size(smallId)).toBeUndefined();
    await store.delete(smallId);
  });
});

describe('FsBlobStore specifics', () => {
  it('lays blobs out by their hash and leaves no temporary files behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tidings-blobs-'));
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const store = await FsBlobStore.open(dir);
    const data = randomBytes(100);
    const id = idOf(data);
    await store.put(id, pieces(data));
    await expect(store.put(idOf(randomBytes(1)), pieces(data))).rejects.toThrow();
    expect(await readdir(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)))).toEqual([id]);
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses ids that are not 64 hex characters (no path is ever built from them)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tidings-blobs-'));
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const store = await FsBlobStore.open(dir);
    for (const bad of ['../../etc/passwd', 'a'.repeat(63), 'A'.repeat(64), `${'a'.repeat(62)}/x`]) {
      await expect(store.size(bad as BlobId)).rejects.toMatchObject({ code: 'invalid_argument' });
    }
  });
});
