/**
 * The message log end to end at the protocol level, against a real server on
 * port 0, over both store adapters (PGlite and a real PostgreSQL server).
 */
import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  EntryType,
  PROTOCOL_VERSION,
  encodeClientFrame,
  type ConversationId,
  type EntriesFrame,
  type EntryId,
  type ErrorFrame,
  type SentFrame,
  type ServerFrame,
} from '@tidings/shared';
import { testBackend } from './support/server.js';
import { postgresReachable, STORE_KINDS } from './support/stores.js';
import { RawClient, api, register, signIn } from './support/raw-client.js';

const pgOk = await postgresReachable();
const enc = new TextEncoder();
const body = (s: string) => enc.encode(s);
const isSent = (ref: string) => (f: ServerFrame): f is SentFrame => f.t === 'sent' && f.clientMsgId === ref;
const isError = (ref: string) => (f: ServerFrame): f is ErrorFrame => f.t === 'error' && f.ref === ref;
const textOf = (c: RawClient, conv: string | bigint) =>
  c.entries(BigInt(conv) as ConversationId).filter((e) => e.type === EntryType.Text).map((e) => new TextDecoder().decode(e.body));

async function dm(base: string, a: { token: string }, b: { userId: string }): Promise<ConversationId> {
  const r = await api(base, 'POST', '/v1/dms', { user_id: b.userId }, a.token);
  expect(r.status).toBe(200);
  return BigInt(r.json.conversation_id) as ConversationId;
}

/** Send and wait for the ack. */
async function sendText(c: RawClient, conversationId: ConversationId, ref: string, text = ref): Promise<SentFrame> {
  c.send({ t: 'send', conversationId, clientMsgId: ref, type: EntryType.Text, body: body(text) });
  return c.waitFor(isSent(ref)) as Promise<SentFrame>;
}

function expectChain(entries: readonly { id: EntryId; prevId: EntryId }[]): void {
  for (let i = 1; i < entries.length; i++) {
    expect(entries[i]!.id).toBeGreaterThan(entries[i - 1]!.id);
    expect(entries[i]!.prevId).toBe(entries[i - 1]!.id);
  }
}

