/**
 * The UploadStaging conformance suite: where resumable uploads keep their
 * chunks, on local disk and in S3 (a local s3rver). Both must list only
 * complete chunks, refuse a chunk of the wrong length without listing it,
 * stream the chunks back in order and forget them on remove.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { S3Staging } from '../src/media/s3-staging.js';
import { newUploadId, Staging, type UploadStaging } from '../src/media/staging.js';
import { localS3 } from './support/s3.js';

const backends: { name: string; make(): Promise<UploadStaging> }[] = [
  {
    name: 'fs',
    async make() {
      const dir = await mkdtemp(path.join(tmpdir(), 'tidings-staging-'));
      afterAll(() => rm(dir, { recursive: true, force: true }));
      return new Staging(dir);
    },
  },
  {
    name: 's3 (s3rver)',
    async make() {
      const s3 = await localS3();
      const staging = new S3Staging({
        bucket: s3.bucket,
        prefix: 'media/staging/',
        partBytes: 5 * 1024 * 1024,
        client: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials },
      });
      afterAll(() => staging.close());
      return staging;
    },
  },
];

const body = (b: Uint8Array, piece = 7000): Readable => Readable.from((function* () {
  for (let i = 0; i < b.length; i += piece) yield Buffer.from(b.subarray(i, i + piece));
})());
const readAll = async (it: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};

describe.each(backends)('UploadStaging conformance: $name', (backend) => {
  it('keeps complete chunks only, reads them back in order and forgets them', { timeout: 30_000 }, async () => {
    const staging = await backend.make();
    const id = newUploadId();
    const chunks = [randomBytes(20_000), randomBytes(20_000), randomBytes(1234)];
    expect(await staging.received(id)).toEqual([]);
    await staging.putChunk(id, 2, chunks[2]!.length, body(chunks[2]!));
    await staging.putChunk(id, 0, chunks[0]!.length, body(chunks[0]!));
    expect(await staging.received(id)).toEqual([0, 2]);

    // Too short, too long, or a body that fails: refused, and never listed as received.
    await expect(staging.putChunk(id, 1, 20_000, body(chunks[1]!.subarray(0, 19_999)))).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(staging.putChunk(id, 1, 20_000, body(randomBytes(20_001)))).rejects.toMatchObject({ code: 'payload_too_large' });
    // A body that fails part-way, once it is being read (a client gone mid-chunk).
    let reads = 0;
    const broken = new Readable({
      read() {
        if (reads++ === 0) this.push(Buffer.alloc(5000));
        else this.destroy(new Error('connection reset'));
      },
    });
    await expect(staging.putChunk(id, 1, 20_000, broken)).rejects.toThrow();
    expect(await staging.received(id)).toEqual([0, 2]);

    await staging.putChunk(id, 1, chunks[1]!.length, body(chunks[1]!));
    expect(await staging.received(id)).toEqual([0, 1, 2]);
    expect(await readAll(staging.read(id, 3))).toEqual(Buffer.concat(chunks));

    // Another upload's chunks are its own.
    const other = newUploadId();
    await staging.putChunk(other, 0, 10, body(Buffer.alloc(10, 1)));
    await staging.remove(id);
    expect(await staging.received(id)).toEqual([]);
    expect(await staging.received(other)).toEqual([0]);
    await staging.remove(id); // removing twice is fine
  });

  it('refuses upload ids that are not 32 hex characters (no path or key is built from them)', async () => {
    const staging = await backend.make();
    for (const bad of ['../x', 'A'.repeat(32), 'a'.repeat(31), '']) {
      await expect(staging.received(bad)).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(staging.putChunk(bad, 0, 1, body(Buffer.alloc(1)))).rejects.toMatchObject({ code: 'invalid_argument' });
    }
  });
});
