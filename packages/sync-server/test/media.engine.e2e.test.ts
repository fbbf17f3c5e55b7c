/**
 * Files through real client engines (MLS on) and a real server: `sendFile`
 * prepares, seals, uploads and sends; the recipient's engine `download`s the
 * message's file and gets the original bytes (an image: a smaller re-encoded
 * one, with its preview). Dedup keys come from the conversation's MLS
 * exporter secret: a re-send or a member's forward in the conversation sends
 * no bytes, the same file in another conversation is an unrelated blob. A user
 * outside the conversation is refused the blob with a typed error.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { MediaIntegrityError } from '@tidings/client/media';
import type { Message } from '@tidings/client';
import { EntryType, KEY_PACKAGE_LOW_WATER, TidingsError, type ConversationId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';
import { collect, expectSameBytes, MARKER, syntheticMp4, syntheticPdf, syntheticWav } from './support/media-files.js';
import { jpegCodec, syntheticJpeg } from '../../client/test/media/jpeg-codec.js';

/** A few KeyPackages above the low water (not the default 50): this test needs three for its DMs, and less CPU. */
const keysReady = (d: Device): Promise<void> => until([d.client], async () => (await d.api.keyPackageStock()).stock > KEY_PACKAGE_LOW_WATER, 30_000, 'KeyPackages uploaded');
const imageOptions = { imageCodec: jpegCodec, image: { maxDimension: 320, type: 'image/jpeg' as const } };
const fromBase64Url = (s: string): Uint8Array => Buffer.from(s, 'base64url');
const mediaOf = async (d: Device, c: ConversationId): Promise<Message[]> => (await history(d.client, c)).filter((m) => m.content.kind === 'media' && m.id !== null);

/** Opens a DM from `a` to `b` and waits until both engines share its MLS group (a text arrived). */
async function dmBetween(a: Device, b: Device, hello: string): Promise<ConversationId> {
  const dm = await a.client.openDm(b.creds.userId);
  await a.client.sendText(dm, hello);
  await until([a.client, b.client], async () => texts(await history(b.client, dm)).includes(hello), 30_000, `${hello} arrives`);
  return dm;
}

