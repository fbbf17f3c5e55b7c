/**
 * EngineMedia's order of work and its refusals, over a recording MediaHttp
 * (the real upload path runs in sync-server/test/media.engine.e2e.test.ts):
 * bad input fails before any byte moves; the blob is attached before the
 * message that carries its key is queued; a conversation secret makes a
 * re-send the same blob, without one every send is a fresh key.
 */
import { describe, expect, it } from 'vitest';
import { parseConversationId } from '@tidings/shared';
import { EngineMedia } from '../../src/media/send-file.js';
import { mediaTypeOf } from '../../src/media/media-types.js';
import type { MediaDescriptor } from '../../src/media/descriptor.js';
import type { MediaHttp } from '../../src/media/transfer.js';
import type { SealedFile } from '../../src/media/seal.js';
import type { Message } from '../../src/model/message.js';

const conv = parseConversationId('42');
const pdf = new TextEncoder().encode('%PDF-1.4 '.repeat(2000));

function harness(secret: Uint8Array<ArrayBuffer> | undefined) {
  const calls: string[] = [];
  const http = {
    upload: async (s: SealedFile) => {
      calls.push(`upload ${s.descriptor.blobId.slice(0, 8)}`);
      return { blobId: s.descriptor.blobId, sentBytes: s.descriptor.blobSize, deduplicated: false, resumedChunks: 0 };
    },
    attach: async (blobId: string, c: string) => void calls.push(`attach ${blobId.slice(0, 8)} ${c}`),
    download: async () => new Blob([]).stream() as ReadableStream<Uint8Array>,
  } as unknown as MediaHttp;
  const media = new EngineMedia({
    http,
    conversationSecret: async () => secret,
    sendMedia: async (c, d: MediaDescriptor, caption) => {
      calls.push(`send ${d.blobId.slice(0, 8)} ${c} ${caption}`);
      return { uid: 'm1', content: { kind: 'media', media: d, caption } } as unknown as Message;
    },
  });
  return { media, calls };
}

describe('EngineMedia', () => {
  it('uploads, then attaches, then queues the message carrying the key', async () => {
    const { media, calls } = harness(undefined);
    const r = await media.send(conv, { data: pdf, name: 'doc.pdf' }, { caption: 'the doc' });
    const id = r.descriptor.blobId.slice(0, 8);
    expect(calls).toEqual([`upload ${id}`, `attach ${id} 42`, `send ${id} 42 the doc`]);
    expect(r.descriptor).toMatchObject({ fileName: 'doc.pdf', mediaType: 'application/pdf', size: pdf.length, encoding: 'gzip' });
  });

  it('derives the key from the conversation secret (a re-send is the same blob); without one every send is new', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const keyed = harness(secret);
    const a = await keyed.media.send(conv, { data: pdf, name: 'a.pdf' });
    const b = await keyed.media.send(conv, { data: pdf, name: 'b.pdf' });
    expect(b.descriptor.blobId).toBe(a.descriptor.blobId);
    const random = harness(undefined);
    const c = await random.media.send(conv, { data: pdf, name: 'a.pdf' });
    const d = await random.media.send(conv, { data: pdf, name: 'a.pdf' });
    expect(c.descriptor.blobId).not.toBe(d.descriptor.blobId);
    expect(c.descriptor.blobId).not.toBe(a.descriptor.blobId);
  });

  it('refuses bad input before anything is uploaded', async () => {
    const { media, calls } = harness(undefined);
    await expect(media.send(conv, { data: pdf, name: '' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(media.send(conv, { data: pdf, name: 'x'.repeat(1025) })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(media.send(conv, { data: pdf, name: 'a.pdf' }, { caption: 'c'.repeat(4097) })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(media.download({ uid: 't', content: { kind: 'text', text: 'hi' } } as unknown as Message)).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(calls).toEqual([]);
  });

  it('takes the media type from the data, else from the name', async () => {
    const { media } = harness(undefined);
    const typed = await media.send(conv, { data: new Blob([pdf as Uint8Array<ArrayBuffer>], { type: 'text/plain' }), name: 'x.pdf' });
    expect(typed.descriptor.mediaType).toBe('text/plain');
    expect(mediaTypeOf('Voice.M4A')).toBe('audio/mp4');
    expect(mediaTypeOf('clip.tar.gz')).toBe('application/gzip');
    expect(mediaTypeOf('README')).toBe('application/octet-stream');
    expect(mediaTypeOf('trailing.')).toBe('application/octet-stream');
  });
});
