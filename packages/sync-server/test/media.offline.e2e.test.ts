/**
 * A file sent while the server is down (issue #9), through real engines (MLS
 * on) and a real server: the send resolves at once with a pending message and
 * the SEALED file kept in the replica; a text sent after it waits behind it;
 * both survive an engine restart over the same replica; when the server is
 * back the file is uploaded, then the media message goes under its original
 * clientMsgId, then the text — the peer gets them in that order, each once,
 * and downloads the file byte-identical.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '@tidings/client';
import { KEY_PACKAGE_LOW_WATER, type ConversationId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';
import { collect, expectSameBytes, MARKER, syntheticPdf } from './support/media-files.js';

const keysReady = (d: Device): Promise<void> => until([d.client], async () => (await d.api.keyPackageStock()).stock > KEY_PACKAGE_LOW_WATER, 30_000, 'KeyPackages uploaded');
/** Messages (media and text) of a conversation, committed ones only. */
const committed = async (d: Device, c: ConversationId): Promise<Message[]> =>
  (await history(d.client, c)).filter((m) => m.id !== null && (m.content.kind === 'media' || m.content.kind === 'text'));
const label = (m: Message): string => (m.content.kind === 'media' ? `file ${m.content.media.fileName}` : m.content.kind === 'text' ? m.content.text : m.content.kind);

describe('files sent offline', () => {
  it('wait sealed in the replica across a restart and reach the peer before the text sent after them, each once', { timeout: 120_000 }, async () => {
    const backend = await testBackend('pglite');
    let s = await backend.start();
    const port = s.port;
    const [alice, bob] = await Promise.all(
      ['offline-alice', 'offline-bob'].map(async (name) => device(s.url, await account(s.url, name), { mls: true, keyPackageTarget: KEY_PACKAGE_LOW_WATER + 2 })),
    );
    let a = alice!;
    const b = bob!;
    await Promise.all([a, b].map(keysReady));
    const dm = await a.client.openDm(b.creds.userId);
    await a.client.sendText(dm, 'hello');
    await until([a.client, b.client], async () => texts(await history(b.client, dm)).includes('hello'), 30_000, 'hello arrives');

    await s.close();
    await until([a.client], async () => a.client.status !== 'online', 15_000, 'alice notices the server is gone');
    const pdf = syntheticPdf();
    const sent = await a.client.sendFile(dm, { data: pdf, name: 'offline.pdf' }, { caption: 'written offline' });
    expect(sent.queued).toBe(true);
    expect(sent.message).toMatchObject({ state: 'pending', id: null, content: { kind: 'media', caption: 'written offline' } });
    await a.client.sendText(dm, 'after the file');
    const sealed = await a.replica.pendingUploads();
    expect(sealed.map((p) => p.clientMsgId)).toEqual([sent.message.clientMsgId]);
    expect(Buffer.from(sealed[0]!.ciphertext).includes(Buffer.from(MARKER))).toBe(false); // ciphertext only

    // The engine restarts over the same replica while the server is still down: both sends are still there, pending, in order.
    a = await a.restart();
    const waiting = (await history(a.client, dm)).filter((m) => m.state === 'pending');
    expect(waiting.map(label)).toEqual(['file offline.pdf', 'after the file']);
    expect(waiting[0]!.uid).toBe(sent.message.uid);
    expect(await a.replica.pendingUploads()).toHaveLength(1);

    s = await backend.start({ port });
    await until([a.client, b.client], async () => (await committed(b, dm)).length >= 3, 45_000, 'bob receives the file and the text');
    await until([a.client], async () => (await history(a.client, dm)).every((m) => m.id !== null), 20_000, "alice's sends are acked");
    await b.client.whenIdle();

    const got = await committed(b, dm);
    expect(got.map(label)).toEqual(['hello', 'file offline.pdf', 'after the file']);
    expect(new Set(got.map((m) => m.uid)).size).toBe(got.length);
    const file = got[1]!;
    expect(file.uid).toBe(sent.message.uid); // the same clientMsgId: the pending row turned sent in place
    expect(file.content.kind === 'media' && file.content.caption).toBe('written offline');
    expectSameBytes(await collect(await b.client.download(file)), pdf);

    // Alice: one row per send, no duplicate of the file, nothing left to upload.
    const mine = await history(a.client, dm);
    expect(mine.filter((m) => m.content.kind === 'media').map((m) => [m.uid, m.state !== 'pending' && m.state !== 'failed'])).toEqual([[sent.message.uid, true]]);
    expect(mine.filter((m) => m.content.kind !== 'system').map(label)).toEqual(['hello', 'file offline.pdf', 'after the file']);
    expect(await a.replica.pendingUploads()).toEqual([]);
  });
});
