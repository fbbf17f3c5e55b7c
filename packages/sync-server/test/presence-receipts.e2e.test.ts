/**
 * Receipts, read-state sync, privacy, presence and typing end to end at the
 * protocol level, with the in-process switchboard and with Redis.
 */
import { describe, expect, it } from 'vitest';
import {
  EntryType,
  PresenceStatus,
  type ConversationId,
  type EntryId,
  type PresenceFrame,
  type ReceiptsFrame,
  type SentFrame,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';
import { testBackend } from './support/server.js';
import { REDIS_URL, SWITCHBOARD_KINDS, redisPrefix, redisReachable, type SwitchboardKind } from './support/stores.js';
import { RawClient, api, register, signIn, type Account } from './support/raw-client.js';
import type { ServerConfig } from '../src/index.js';

const redisOk = await redisReachable();
const GRACE_MS = 5000;

const overrides = (kind: SwitchboardKind): Partial<ServerConfig> =>
  kind === 'redis' ? { redisUrl: REDIS_URL, redisPrefix: redisPrefix(), presenceGraceMs: GRACE_MS } : { presenceGraceMs: GRACE_MS };

/** The newest position of `user` that `c` has been told. */
function position(c: RawClient, conv: ConversationId, user: string): { delivered: bigint; read: bigint } {
  let out = { delivered: 0n, read: 0n };
  for (const f of c.frames) {
    if (f.t !== 'receipts' || f.conversationId !== conv) continue;
    const item = f.items.find((i) => i.userId === BigInt(user));
    if (item) out = { delivered: item.delivered, read: item.read };
  }
  return out;
}
async function until(c: RawClient, check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await c.waitFor(() => true, Math.max(1, deadline - Date.now())).catch(() => undefined);
  }
}
async function sendAcked(c: RawClient, conv: ConversationId, ref: string): Promise<SentFrame> {
  c.send({ t: 'send', conversationId: conv, clientMsgId: ref, type: EntryType.Text, body: new TextEncoder().encode(ref) });
  return (await c.waitFor((f) => f.t === 'sent' && f.clientMsgId === ref)) as SentFrame;
}
const statuses = async (base: string, me: Account, chat: string) =>
  (await api(base, 'GET', `/getMessages?chat_id=${chat}&limit=50`, undefined, me.token)).json.messages
    .filter((m: { sender_id: string }) => m.sender_id === me.userId)
    .map((m: { message_id: string; status: string }) => `${m.message_id}:${m.status}`);

