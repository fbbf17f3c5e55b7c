/**
 * Content beyond text through real MLS engines: a media message opens as its
 * descriptor and caption; a state update reaches the other devices' state
 * sink (and never becomes a message row); a sender cannot pass content off
 * as another entry type.
 */
import { describe, expect, it } from 'vitest';
import type { MediaDescriptor } from '@tidings/client/media';
import { EntryType, type ConversationId, type Entry } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, until, type Device } from './support/devices.js';

const keysReady = async (d: Device): Promise<void> => {
  await until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 15_000, 'KeyPackages uploaded');
};

const descriptor: MediaDescriptor = {
  v: 1,
  blobId: 'a'.repeat(64),
  blobSize: 2048,
  key: 'k'.repeat(43),
  chunkSize: 65_536,
  encoding: 'identity',
  size: 2000,
  sha256: 'b'.repeat(64),
  mediaType: 'image/webp',
  fileName: 'cat.webp',
  width: 640,
  height: 480,
};

describe('E2EE content kinds', () => {
  it('media messages and state updates travel sealed and open as what they are', { timeout: 60_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'content-alice'), { mls: true });
    const b = await device(s.url, await account(s.url, 'content-bob'), { mls: true });
    await Promise.all([keysReady(a), keysReady(b)]);
    const got: { conversationId: ConversationId; entry: Entry; data: Uint8Array }[] = [];
    b.client.attachState({
      received: (conversationId, entry, data) => {
        got.push({ conversationId, entry, data });
        return Promise.resolve();
      },
    });
    const ownState: unknown[] = [];
    a.client.attachState({ received: (_c, entry) => Promise.resolve(void ownState.push(entry)) });

    const dm = await a.client.openDm(b.creds.userId);
    const sent = await a.client.sendMedia(dm, descriptor, 'a cat');
    expect(sent.type).toBe(EntryType.Media);
    await a.client.sendState(dm, new Uint8Array([1, 2, 3]));
    await a.client.sendState(dm, new Uint8Array([9]), true);
    await a.client.sendMedia(dm, { ...descriptor, mediaType: 'application/pdf', fileName: 'doc.pdf' });

    await until([a.client, b.client], async () => (await history(b.client, dm)).filter((m) => m.content.kind === 'media').length === 2 && got.length === 2, 30_000, 'bob opens both');
    const media = (await history(b.client, dm)).filter((m) => m.content.kind === 'media');
    expect(media.map((m) => m.type)).toEqual([EntryType.Media, EntryType.Document]);
    expect(media[0]!.content).toEqual({ kind: 'media', media: descriptor, caption: 'a cat' });
    expect(got.map((g) => [g.entry.type, [...g.data]])).toEqual([
      [EntryType.Crdt, [1, 2, 3]],
      [EntryType.Snapshot, [9]],
    ]);
    // State updates are not messages, and a device is not handed its own updates back.
    expect((await history(b.client, dm)).some((m) => m.type === EntryType.Crdt || m.type === EntryType.Snapshot)).toBe(false);
    expect(ownState).toEqual([]);
    expect(await b.client.unreadCount(dm)).toBe(2);

    // A reply carries its quote (uid, sender, excerpt) inside the envelope.
    const quoted = media[0]!;
    await b.client.sendText(dm, 'what a cat', { replyTo: quoted });
    await until([a.client, b.client], async () => (await history(a.client, dm)).some((m) => m.content.kind === 'text' && m.content.text === 'what a cat'), 30_000, 'alice gets the reply');
    const reply = (await history(a.client, dm)).find((m) => m.content.kind === 'text' && m.content.text === 'what a cat')!;
    expect(reply.content).toEqual({ kind: 'text', text: 'what a cat', replyTo: { uid: sent.uid, senderUserId: a.creds.userId, excerpt: 'a cat' } });
    await expect(b.client.sendText(dm, 'x', { replyTo: { ...quoted, conversationId: 1n as ConversationId } })).rejects.toMatchObject({ code: 'invalid_argument' });

    const { rows } = await s.db.query<{ body: Uint8Array }>('SELECT body FROM entries WHERE conversation_id = $1', [String(dm)]);
    for (const r of rows) expect(Buffer.from(r.body).toString('latin1')).not.toMatch(/cat\.webp|a cat|doc\.pdf/);
  });

  it('rejects a caption over the limit and a malformed descriptor before anything is queued', async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'content-carol'), { mls: true, start: false });
    const b = await account(s.url, 'content-dave');
    const dm = await a.client.openDm(b.userId);
    await expect(a.client.sendMedia(dm, descriptor, 'x'.repeat(5000))).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(a.client.sendMedia(dm, { ...descriptor, blobId: '../etc/passwd' })).rejects.toThrow();
    expect(await a.replica.pending()).toEqual([]);
  });
});