describe.each(STORE_KINDS)('message log on %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !pgOk)('', () => {
    it('delivers a DM live to the online recipient and acks the sender after commit', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const [ca, cb] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token)];
      const got = cb.waitFor((f) => f.t === 'entries' && f.live);
      const ack = await sendText(ca, conv, 'hello-1', 'hello bob');
      const live = (await got) as EntriesFrame;
      expect(live.entries).toHaveLength(1);
      expect(live.entries[0]).toMatchObject({ id: ack.id, clientMsgId: 'hello-1', senderUserId: BigInt(alice.userId), senderDeviceId: BigInt(alice.deviceId) });
      expect(new TextDecoder().decode(live.entries[0]!.body)).toBe('hello bob');
      // The sender's own device gets the entry too, so its cursor has no gap.
      await ca.next((f) => f.t === 'entries' && f.entries.some((e) => e.id === ack.id));
      // And the peer learned about the DM itself.
      expect(cb.frames.some((f) => f.t === 'conversation' && f.conversation.id === conv && f.conversation.members.includes(BigInt(alice.userId) as never))).toBe(true);
    });

    it('an offline recipient gets all 100 messages in order, exactly once, on connect', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const ca = await RawClient.connect(s.url, alice.token);
      const sends = Array.from({ length: 100 }, (_, i) => {
        ca.send({ t: 'send', conversationId: conv, clientMsgId: `m${i}`, type: EntryType.Text, body: body(`msg ${i}`) });
        return ca.waitFor(isSent(`m${i}`));
      });
      await Promise.all(sends);
      const cb = await RawClient.connect(s.url, bob.token);
      const got = cb.entries(conv);
      expect(got.map((e) => new TextDecoder().decode(e.body))).toEqual(Array.from({ length: 100 }, (_, i) => `msg ${i}`));
      expectChain(got);
      expect(cb.frames.filter((f) => f.t === 'entries').every((f) => !(f as EntriesFrame).live)).toBe(true);
      // A reconnect from the cursor gets nothing again; from the 50th, the last 50.
      const again = await RawClient.connect(s.url, bob.token, [{ conversationId: conv, upto: got[99]!.id }]);
      expect(again.entries(conv)).toHaveLength(0);
      const half = await RawClient.connect(s.url, bob.token, [{ conversationId: conv, upto: got[49]!.id }]);
      expect(half.entries(conv).map((e) => e.id)).toEqual(got.slice(50).map((e) => e.id));
    });

    it("one user's two devices see the same history in the same order", async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const bob2 = await signIn(s.url, bob.username, 'tablet');
      expect(bob2.userId).toBe(bob.userId);
      expect(bob2.deviceId).not.toBe(bob.deviceId);
      const conv = await dm(s.url, alice, bob);
      const [ca, cb1] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token)];
      for (let i = 0; i < 10; i++) {
        const from = i % 2 ? cb1 : ca;
        from.send({ t: 'send', conversationId: conv, clientMsgId: `x${i}`, type: EntryType.Text, body: body(`t${i}`) });
      }
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? cb1 : ca).next(isSent(`x${i}`))));
      const cb2 = await RawClient.connect(s.url, bob2.token);
      await cb1.next((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === 'x9'));
      await cb1.next((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === 'x8'));
      const ids1 = cb1.entries(conv).map((e) => e.id).sort((a, b) => (a < b ? -1 : 1));
      expect(cb2.entries(conv).map((e) => e.id)).toEqual(ids1);
      expect(textOf(cb2, conv)).toHaveLength(10);
    });

    it('a group of 5: members join and leave; joiners read from their join, leavers stop receiving', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const users = [];
      for (let i = 0; i < 6; i++) users.push(await register(s.url));
      const [owner, m1, m2, m3, m4, late] = users as [typeof users[0], ...typeof users];
      const created = await api(s.url, 'POST', '/v1/groups', { name: 'five', member_ids: [m1!.userId, m2!.userId, m3!.userId, m4!.userId] }, owner.token);
      expect(created.status).toBe(201);
      const g = BigInt(created.json.group_id) as ConversationId;
      const clients = await Promise.all([owner, m1!, m2!, m3!, m4!].map((u) => RawClient.connect(s.url, u.token)));
      await sendText(clients[0]!, g, 'before-join');
      // add a sixth member; they see the announcement and what follows, not what came before
      const add = await api(s.url, 'POST', `/v1/groups/${g}/members`, { user_ids: [late!.userId] }, m1!.token);
      expect(add.status).toBe(200);
      await sendText(clients[2]!, g, 'after-join');
      const cl = await RawClient.connect(s.url, late!.token);
      expect(textOf(cl, g)).toEqual(['after-join']);
      const sys = cl.entries(g).filter((e) => e.type === EntryType.System).map((e) => JSON.parse(new TextDecoder().decode(e.body)));
      expect(sys).toEqual([{ op: 'members_added', user_ids: [late!.userId], by: m1!.userId }]);
      // only an admin removes others
      const denied = await api(s.url, 'DELETE', `/v1/groups/${g}/members/${m2!.userId}`, undefined, m1!.token);
      expect(denied.status).toBe(403);
      expect(denied.json.error.code).toBe('forbidden');
      const left = clients[4]!.waitFor((f) => f.t === 'conversation' && f.conversation.left);
      const removed = await api(s.url, 'DELETE', `/v1/groups/${g}/members/${m4!.userId}`, undefined, owner.token);
      expect(removed.status).toBe(200);
      await left;
      await sendText(clients[1]!, g, 'after-leave');
      clients[4]!.send({ t: 'send', conversationId: g, clientMsgId: 'ghost', type: EntryType.Text, body: body('ghost') });
      expect((await clients[4]!.waitFor(isError('ghost')) as ErrorFrame).code).toBe('not_a_member');
      // everyone still in the group converges on the same ordered log; the leaver stops at its removal
      for (const c of [...clients.slice(0, 4), cl]) await c.next((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === 'after-leave'));
      const fresh = await Promise.all([owner, m1!].map((u) => RawClient.connect(s.url, u.token)));
      const full = fresh[0]!.entries(g).map((e) => e.id);
      expect(fresh[1]!.entries(g).map((e) => e.id)).toEqual(full);
      expect(textOf(fresh[0]!, g)).toEqual(['before-join', 'after-join', 'after-leave']);
      const leaver = await RawClient.connect(s.url, m4!.token);
      expect(textOf(leaver, g)).toEqual(['before-join', 'after-join']);
      expect(textOf(leaver, g)).not.toContain('after-leave');
      expect(leaver.frames.some((f) => f.t === 'conversation' && f.conversation.id === g && f.conversation.left)).toBe(true);
    });

    it('a send retried 5 times appears once, over WebSocket and over HTTP', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const ca = await RawClient.connect(s.url, alice.token);
      for (let i = 0; i < 5; i++) ca.send({ t: 'send', conversationId: conv, clientMsgId: 'same', type: EntryType.Text, body: body('once') });
      await ca.next(isSent('same'));
      while (ca.frames.filter(isSent('same')).length < 5) await ca.waitFor(isSent('same'));
      const acks = ca.frames.filter(isSent('same'));
      expect(new Set(acks.map((a) => a.id)).size).toBe(1);
      const http = [];
      for (let i = 0; i < 5; i++) {
        http.push(await api(s.url, 'POST', '/sendMessage', { message_id: 'h1', sender_id: alice.userId, receiver_id: bob.userId, type: 'text', content: { ciphertext: 'b25jZQ==' } }, alice.token));
      }
      expect(new Set(http.map((r) => r.json.id)).size).toBe(1);
      const cb = await RawClient.connect(s.url, bob.token);
      expect(textOf(cb, conv)).toEqual(['once', 'once']);
      const page = await api(s.url, 'GET', `/getMessages?chat_id=${alice.userId}`, undefined, bob.token);
      expect(page.json.messages.map((m: { message_id: string }) => m.message_id)).toEqual(['h1', 'same']);
    });

    it('a non-member can neither read nor append, and gets a clear error', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob, eve] = [await register(s.url), await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const ca = await RawClient.connect(s.url, alice.token);
      await sendText(ca, conv, 'secret');
      const ce = await RawClient.connect(s.url, eve.token, [{ conversationId: conv, upto: 0n as EntryId }]);
      expect(ce.entries(conv)).toHaveLength(0);
      ce.send({ t: 'send', conversationId: conv, clientMsgId: 'intrude', type: EntryType.Text, body: body('x') });
      expect((await ce.waitFor(isError('intrude')) as ErrorFrame).code).toBe('not_a_member');
      ce.send({ t: 'pull', conversationId: conv, after: 0n as EntryId });
      expect(((await ce.waitFor((f) => f.t === 'error')) as ErrorFrame).code).toBe('not_a_member');
      const g = await api(s.url, 'POST', '/v1/groups', { name: 'private', member_ids: [bob.userId] }, alice.token);
      const read = await api(s.url, 'GET', `/getMessages?chat_id=${g.json.group_id}`, undefined, eve.token);
      expect(read.status).toBe(403);
      expect(read.json.error.code).toBe('not_a_member');
      const write = await api(s.url, 'POST', '/sendMessage', { message_id: 'e1', sender_id: eve.userId, receiver_id: g.json.group_id, type: 'text', content: { ciphertext: 'eA==' } }, eve.token);
      expect(write.status).toBe(403);
      const spoof = await api(s.url, 'POST', '/sendMessage', { message_id: 'e2', sender_id: alice.userId, receiver_id: bob.userId, type: 'text', content: { ciphertext: 'eA==' } }, eve.token);
      expect(spoof.json.error.code).toBe('forbidden');
      // nothing changed: the DM still holds exactly alice's one message
      const cb = await RawClient.connect(s.url, bob.token);
      expect(textOf(cb, conv)).toEqual(['secret']);
    });

    it('keeps every acked message across a server restart on the same storage', async () => {
      const backend = await testBackend(kind);
      let s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const ca = await RawClient.connect(s.url, alice.token);
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => {
        ca.send({ t: 'send', conversationId: conv, clientMsgId: `r${i}`, type: EntryType.Text, body: body(`r${i}`) });
        return ca.waitFor(isSent(`r${i}`)) as Promise<SentFrame>;
      }));
      await s.close();
      expect((await ca.whenClosed()).code).toBe(CloseCode.GoingAway);
      s = await backend.start();
      const cb = await RawClient.connect(s.url, bob.token);
      expect(cb.entries(conv).map((e) => e.id)).toEqual(acks.map((a) => a.id).sort((a, b) => (a < b ? -1 : 1)));
      // ids keep increasing after the restart
      const ca2 = await RawClient.connect(s.url, alice.token);
      const after = await sendText(ca2, conv, 'after-restart');
      expect(after.id).toBeGreaterThan(acks.map((a) => a.id).reduce((m, x) => (x > m ? x : m)));
    });

    it('answers bad frames with typed errors and keeps serving', async () => {
      const backend = await testBackend(kind);
      const s = await backend.start();
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const bad = await RawClient.open(s.url);
      bad.send({ t: 'hello', token: 'not-a-real-token-at-all', cursor: [] });
      expect((await bad.whenClosed()).code).toBe(CloseCode.Unauthenticated);
      expect((bad.frames[0] as ErrorFrame).code).toBe('unauthenticated');
      const early = await RawClient.open(s.url);
      early.send({ t: 'ping', nonce: 1 });
      expect((await early.whenClosed()).code).toBe(CloseCode.Unauthenticated);
      const ca = await RawClient.connect(s.url, alice.token);
      ca.sendBytes(new Uint8Array([PROTOCOL_VERSION, 2, 1, 2, 3]));
      expect(((await ca.waitFor((f) => f.t === 'error')) as ErrorFrame).code).toBe('invalid_frame');
      ca.sendBytes('{"json": "is not the protocol"}');
      expect(((await ca.waitFor((f) => f.t === 'error')) as ErrorFrame).code).toBe('invalid_frame');
      // a NUL in an idempotency key is refused up front and does not fail anyone else's send in the same batch
      const cb = await RawClient.connect(s.url, bob.token);
      ca.sendBytes(encodeClientFrame({ t: 'send', conversationId: conv, clientMsgId: 'a\u0000b', type: EntryType.Text, body: body('x') }));
      cb.send({ t: 'send', conversationId: conv, clientMsgId: 'bobs', type: EntryType.Text, body: body('fine') });
      expect(((await ca.waitFor((f) => f.t === 'error')) as ErrorFrame).code).toBe('invalid_frame');
      await cb.next(isSent('bobs'));
      ca.send({ t: 'send', conversationId: conv, clientMsgId: 'sys', type: EntryType.System, body: body('forged') });
      expect((await ca.waitFor(isError('sys')) as ErrorFrame).code).toBe('invalid_argument');
      // the same socket still works
      const ok = await sendText(ca, conv, 'still-here');
      expect(ok.id).toBeGreaterThan(0n);
      ca.send({ t: 'ping', nonce: 42 });
      await ca.waitFor((f) => f.t === 'pong' && f.nonce === 42);
    });
  });
});

describe('large entries', () => {
  it('splits live pushes and catch-up pages so no frame exceeds the frame limit', async () => {
    const { MAX_BODY_BYTES } = await import('@tidings/shared');
    const backend = await testBackend('pglite');
    const s = await backend.start();
    const [alice, bob] = [await register(s.url), await register(s.url)];
    const conv = await dm(s.url, alice, bob);
    const [ca, cb] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token)];
    // six maximum-size bodies sent at once commit in one batch: 3 MiB, three times the frame limit
    const big = new Uint8Array(MAX_BODY_BYTES).fill(1);
    for (let i = 0; i < 6; i++) ca.send({ t: 'send', conversationId: conv, clientMsgId: `big${i}`, type: EntryType.Text, body: big });
    await ca.next(isSent('big5'), 30_000);
    await cb.next((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === 'big5'), 30_000);
    expect(cb.entries(conv).map((e) => e.clientMsgId)).toEqual(['big0', 'big1', 'big2', 'big3', 'big4', 'big5']);
    const late = await RawClient.connect(s.url, bob.token);
    expect(late.entries(conv).map((e) => e.body.length)).toEqual(Array(6).fill(MAX_BODY_BYTES));
  });
});
