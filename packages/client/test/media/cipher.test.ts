/** The media module alone: chunked AEAD, tamper detection, dedup keys, image preparation, gzip. */
import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { openSealed, sealFile, MediaIntegrityError, parseDescriptor, type SealedFile } from '../../src/media/index.js';
import { jpegCodec, syntheticJpeg } from './jpeg-codec.js';
import { expectSameBytes } from './same-bytes.js';

const collect = async (s: ReadableStream<Uint8Array>): Promise<Uint8Array> => new Uint8Array(await new Response(s).arrayBuffer());
const streamOf = (b: Uint8Array): ReadableStream<Uint8Array> => new Blob([b as Uint8Array<ArrayBuffer>]).stream() as ReadableStream<Uint8Array>;
const random = (n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
};
const roundTrip = async (s: SealedFile) => collect(await openSealed(s.descriptor, s.ciphertext()));

describe('media sealing', () => {
  it.each([0, 1, 65535, 65536, 65537, 300_000])('round-trips %i bytes', async (n) => {
    const data = random(n);
    const s = await sealFile(new Blob([data as Uint8Array<ArrayBuffer>]), { fileName: 'x.bin', chunkSize: 65536 });
    expect(parseDescriptor(JSON.parse(JSON.stringify(s.descriptor)))).toEqual(s.descriptor);
    expect(s.descriptor.blobSize).toBe(n + Math.max(1, Math.ceil(n / 65536)) * 16);
    expectSameBytes(await roundTrip(s), data);
  });

  it('regenerates identical ciphertext for upload and resume', async () => {
    const s = await sealFile(new Blob([random(200_000) as Uint8Array<ArrayBuffer>]), { fileName: 'x' });
    expectSameBytes(await collect(s.ciphertext()), await collect(s.ciphertext()));
  });

  it('detects a corrupted, truncated, reordered or extended ciphertext', async () => {
    const s = await sealFile(new Blob([random(200_000) as Uint8Array<ArrayBuffer>]), { fileName: 'x', chunkSize: 65536 });
    const ct = await collect(s.ciphertext());
    const frame = 65536 + 16;
    const flipped = ct.slice();
    flipped[frame + 10]! ^= 1;
    const truncated = ct.slice(0, 2 * frame); // drops the last chunk at a chunk boundary
    const reordered = new Uint8Array([...ct.subarray(frame, 2 * frame), ...ct.subarray(0, frame), ...ct.subarray(2 * frame)]);
    const extended = new Uint8Array([...ct, ...ct.subarray(0, frame)]);
    for (const bad of [flipped, truncated, reordered, extended]) {
      await expect(collect(await openSealed(s.descriptor, streamOf(bad)))).rejects.toBeInstanceOf(MediaIntegrityError);
    }
  });

  it('derives the same blob for the same file in one conversation, and unrelated blobs across conversations', async () => {
    const file = new Blob([random(100_000) as Uint8Array<ArrayBuffer>]);
    const secretA = crypto.getRandomValues(new Uint8Array(32));
    const secretB = crypto.getRandomValues(new Uint8Array(32));
    const a1 = await sealFile(file, { fileName: 'f', conversationSecret: secretA });
    const a2 = await sealFile(file, { fileName: 'f', conversationSecret: secretA });
    const b = await sealFile(file, { fileName: 'f', conversationSecret: secretB });
    const r = await sealFile(file, { fileName: 'f' });
    expect(a2.descriptor.blobId).toBe(a1.descriptor.blobId);
    expect(a2.descriptor.key).toBe(a1.descriptor.key);
    expect(b.descriptor.blobId).not.toBe(a1.descriptor.blobId);
    expect(r.descriptor.blobId).not.toBe(a1.descriptor.blobId);
    expectSameBytes(await roundTrip(b), new Uint8Array(await file.arrayBuffer()));
  });

  it('compresses text with gzip when that pays, and not random bytes', async () => {
    const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog\n'.repeat(5000));
    const t = await sealFile(new Blob([text]), { fileName: 'a.txt', mediaType: 'text/plain' });
    expect(t.descriptor.encoding).toBe('gzip');
    expect(t.descriptor.blobSize).toBeLessThan(text.length / 10);
    expectSameBytes(await roundTrip(t), text);
    const r = await sealFile(new Blob([random(50_000) as Uint8Array<ArrayBuffer>]), { fileName: 'r', mediaType: 'text/plain' });
    expect(r.descriptor.encoding).toBe('identity');
  });

  it('re-encodes an image smaller, within the caps, with a tiny preview (jpeg-js codec port)', async () => {
    const original = syntheticJpeg(1200, 900);
    const s = await sealFile(new Blob([original as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), {
      fileName: 'photo.jpg',
      imageCodec: jpegCodec,
      image: { maxDimension: 640, maxBytes: 120_000, type: 'image/jpeg' },
    });
    const d = s.descriptor;
    expect(Math.max(d.width!, d.height!)).toBeLessThanOrEqual(640);
    expect(d.size).toBeLessThan(original.length);
    expect(d.size).toBeLessThanOrEqual(120_000);
    expect(d.preview!.width).toBeLessThanOrEqual(32);
    const previewBytes = Uint8Array.from(atob(d.preview!.data.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    expect(previewBytes.length).toBeLessThan(2048);
    expect(jpeg.decode(previewBytes).width).toBe(d.preview!.width);
    const back = await roundTrip(s);
    expect(jpeg.decode(back).width).toBe(d.width);
  });
});
