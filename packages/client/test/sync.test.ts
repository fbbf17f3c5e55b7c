import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationKind, ErrorCode, type ConversationId } from '@tidings/shared';
import { FakeServer } from './support/fake-server.js';
import { cleanup, eventually, makeDevice, startSynced, texts, waitFor } from './support/harness.js';

afterEach(cleanup);

const ALICE = 10n;
const BOB = 20n;

function dm(server: FakeServer): ConversationId {
  return server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
}
const sendsOf = (server: FakeServer) => server.received.filter((f) => f.t === 'send');

describe('TidingsClient over the fake server', () => {
  it('writes the optimistic message with its outbox item offline, and flushes it exactly once on connect', async () => {
    const server = new FakeServer();
    const conv = dm(server);
    const a = await makeDevice(server, ALICE, 11n);
    const message = await a.client.sendText(conv, 'hello');
    expect(message.state).toBe('pending');
    expect(await a.replica.pending()).toHaveLength(1);
    expect(await a.client.messages(conv, { limit: 10 })).toMatchObject([{ state: 'pending', uid: message.uid }]);

    const sent = waitFor(a.client, 'message', (m) => m.uid === message.uid && m.state === 'sent');
    a.client.start();
    expect((await sent).id).toBe(server.log(conv)[0]?.id);
    await a.client.whenIdle();
    expect(sendsOf(server)).toHaveLength(1);
    expect(server.log(conv)).toHaveLength(1);
    expect(texts(await a.client.messages(conv, { limit: 10 }))).toEqual(['hello']);
  });

  it('re-sends an unacked message after a reconnect and the server keeps one copy', async () => {
    const server = new FakeServer();
    const conv = dm(server);
    const a = await makeDevice(server, ALICE, 11n);
    await startSynced(a.client);
    // Commit, but lose both the live echo and the ack, then cut the socket.
    let first = true;
    const committed = new Promise<void>((resolve) => {
      server.ackPolicy = () => {
        if (!first) return 'ack';
        first = false;
        resolve();
        return 'no-ack';
      };
    });
    server.dropNextLive(1);
    const lost = waitFor(a.client, 'status', (s) => s === 'offline');
    const message = await a.client.sendText(conv, 'once');
    await committed;
    server.closeAll();
    await lost;
    await waitFor(a.client, 'message', (m) => m.uid === message.uid && m.state === 'sent');
    await a.client.whenIdle();
    expect(sendsOf(server)).toHaveLength(2);
    expect(server.log(conv)).toHaveLength(1);
    expect(await a.client.messages(conv, { limit: 10 })).toHaveLength(1);
  });

  it('catches up from its cursor after a restart on the same database, in pages', async () => {
    const server = new FakeServer();
    const conv = dm(server);
    const factory = new IDBFactory();
    const a1 = await makeDevice(server, ALICE, 11n, { factory, dbName: 'alice' });
    for (let i = 0; i < 4; i++) server.commitText(conv, { userId: BOB, deviceId: 21n }, `b${i}`, `old ${i}`);
    await startSynced(a1.client);
    const cursor = (await a1.replica.cursor()).get(conv);
    expect(cursor).toBe(server.log(conv)[3]?.id);
    const offline = await a1.client.sendText(conv, 'written offline');
    await a1.client.stop();
    await a1.replica.close();

    // Meanwhile: new entries, and the offline message never left.
    for (let i = 0; i < 7; i++) server.commitText(conv, { userId: BOB, deviceId: 21n }, `n${i}`, `new ${i}`);
    server.received.length = 0;
    // Simulate the offline message: it was written while the socket was down.
    const a2 = await makeDevice(server, ALICE, 11n, { factory, dbName: 'alice' });
    expect((await a2.replica.pending()).map((i) => i.clientMsgId)).toEqual([offline.clientMsgId]);
    await startSynced(a2.client);
    await a2.client.whenIdle();
    const hello = server.received.find((f) => f.t === 'hello');
    expect(hello?.t === 'hello' && hello.cursor).toEqual([{ conversationId: conv, upto: cursor }]);
    const all = texts(await a2.client.messages(conv, { limit: 50 }));
    expect(all).toEqual([...[0, 1, 2, 3].map((i) => `old ${i}`), ...[0, 1, 2, 3, 4, 5, 6].map((i) => `new ${i}`), 'written offline']);
  });

  it('detects a gap in live entries, pulls, and converges', async () => {
    const server = new FakeServer();
    const conv = dm(server);
    const b = await makeDevice(server, BOB, 21n);
    await startSynced(b.client);
    server.dropNextLive(1);
    server.commitText(conv, { userId: ALICE, deviceId: 11n }, 'x1', 'one');
    server.commitText(conv, { userId: ALICE, deviceId: 11n }, 'x2', 'two');
    await eventually(b.client, async () => (await b.client.messages(conv, { limit: 10 })).length === 2);
    await b.client.whenIdle();
    expect(server.received.filter((f) => f.t === 'pull')).toHaveLength(1);
    expect(texts(await b.client.messages(conv, { limit: 10 }))).toEqual(['one', 'two']);
    expect((await b.replica.cursor()).get(conv)).toBe(server.log(conv)[1]?.id);
  });

  it('ignores duplicated live frames', async () => {
    const server = new FakeServer();
    server.chaos = { duplicate: 1 };
    const conv = dm(server);
    const b = await makeDevice(server, BOB, 21n);
    const messages: string[] = [];
    b.client.on('message', (m) => messages.push(m.uid));
    await startSynced(b.client);
    for (let i = 0; i < 5; i++) server.commitText(conv, { userId: ALICE, deviceId: 11n }, `d${i}`, `dup ${i}`);
    await eventually(b.client, async () => (await b.client.messages(conv, { limit: 10 })).length === 5);
    await b.client.whenIdle();
    expect(new Set(messages).size).toBe(messages.length);
    expect(texts(await b.client.messages(conv, { limit: 10 }))).toEqual([0, 1, 2, 3, 4].map((i) => `dup ${i}`));
  });

  it('converges every device to the server order under seeded drop, duplicate and reorder', async () => {
    for (const seed of [1, 2, 3]) {
      const server = new FakeServer(seed);
      const conv = server.createConversation(ConversationKind.Group, [ALICE, BOB], 'chaos');
      const devices = [
        await makeDevice(server, ALICE, 11n),
        await makeDevice(server, ALICE, 12n),
        await makeDevice(server, BOB, 21n),
      ];
      for (const d of devices) await startSynced(d.client);
      server.chaos = { drop: 0.2, duplicate: 0.2, reorder: 0.3 };
      const sends = [];
      for (let i = 0; i < 12; i++) sends.push(devices[i % 3]!.client.sendText(conv, `m${i}`));
      await Promise.all(sends);
      await eventually(devices[0]!.client, async () => server.log(conv).length === 13);
      // A final frame without chaos exposes any trailing gap.
      server.chaos = {};
      server.commitText(conv, { userId: BOB, deviceId: 29n }, 'tail', 'tail');
      const expected = server.log(conv).map((e) => e.id);
      for (const d of devices) {
        await eventually(d.client, async () => (await d.replica.cursor()).get(conv) === expected.at(-1));
        await d.client.whenIdle();
        const rows = await d.client.messages(conv, { limit: 100 });
        expect(rows.map((m) => m.id)).toEqual(expected);
        // Committed everywhere (own messages may already show delivered or read).
        expect(rows.every((m) => m.id !== null && ['sent', 'delivered', 'read'].includes(m.state))).toBe(true);
      }
      await cleanup();
    }
  });

  it('delivers a device’s own sends to its other devices and keeps groups’ system entries', async () => {
    const server = new FakeServer();
    const a1 = await makeDevice(server, ALICE, 11n);
    const a2 = await makeDevice(server, ALICE, 12n);
    await startSynced(a1.client);
    await startSynced(a2.client);
    const conversation = waitFor(a2.client, 'conversation', (c) => c.kind === 'group');
    const conv = server.createConversation(ConversationKind.Group, [ALICE, BOB], 'team');
    expect((await conversation).name).toBe('team');
    await a1.client.sendText(conv, 'from a1');
    await eventually(a2.client, async () => (await a2.client.messages(conv, { limit: 10 })).length === 2);
    const rows = await a2.client.messages(conv, { limit: 10 });
    expect(rows[0]?.content).toMatchObject({ kind: 'system', event: { op: 'created', userIds: [ALICE, BOB] } });
    expect(texts(rows.slice(1))).toEqual(['from a1']);
  });

  it('marks a send failed for good on a non-retryable error', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Group, [BOB], 'not mine');
    const a = await makeDevice(server, ALICE, 11n);
    await startSynced(a.client);
    const error = waitFor(a.client, 'error');
    const message = await a.client.sendText(conv, 'nope');
    expect((await waitFor(a.client, 'message', (m) => m.uid === message.uid && m.state !== 'pending')).state).toBe('failed');
    expect((await error).code).toBe(ErrorCode.NotAMember);
    expect(await a.replica.pending()).toEqual([]);
  });

  it('retries a send after a retryable error', async () => {
    const server = new FakeServer();
    const conv = dm(server);
    const a = await makeDevice(server, ALICE, 11n);
    await startSynced(a.client);
    server.failNextSend = ErrorCode.Unavailable;
    const message = await a.client.sendText(conv, 'later');
    await waitFor(a.client, 'message', (m) => m.uid === message.uid && m.state === 'sent');
    expect(sendsOf(server)).toHaveLength(2);
    expect(server.log(conv)).toHaveLength(1);
  });

  it('stops for good when the server says unauthenticated', async () => {
    const server = new FakeServer();
    const a = await makeDevice(server, ALICE, 11n);
    server.addDevice(ALICE, 11n, 'other-token');
    // Forget the token the client holds.
    (server as unknown as { tokens: Map<string, unknown> }).tokens.delete('token-11');
    const error = waitFor(a.client, 'error');
    const statuses: string[] = [];
    a.client.on('status', (s) => statuses.push(s));
    a.client.start();
    expect((await error).code).toBe(ErrorCode.Unauthenticated);
    expect(a.client.status).toBe('offline');
    await a.client.whenIdle();
    expect(statuses).toEqual(['connecting', 'offline']);
    expect(server.received.filter((f) => f.t === 'hello')).toHaveLength(1);
  });
});
