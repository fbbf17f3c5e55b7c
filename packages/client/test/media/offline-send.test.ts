/**
 * Files sent while the server is unreachable (issue #9), below the engine:
 * the replica's pendingUploads table (schema v5: one transaction with the
 * message and its outbox item, `awaitingUpload` on the item, gone when
 * uploaded or failed, kept across a reopen and an upgrade from v4), the
 * outbox sender holding a conversation behind a pending upload, and
 * EngineMedia queuing on a network failure, draining in order, retrying, and
 * failing a refused file with its typed error. The real server path runs in
 * sync-server/test/media.offline.e2e.test.ts.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationKind, EntryType, ErrorCode, TidingsError, type ConversationId, type DeviceId, type EntryId, type SendFrame, type UserId } from '@tidings/shared';
import { DexieReplica } from '../../src/replica/dexie-replica.js';
import { EngineMedia, type UploadQueueDeps } from '../../src/media/send-file.js';
import { MediaHttpError, type MediaHttp } from '../../src/media/transfer.js';
import type { SealedFile } from '../../src/media/seal.js';
import type { MediaDescriptor } from '../../src/media/descriptor.js';
import { messageUid, pendingSeq, type Message } from '../../src/model/message.js';
import type { OutboxItem, PendingUpload } from '../../src/replica/replica.js';
import { OutboxSender } from '../../src/sync/outbox-sender.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { ManualClock } from '../support/manual-clock.js';

const CONV = 7n as ConversationId;
const OTHER_CONV = 8n as ConversationId;
const ME = { userId: 1n as UserId, deviceId: 11n as DeviceId };
const descriptor = (blobId: string): MediaDescriptor => ({
  v: 1,
  blobId,
  blobSize: 3,
  key: 'k',
  chunkSize: 65536,
  encoding: 'identity',
  size: 3,
  sha256: 'f'.repeat(64),
  mediaType: 'image/png',
  fileName: 'a.png',
});

function media(clientMsgId: string, at: number, conv = CONV): { message: Message; item: OutboxItem; upload: PendingUpload } {
  const d = descriptor(clientMsgId.padEnd(64, '0'));
  const message: Message = {
    uid: messageUid(ME.deviceId, clientMsgId),
    conversationId: conv,
    seq: pendingSeq(at),
    id: null,
    senderUserId: ME.userId,
    senderDeviceId: ME.deviceId,
    clientMsgId,
    type: EntryType.Media,
    body: new Uint8Array([9]),
    content: { kind: 'media', media: d, caption: '' },
    createdAt: at,
    state: 'pending',
  };
  const item = { clientMsgId, conversationId: conv, type: EntryType.Media, body: new Uint8Array([9]), createdAt: at, attempts: 0 };
  return { message, item, upload: { clientMsgId, conversationId: conv, descriptor: d, ciphertext: new Uint8Array([1, 2, 3]), createdAt: at } };
}
const textItem = (clientMsgId: string, at: number, conv = CONV): OutboxItem => ({ clientMsgId, conversationId: conv, type: EntryType.Text, body: new Uint8Array([5]), createdAt: at, attempts: 0 });

let n = 0;
const open = (factory = new IDBFactory(), name = `uploads-${++n}`) => DexieReplica.open({ name, indexedDB: factory, IDBKeyRange });
const opened: DexieReplica[] = [];
afterEach(async () => {
  for (const r of opened.splice(0)) await r.close();
});
async function replica(): Promise<DexieReplica> {
  const r = await open();
  opened.push(r);
  await r.upsertConversation({ id: CONV, kind: ConversationKind.Dm, name: '', members: [], lastId: 0n as EntryId, left: false });
  return r;
}

describe('replica: pending uploads (schema v5)', () => {
  it('stores the row, the outbox item and the sealed file together; the item waits until the upload is done', async () => {
    const r = await replica();
    const a = media('a', 1);
    await r.enqueueUpload(a.message, a.item, a.upload);
    await r.enqueue({ ...a.message, uid: messageUid(ME.deviceId, 't'), clientMsgId: 't', type: EntryType.Text, content: { kind: 'text', text: 'after' } }, textItem('t', 2));
    expect((await r.messages(CONV, { limit: 10 })).map((m) => [m.clientMsgId, m.state])).toEqual([['a', 'pending'], ['t', 'pending']]);
    expect((await r.pending()).map((i) => [i.clientMsgId, i.awaitingUpload ?? false])).toEqual([['a', true], ['t', false]]);
    expect(await r.pendingUploads()).toEqual([a.upload]);
    expect(await r.pendingUploadOf(a.upload.descriptor.blobId)).toEqual(a.upload);
    expect(await r.pendingUploadOf('0'.repeat(64))).toBeNull();

    await r.uploadDone('a');
    expect(await r.pendingUploads()).toEqual([]);
    expect((await r.pending()).map((i) => [i.clientMsgId, i.awaitingUpload ?? false])).toEqual([['a', false], ['t', false]]);
  });

  it('orders uploads by send time; a failed send drops its sealed file', async () => {
    const r = await replica();
    const later = media('b', 20);
    const first = media('a', 10);
    await r.enqueueUpload(later.message, later.item, later.upload);
    await r.enqueueUpload(first.message, first.item, first.upload);
    expect((await r.pendingUploads()).map((u) => u.clientMsgId)).toEqual(['a', 'b']);
    const failed = await r.markFailed(ME.deviceId, 'b', { code: 'quota_exceeded', message: 'full' });
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'quota_exceeded' } });
    expect((await r.pendingUploads()).map((u) => u.clientMsgId)).toEqual(['a']);
    expect((await r.pending()).map((i) => i.clientMsgId)).toEqual(['a']);
  });

  it('keeps pending uploads across a reopen and in a snapshot', async () => {
    const factory = new IDBFactory();
    const first = await open(factory, 'uploads-durable');
    const a = media('a', 1);
    await first.enqueueUpload(a.message, a.item, a.upload);
    const snapshot = await first.exportSnapshot();
    await first.close();
    const second = await open(factory, 'uploads-durable');
    opened.push(second);
    expect(await second.pendingUploads()).toEqual([a.upload]);
    const elsewhere = await open();
    opened.push(elsewhere);
    await elsewhere.importSnapshot(snapshot);
    expect(await elsewhere.pendingUploads()).toEqual([a.upload]);
    expect((await elsewhere.pending())[0]?.awaitingUpload).toBe(true);
  });

  it('upgrades a version 4 database: its outbox is kept and nothing waits for an upload', async () => {
    const factory = new IDBFactory();
    const v4 = new Dexie('v4', { indexedDB: factory, IDBKeyRange });
    v4.version(1).stores({ conversations: 'id', messages: 'uid, [conversationId+seq]', outbox: 'clientMsgId, createdAt' });
    v4.version(2).stores({ messages: 'uid, [conversationId+seq], [conversationId+countable+seq], [conversationId+senderUserId+countable+seq]', receipts: '[conversationId+userId]' });
    v4.version(3).stores({ secrets: 'key', groups: 'conversationId', held: '[conversationId+seq]', history: '[conversationId+seq]', peers: '[conversationId+userId]' });
    v4.version(4).stores({ docs: 'id' });
    await v4.open();
    await v4.table('outbox').put({ ...textItem('t', 1), conversationId: '7' });
    v4.close();
    const upgraded = await open(factory, 'v4');
    opened.push(upgraded);
    expect((await upgraded.pending()).map((i) => [i.clientMsgId, i.awaitingUpload ?? false])).toEqual([['t', false]]);
    expect(await upgraded.pendingUploads()).toEqual([]);
  });
});

describe('outbox sender: a pending upload holds its conversation', () => {
  it('sends nothing of that conversation behind it, other conversations go', async () => {
    const items: OutboxItem[] = [
      { ...textItem('before', 1) },
      { ...media('file', 2).item, awaitingUpload: true },
      textItem('after', 3),
      textItem('elsewhere', 4, OTHER_CONV),
    ];
    const outbox = { pending: async () => items } as unknown as ConstructorParameters<typeof OutboxSender>[0];
    const sender = new OutboxSender(outbox, new ManualClock(), () => 1, () => undefined);
    const sent: string[] = [];
    await sender.flush((f: SendFrame) => void sent.push(f.clientMsgId));
    expect(sent).toEqual(['before', 'elsewhere']);
    items[1] = { ...items[1]!, awaitingUpload: false };
    sender.reset();
    sent.length = 0;
    await sender.flush((f: SendFrame) => void sent.push(f.clientMsgId));
    expect(sent).toEqual(['before', 'file', 'after', 'elsewhere']);
  });
});

describe('EngineMedia: files sent while the server is unreachable', () => {
  const pdf = new TextEncoder().encode('%PDF-1.4 '.repeat(500));

  async function harness() {
    const r = await replica();
    const clock = new ManualClock();
    const calls: string[] = [];
    const stored = new Map<string, Uint8Array>();
    let failWith: (() => Error) | null = () => new TypeError('fetch failed');
    let online = false;
    const flushed: number[] = [];
    const changed: Message[] = [];
    let seq = 0;
    const http = {
      upload: async (s: SealedFile) => {
        calls.push(`upload ${s.descriptor.fileName}`);
        if (failWith) throw failWith();
        stored.set(s.descriptor.blobId, new Uint8Array(await new Response(s.ciphertext()).arrayBuffer()));
        return { blobId: s.descriptor.blobId, sentBytes: s.descriptor.blobSize, deduplicated: false, resumedChunks: 0 };
      },
      attach: async (_blobId: string, c: string) => void calls.push(`attach ${c}`),
      download: async () => {
        throw new TypeError('fetch failed');
      },
    } as unknown as MediaHttp;
    const queue: UploadQueueDeps = {
      store: r,
      deviceId: ME.deviceId,
      clock,
      logger: silentLogger,
      retryDelay: (attempts) => 100 * attempts,
      online: () => online,
      queueMedia: async (conversationId, d, caption, ciphertext) => {
        const at = ++seq;
        const m = media(`q${at}`, at, conversationId);
        const message = { ...m.message, content: { kind: 'media' as const, media: d, caption } };
        await r.enqueueUpload(message, m.item, { ...m.upload, descriptor: d, ciphertext });
        return message;
      },
      uploaded: () => void flushed.push(1),
      changed: (m) => void changed.push(m),
    };
    const engine = new EngineMedia({
      http,
      conversationSecret: async () => undefined,
      sendMedia: async () => {
        throw new Error('not used offline');
      },
      queue,
    });
    return {
      r, clock, calls, stored, flushed, changed, engine,
      setOnline: (v: boolean) => void (online = v),
      failWith: (f: (() => Error) | null) => void (failWith = f),
      /** Runs drainUploads and waits until no upload is pending. */
      drained: async () => {
        engine.drainUploads();
        await until(async () => (await r.pendingUploads()).length === 0);
      },
    };
  }

  it('queues the sealed file and a pending message on a network failure; opens it locally; uploads in order once online', async () => {
    const h = await harness();
    const a = await h.engine.send(CONV, { data: pdf, name: 'a.pdf' }, { caption: 'first' });
    await h.engine.send(CONV, { data: pdf, name: 'b.pdf' });
    expect(a.queued).toBe(true);
    expect(a.upload).toMatchObject({ sentBytes: 0, deduplicated: false });
    expect(a.message).toMatchObject({ state: 'pending', content: { kind: 'media', caption: 'first' } });
    const pendings = await h.r.pendingUploads();
    expect(pendings.map((p) => p.descriptor.fileName)).toEqual(['a.pdf', 'b.pdf']);
    // Ciphertext only: the plaintext is not in the sealed copy.
    const needle = new TextDecoder().decode(pdf.subarray(0, 36));
    expect(new TextDecoder('latin1').decode(pendings[0]!.ciphertext).includes(needle)).toBe(false);
    // The sender opens its own pending file from the sealed copy (no server).
    const local = new Uint8Array(await new Response(await h.engine.download(a.message)).arrayBuffer());
    expect(local).toEqual(pdf);
    expect((await h.r.pending()).every((i) => i.awaitingUpload === true)).toBe(true);

    h.failWith(null);
    h.setOnline(true);
    h.calls.length = 0;
    await h.drained();
    expect(h.calls).toEqual(['upload a.pdf', 'attach 7', 'upload b.pdf', 'attach 7']);
    expect(h.flushed).toHaveLength(2);
    expect(await h.r.pendingUploads()).toEqual([]);
    expect((await h.r.pending()).map((i) => i.awaitingUpload ?? false)).toEqual([false, false]);
    expect(h.stored.get(a.descriptor.blobId)).toEqual(pendings[0]!.ciphertext);
  });

  it('retries a retryable failure after the backoff delay, holding later files; nothing is tried while offline', async () => {
    const h = await harness();
    await h.engine.send(CONV, { data: pdf, name: 'a.pdf' });
    await h.engine.send(CONV, { data: pdf, name: 'b.pdf' });
    h.calls.length = 0;
    h.engine.drainUploads(); // offline: nothing happens
    await Promise.resolve();
    expect(h.calls).toEqual([]);
    h.setOnline(true);
    h.failWith(() => new MediaHttpError(503, ErrorCode.Unavailable, 'busy'));
    h.engine.drainUploads();
    await until(() => h.clock.pending().length === 1);
    expect(h.calls).toEqual(['upload a.pdf']); // b waits behind a
    expect(h.clock.pending()[0]!.ms).toBe(100);
    h.failWith(null);
    h.clock.fire(h.clock.pending()[0]!);
    await until(async () => (await h.r.pendingUploads()).length === 0);
    expect(h.calls).toEqual(['upload a.pdf', 'upload a.pdf', 'attach 7', 'upload b.pdf', 'attach 7']);
  });

  it('a refusal marks the message failed with its typed error; a refusal at send time is thrown, nothing queued', async () => {
    const h = await harness();
    const a = await h.engine.send(CONV, { data: pdf, name: 'a.pdf' });
    h.setOnline(true);
    h.failWith(() => new MediaHttpError(507, ErrorCode.QuotaExceeded, 'no room'));
    await h.drained();
    expect(h.changed.map((m) => [m.uid, m.state, m.error?.code])).toEqual([[a.message.uid, 'failed', 'quota_exceeded']]);
    expect(await h.r.pendingUploads()).toEqual([]);
    expect(await h.r.pending()).toEqual([]);

    const h2 = await harness();
    h2.failWith(() => new MediaHttpError(507, ErrorCode.QuotaExceeded, 'no room'));
    const err = await h2.engine.send(CONV, { data: pdf, name: 'c.pdf' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TidingsError);
    expect(err).toMatchObject({ code: 'quota_exceeded' });
    expect(await h2.r.pendingUploads()).toEqual([]);
    expect(await h2.r.messages(CONV, { limit: 10 })).toEqual([]);
  });
});

/** Polls `check` on the event loop (no timers involved: the ManualClock owns those). */
async function until(check: () => boolean | Promise<boolean>, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}
