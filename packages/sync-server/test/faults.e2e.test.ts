/**
 * Faults on one node: a client that stops reading is dropped (the server caps
 * what it buffers) and catches up by cursor; kill -9 of the only node in the
 * middle of a burst, restarted on the same database: every acked message is
 * there and the clients' outboxes resend the rest exactly once; an ack for a
 * conversation the device is not in is refused with a typed error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode, EntryType, type ConversationId, type EntryId, type ErrorFrame, type ServerFrame } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { freshPostgresDatabase, postgresReachable } from './support/stores.js';
import { RawClient, api, register } from './support/raw-client.js';
import { startNode } from './support/processes.js';
import { account, device, history, texts, until } from './support/devices.js';

const pgOk = await postgresReachable();

describe('faults on one node', () => {
  it('drops a client that stops reading, and the client catches up by cursor', async () => {
    // Loopback TCP absorbs tens of MB (tcp_rmem autotunes to 32 MB here) before the server's own buffer grows: send past that.
    const s = await (await testBackend(pgOk ? 'postgres' : 'pglite')).start({ maxSocketBufferBytes: 1024 * 1024 });
    const [alice, bob] = [await register(s.url), await register(s.url)];
    const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
    const cb = await RawClient.connect(s.url, bob.token);
    // bob stops reading: his TCP receive window fills and the server's buffer for him grows
    (cb.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // the sender uses HTTP, so only bob's socket carries the flood
    const n = 600;
    const body = Buffer.alloc(80 * 1024, 7).toString('base64');
    for (let i = 0; i < n; i += 20) {
      const batch = Array.from({ length: Math.min(20, n - i) }, (_, k) =>
        api(s.url, 'POST', '/sendMessage', { message_id: `p${i + k}`, sender_id: alice.userId, receiver_id: bob.userId, type: 'text', content: { ciphertext: body } }, alice.token),
      );
      for (const r of await Promise.all(batch)) expect(r.status).toBe(200);
    }
    const slow = Number(/tidings_ws_slow_consumers_total (\d+)/.exec(await fetch(`${s.url}/metrics`).then((r) => r.text()))?.[1]);
    expect(slow).toBeGreaterThanOrEqual(1);
    (cb.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await cb.whenClosed(30_000)).code).toBe(CloseCode.TooSlow);
    // what bob durably got is a prefix; from its end he resumes and gets the rest, each exactly once
    const got = cb.entries(conv);
    const upto = (got[got.length - 1]?.id ?? 0n) as EntryId;
    const again = await RawClient.open(s.url);
    again.send({ t: 'hello', token: bob.token, cursor: [{ conversationId: conv, upto }] });
    await again.next((f) => f.t === 'synced', 90_000); // tens of MB of catch-up on a loaded machine
    const all = [...got, ...again.entries(conv)];
    // sends went 20 at a time in parallel, so commit order within a batch is the server's: compare as a set, in log order
    expect(all.map((e) => e.clientMsgId).sort()).toEqual(Array.from({ length: n }, (_, i) => `p${i}`).sort());
    expect(new Set(all.map((e) => e.id)).size).toBe(n);
    for (let i = 1; i < all.length; i++) expect(all[i]!.id > all[i - 1]!.id).toBe(true);
    // and the server kept serving everyone else throughout
    const ca = await RawClient.connect(s.url, alice.token);
    ca.send({ t: 'ping', nonce: 1 });
    await ca.next((f) => f.t === 'pong');
  }, 150_000);

  it('answers an ack for a foreign or unknown conversation with not_a_member and moves no receipt', async () => {
    const s = await (await testBackend(pgOk ? 'postgres' : 'pglite')).start();
    const [alice, bob, eve] = [await register(s.url), await register(s.url), await register(s.url)];
    const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
    const ca = await RawClient.connect(s.url, alice.token);
    ca.send({ t: 'send', conversationId: conv, clientMsgId: 'x1', type: EntryType.Text, body: new TextEncoder().encode('hi') });
    const id = ((await ca.next((f) => f.t === 'sent')) as Extract<ServerFrame, { t: 'sent' }>).id;
    const receipts = async () => (await s.db.query<{ user_id: unknown }>('SELECT user_id FROM receipts WHERE conversation_id = $1', [String(conv)])).rows.map((r) => String(r.user_id));
    const before = await receipts();
    const ce = await RawClient.connect(s.url, eve.token);
    const isErr = (f: ServerFrame): f is ErrorFrame => f.t === 'error';
    ce.send({ t: 'ack', conversationId: conv, delivered: id, read: id });
    expect(((await ce.waitFor(isErr)) as ErrorFrame).code).toBe('not_a_member');
    ce.send({ t: 'ack', conversationId: (conv + 1n) as ConversationId, delivered: id, read: id });
    expect(((await ce.waitFor(isErr)) as ErrorFrame).code).toBe('not_a_member');
    // a member's ack still moves their position (so the unchanged table below means something), and eve's socket still serves
    const cb = await RawClient.connect(s.url, bob.token);
    cb.send({ t: 'ack', conversationId: conv, delivered: id, read: 0n as EntryId });
    await ca.waitFor((f) => f.t === 'receipts' && f.items.some((i) => i.userId === BigInt(bob.userId) && i.delivered === id));
    ce.send({ t: 'ping', nonce: 9 });
    await ce.next((f) => f.t === 'pong');
    expect(ce.frames.filter(isErr)).toHaveLength(2);
    expect(cb.frames.filter(isErr)).toHaveLength(0);
    expect((await receipts()).filter((u) => !before.includes(u))).toEqual([bob.userId]);
  });

  describe.skipIf(!pgOk)('kill -9', () => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());

    it('keeps every acked message and resends the rest exactly once after a restart', async () => {
      const db = await freshPostgresDatabase();
      drop = db.drop;
      const env = { DATABASE_URL: db.url, RATE_LIMIT: 'off' };
      let node = await startNode({ ...env, NODE_ID: '7', NODE_LEASE_TTL_MS: '3000' });
      const port = node.port;
      const a = await device(node.url, await account(node.url, 'kim'));
      const bobCreds = await account(node.url, 'lou');
      const conv = await a.client.openDm(bobCreds.userId);
      await until([a.client], async () => a.client.status === 'online', 15_000, 'online');
      for (let i = 0; i < 100; i++) await a.client.sendText(conv, `m${i}`);
      await until([a.client], async () => (await history(a.client, conv)).filter((m) => m.id !== null).length >= 20, 30_000, 'some acked');
      const acked = (await history(a.client, conv)).filter((m) => m.id !== null).map((m) => String(m.id));
      await node.kill9();
      // the node comes back on the same port and database (waiting for its own stale lease to lapse);
      // alice's engine reconnects by itself and its outbox resends whatever was not acked
      node = await startNode({ ...env, NODE_ID: '7', NODE_LEASE_TTL_MS: '3000' }, { port });
      const b = await device(node.url, bobCreds);
      await until([a.client, b.client], async () => (await history(b.client, conv)).length === 100 && (await history(a.client, conv)).every((m) => m.id !== null), 60_000, 'all 100');
      const got = await history(b.client, conv);
      expect(texts(got)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
      expect(new Set(got.map((m) => String(m.id))).size).toBe(100);
      for (const id of acked) expect(got.map((m) => String(m.id))).toContain(id);
      await node.kill9();
    }, 120_000);
  });
});