describe.each(SWITCHBOARD_KINDS)('receipts, presence and typing with the %s switchboard', (kind) => {
  describe.skipIf(kind === 'redis' && !redisOk)('', () => {
    it('DM receipts progress sent -> delivered -> read, as cursors, and sync read state to the reader\'s other devices', async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const bob2 = await signIn(s.url, bob.username, 'tablet');
      const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
      const [ca, cb, cb2] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token), await RawClient.connect(s.url, bob2.token)];
      // the snapshot after hello names both members at 0
      expect(ca.frames.find((f): f is ReceiptsFrame => f.t === 'receipts' && f.conversationId === conv)?.items).toHaveLength(2);
      const acks: SentFrame[] = [];
      for (let i = 0; i < 3; i++) acks.push(await sendAcked(ca, conv, `d${i}`));
      expect(await statuses(s.url, alice, bob.userId)).toEqual(['d2:sent', 'd1:sent', 'd0:sent']);
      cb.send({ t: 'ack', conversationId: conv, delivered: acks[1]!.id, read: 0n as EntryId });
      await until(ca, () => position(ca, conv, bob.userId).delivered === acks[1]!.id, 'delivered receipt');
      expect(await statuses(s.url, alice, bob.userId)).toEqual(['d2:sent', 'd1:delivered', 'd0:delivered']);
      cb.send({ t: 'ack', conversationId: conv, delivered: 0n as EntryId, read: acks[2]!.id });
      await until(ca, () => position(ca, conv, bob.userId).read === acks[2]!.id, 'read receipt');
      expect(await statuses(s.url, alice, bob.userId)).toEqual(['d2:read', 'd1:read', 'd0:read']);
      // bob's other device learns his read position (that is how unread clears there)
      await until(cb2, () => position(cb2, conv, bob.userId).read === acks[2]!.id, 'own read synced');
      // positions never move back, and nobody acks the future
      cb.send({ t: 'ack', conversationId: conv, delivered: 1n as EntryId, read: 1n as EntryId });
      cb.send({ t: 'ack', conversationId: conv, delivered: (acks[2]!.id + 1_000_000n) as EntryId, read: 0n as EntryId });
      const later = await sendAcked(ca, conv, 'd3');
      cb.send({ t: 'ack', conversationId: conv, delivered: later.id, read: 0n as EntryId });
      await until(ca, () => position(ca, conv, bob.userId).delivered === later.id, 'delivered d3');
      expect(position(ca, conv, bob.userId).read).toBe(acks[2]!.id);
    });

    it('a group of 5 is delivered/read only when every other member is; an offline member holds it back until they return', async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const users: Account[] = [];
      for (let i = 0; i < 5; i++) users.push(await register(s.url));
      const [owner, ...rest] = users as [Account, ...Account[]];
      const g = BigInt((await api(s.url, 'POST', '/v1/groups', { name: 'g5', member_ids: rest.map((u) => u.userId) }, owner.token)).json.group_id) as ConversationId;
      const co = await RawClient.connect(s.url, owner.token);
      const online = await Promise.all(rest.slice(0, 3).map((u) => RawClient.connect(s.url, u.token)));
      const m = await sendAcked(co, g, 'hello all');
      for (const c of online) c.send({ t: 'ack', conversationId: g, delivered: m.id, read: m.id });
      await until(co, () => rest.slice(0, 3).every((u) => position(co, g, u.userId).read === m.id), 'three read');
      expect(await statuses(s.url, owner, String(g))).toEqual(['hello all:sent']);
      // the fourth member comes back, catches up and acks
      const late = await RawClient.connect(s.url, rest[3]!.token);
      expect(late.entries(g).some((e) => e.id === m.id)).toBe(true);
      late.send({ t: 'ack', conversationId: g, delivered: m.id, read: 0n as EntryId });
      await until(co, () => position(co, g, rest[3]!.userId).delivered === m.id, 'fourth delivered');
      expect(await statuses(s.url, owner, String(g))).toEqual(['hello all:delivered']);
      late.send({ t: 'ack', conversationId: g, delivered: 0n as EntryId, read: m.id });
      await until(co, () => position(co, g, rest[3]!.userId).read === m.id, 'fourth read');
      expect(await statuses(s.url, owner, String(g))).toEqual(['hello all:read']);
    });

    it('coalesces acks: a thousand ack frames become a handful of writes', async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
      const ca = await RawClient.connect(s.url, alice.token);
      const last = await sendAcked(ca, conv, 'x');
      const cb = await RawClient.connect(s.url, bob.token);
      const metric = async () => Number(/tidings_receipt_acks_total (\d+)/.exec(await fetch(`${s.url}/metrics`).then((r) => r.text()))?.[1] ?? 'NaN');
      const before = await metric();
      for (let i = 0; i < 1000; i++) cb.send({ t: 'ack', conversationId: conv, delivered: (last.id - 999n + BigInt(i)) as EntryId, read: 0n as EntryId });
      await until(ca, () => position(ca, conv, bob.userId).delivered === last.id, 'final position');
      expect((await metric()) - before).toBeLessThan(50);
    });

    it('read receipts off: the user neither sends nor sees read positions; delivered still shows; own devices still sync', async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
      const off = await api(s.url, 'PATCH', '/v1/me/settings', { read_receipts: false }, bob.token);
      expect(off.json).toEqual({ read_receipts: false, show_last_seen: true });
      const [ca, cb] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token)];
      expect(cb.frames.find((f) => f.t === 'settings')).toEqual({ t: 'settings', readReceipts: false, showLastSeen: true });
      const toBob = await sendAcked(ca, conv, 'to bob');
      const toAlice = await sendAcked(cb, conv, 'to alice');
      cb.send({ t: 'ack', conversationId: conv, delivered: toBob.id, read: toBob.id });
      ca.send({ t: 'ack', conversationId: conv, delivered: toAlice.id, read: toAlice.id });
      await until(ca, () => position(ca, conv, bob.userId).delivered === toBob.id, 'bob delivered');
      await until(cb, () => position(cb, conv, alice.userId).delivered === toAlice.id, 'alice delivered');
      await until(cb, () => position(cb, conv, bob.userId).read === toBob.id, 'bob sees his own read');
      expect(position(ca, conv, bob.userId).read).toBe(0n); // alice does not see bob's read
      expect(position(cb, conv, alice.userId).read).toBe(0n); // nor bob alice's
      expect(await statuses(s.url, alice, bob.userId)).toEqual(['to bob:delivered']);
      expect(await statuses(s.url, bob, alice.userId)).toEqual(['to alice:delivered']);
      const bad = await api(s.url, 'PATCH', '/v1/me/settings', { read_receipts: 'no' }, bob.token);
      expect(bad.status).toBe(400);
    });

    it(`presence: online on connect, still online through a 3 s disconnect, offline after the ${GRACE_MS / 1000} s grace with the right last seen`, { timeout: 30_000 }, async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const [alice, bob, stranger] = [await register(s.url), await register(s.url), await register(s.url)];
      await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token);
      const ca = await RawClient.connect(s.url, alice.token);
      ca.send({ t: 'watch', userIds: [BigInt(bob.userId) as UserId, BigInt(stranger.userId) as UserId] });
      const first = (await ca.waitFor((f) => f.t === 'presence')) as PresenceFrame;
      // only people one shares a conversation with can be watched
      expect(first.items.map((i) => [String(i.userId), i.status])).toEqual([[bob.userId, PresenceStatus.Offline]]);
      let cb = await RawClient.connect(s.url, bob.token);
      await ca.waitFor((f) => f.t === 'presence' && f.items.some((i) => i.status === PresenceStatus.Online));
      cb.close();
      await cb.whenClosed();
      const blipAt = Date.now();
      await new Promise((r) => setTimeout(r, 3000)); // the 3 s network blip under test, not a wait for an event
      cb = await RawClient.connect(s.url, bob.token);
      expect(Date.now() - blipAt).toBeLessThan(GRACE_MS);
      const presenceFrames = () => ca.frames.filter((f): f is PresenceFrame => f.t === 'presence').flatMap((f) => f.items);
      expect(presenceFrames().map((i) => i.status)).toEqual([PresenceStatus.Offline, PresenceStatus.Online]);
      cb.close();
      await cb.whenClosed();
      const leftAt = Date.now();
      const offline = (await ca.waitFor((f) => f.t === 'presence' && f.items.some((i) => i.status === PresenceStatus.Offline) && Date.now() - leftAt > 100, GRACE_MS + 5000)) as PresenceFrame;
      expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
      const seen = offline.items[0]!.lastSeen;
      expect(Math.abs(seen - leftAt)).toBeLessThan(500);
      // durable: a fresh watcher reads the same last seen from the store
      const ca2 = await RawClient.connect(s.url, alice.token);
      ca2.send({ t: 'watch', userIds: [BigInt(bob.userId) as UserId] });
      const fresh = (await ca2.waitFor((f) => f.t === 'presence')) as PresenceFrame;
      expect(fresh.items[0]).toMatchObject({ status: PresenceStatus.Offline, lastSeen: seen });
      // hiding last seen hides it both ways
      await api(s.url, 'PATCH', '/v1/me/settings', { show_last_seen: false }, bob.token);
      const ca3 = await RawClient.connect(s.url, alice.token);
      ca3.send({ t: 'watch', userIds: [BigInt(bob.userId) as UserId] });
      expect(((await ca3.waitFor((f) => f.t === 'presence')) as PresenceFrame).items[0]).toMatchObject({ status: PresenceStatus.Offline, lastSeen: 0 });
    });

    it('typing is relayed to the other members, rate-limited, and never stored', async () => {
      const s = await (await testBackend('pglite')).start(overrides(kind));
      const [alice, bob, eve] = [await register(s.url), await register(s.url), await register(s.url)];
      const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
      const [ca, cb, ce] = [await RawClient.connect(s.url, alice.token), await RawClient.connect(s.url, bob.token), await RawClient.connect(s.url, eve.token)];
      for (let i = 0; i < 5; i++) ca.send({ t: 'typing', conversationId: conv, active: true });
      ca.send({ t: 'typing', conversationId: conv, active: false });
      await cb.waitFor((f) => f.t === 'typing' && !f.active);
      const typing = cb.frames.filter((f) => f.t === 'typing');
      expect(typing).toEqual([
        { t: 'typing', conversationId: conv, userId: BigInt(alice.userId), active: true },
        { t: 'typing', conversationId: conv, userId: BigInt(alice.userId), active: false },
      ]);
      expect(ca.frames.some((f) => f.t === 'typing')).toBe(false);
      ce.send({ t: 'typing', conversationId: conv, active: true });
      expect((await ce.waitFor((f) => f.t === 'error')) as ServerFrame).toMatchObject({ code: 'not_a_member' });
      const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1', [String(conv)]);
      expect(Number(rows[0]!.n)).toBe(0);
    });
  });
});