describe('media through client engines', () => {
  it('image, audio, video and PDF round-trip between two users; dedup within the conversation only; strangers are refused', { timeout: 120_000 }, async () => {
    const backend = await testBackend('pglite');
    const s = await backend.start();
    const [alice, bob, carol] = await Promise.all(
      ['media-alice', 'media-bob', 'media-carol'].map(async (name) => device(s.url, await account(s.url, name), { mls: true, keyPackageTarget: KEY_PACKAGE_LOW_WATER + 2 })),
    );
    await Promise.all([alice!, bob!, carol!].map(keysReady));
    const a = alice!, b = bob!, c = carol!;
    const dm = await dmBetween(a, b, 'files coming');

    const photo = syntheticJpeg(800, 600, 7);
    const files = [
      { data: photo, name: 'photo.jpg', mediaType: 'image/jpeg', type: EntryType.Media },
      { data: syntheticWav(3), name: 'voice.wav', mediaType: undefined, type: EntryType.Media }, // type from the extension
      { data: syntheticMp4(300_000), name: 'clip.mp4', mediaType: 'video/mp4', type: EntryType.Media },
      { data: syntheticPdf(), name: 'doc.pdf', mediaType: 'application/pdf', type: EntryType.Document },
    ];
    const sent = [];
    for (const f of files) {
      const r = await a.client.sendFile(dm, { data: f.data, name: f.name, ...(f.mediaType ? { mediaType: f.mediaType } : {}) }, { ...imageOptions, caption: `about ${f.name}` });
      expect(r.upload).toMatchObject({ deduplicated: false, sentBytes: r.descriptor.blobSize });
      expect(r.message.type).toBe(f.type);
      sent.push(r);
    }
    expect(sent[1]!.descriptor.mediaType).toBe('audio/wav');

    await until([a.client, b.client], async () => (await mediaOf(b, dm)).length === files.length, 30_000, 'bob receives the four files');
    const received = await mediaOf(b, dm);
    expect(received.map((m) => m.content.kind === 'media' && m.content.media.fileName)).toEqual(files.map((f) => f.name));
    for (const [i, m] of received.entries()) {
      const got = await collect(await b.client.download(m));
      if (i === 0) {
        // The image arrives re-encoded: smaller, at most 320 px, with a tiny preview inside the message.
        expect(got.length).toBeLessThan(photo.length);
        const img = jpeg.decode(got);
        expect(Math.max(img.width, img.height)).toBe(320);
        const media = m.content.kind === 'media' ? m.content.media : undefined;
        expect(m.content.kind === 'media' && m.content.caption).toBe('about photo.jpg');
        const preview = jpeg.decode(fromBase64Url(media!.preview!.data));
        expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(32);
        expect(media!.preview!.data.length).toBeLessThan(2000);
      } else {
        expectSameBytes(got, files[i]!.data);
      }
    }

    // The same PDF again in this conversation is the same blob: no bytes go up. Bob forwarding it derives the same key.
    const pdf = files[3]!;
    const again = await a.client.sendFile(dm, { data: pdf.data, name: pdf.name });
    expect(again.descriptor.blobId).toBe(sent[3]!.descriptor.blobId);
    expect(again.upload).toMatchObject({ deduplicated: true, sentBytes: 0 });
    const forward = await b.client.sendFile(dm, { data: pdf.data, name: 'forwarded.pdf' });
    expect(forward.upload).toMatchObject({ deduplicated: true, sentBytes: 0 });
    expect(forward.descriptor.blobId).toBe(sent[3]!.descriptor.blobId);

    // In another conversation the same file is an unrelated blob (the server cannot link the two).
    const other = await dmBetween(a, c, 'hi carol');
    const elsewhere = await a.client.sendFile(other, { data: pdf.data, name: pdf.name });
    expect(elsewhere.descriptor.blobId).not.toBe(sent[3]!.descriptor.blobId);
    expect(elsewhere.upload.sentBytes).toBeGreaterThan(0);
    await until([c.client], async () => (await mediaOf(c, other)).length === 1, 30_000, 'carol receives her file');
    expectSameBytes(await collect(await c.client.download((await mediaOf(c, other))[0]!)), pdf.data);

    // Carol is not in Alice and Bob's DM: even holding a descriptor, the server will not hand her the blob.
    for (const r of sent) {
      const err = await c.client.download(r.descriptor).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TidingsError);
      expect(err).toMatchObject({ code: 'not_found' });
    }
    // A wrong key (a tampered descriptor) cannot read the blob: the first chunk fails authentication.
    const wrongKey = { ...sent[2]!.descriptor, key: Buffer.alloc(32, 7).toString('base64url') };
    await expect(collect(await b.client.download(wrongKey))).rejects.toBeInstanceOf(MediaIntegrityError);

    // Bad input fails before anything is uploaded or queued.
    const textMessage = (await history(b.client, dm)).find((m) => m.content.kind === 'text')!;
    await expect(b.client.download(textMessage)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(a.client.sendFile(dm, { data: pdf.data, name: '' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(a.client.sendFile(dm, { data: pdf.data, name: 'x.pdf' }, { caption: 'x'.repeat(5000) })).rejects.toMatchObject({ code: 'invalid_argument' });

    // The blob store holds ciphertext only.
    const root = path.join(backend.config.dataDir, 'media');
    const stored = await Promise.all(
      (await readdir(root, { withFileTypes: true, recursive: true })).filter((e) => e.isFile()).map((e) => readFile(path.join(e.parentPath, e.name))),
    );
    expect(stored.length).toBeGreaterThanOrEqual(5);
    const needles = [Buffer.from(MARKER), ...files.map((f) => Buffer.from(f.data.subarray(200, 232)))];
    for (const blob of stored) for (const n of needles) expect(blob.includes(n)).toBe(false);
  });
});
