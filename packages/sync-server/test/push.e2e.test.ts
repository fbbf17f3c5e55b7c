/**
 * Web Push end to end: real servers on port 0 and a local push service
 * (test/support/push-service.ts) that verifies each push's VAPID JWT and
 * decrypts its RFC 8291 payload with the subscription's private key.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { EntryType, type ConversationId, type SentFrame, type ServerFrame } from '@tidings/shared';
import { PUSH_DEFAULTS, type PushConfig } from '../src/push/index.js';
import type { RunningServer } from '../src/index.js';
import { RawClient, api, register, type Account } from './support/raw-client.js';
import { testBackend } from './support/server.js';
import { STORE_KINDS, postgresReachable } from './support/stores.js';
import { TestPushService, type TestSubscription } from './support/push-service.js';

const pgOk = await postgresReachable();
const PUSH: PushConfig = {
  ...PUSH_DEFAULTS,
  allowInsecureEndpoints: true,
  coalesceMs: 200,
  pollMs: 100,
  retryBaseMs: 100,
  retryMaxMs: 400,
};

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function dm(base: string, a: Account, b: Account): Promise<ConversationId> {
  const r = await api(base, 'POST', '/v1/dms', { user_id: b.userId }, a.token);
  expect(r.status).toBe(200);
  return BigInt(r.json.conversation_id) as ConversationId;
}

async function subscribe(s: RunningServer, ps: TestPushService, who: Account): Promise<TestSubscription> {
  const sub = ps.subscribe();
  const r = await api(s.url, 'POST', '/v1/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys }, who.token);
  expect(r.status).toBe(201);
  return sub;
}

const isSent =
  (ref: string) =>
  (f: ServerFrame): f is SentFrame =>
    f.t === 'sent' && f.clientMsgId === ref;
let refs = 0;
/** Send texts over a socket without waiting between them, then wait for every ack. */
async function sendTexts(c: RawClient, conversationId: ConversationId, count = 1): Promise<void> {
  const mine = Array.from({ length: count }, () => `m${++refs}`);
  for (const ref of mine)
    c.send({ t: 'send', conversationId, clientMsgId: ref, type: EntryType.Text, body: new TextEncoder().encode(`secret ${ref}`) });
  await Promise.all(mine.map((ref) => c.next(isSent(ref))));
}

const queueEmpty = async (s: RunningServer) => {
  const { rows } = await s.db.query<{ n: unknown }>('SELECT (SELECT count(*) FROM push_pending) + (SELECT count(*) FROM push_outbox) AS n');
  return Number(rows[0]?.n) === 0;
};

async function metric(s: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe.each(STORE_KINDS)('web push on %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !pgOk)('', () => {
    /** A server with push tuned for tests, its push service, and alice (online sender) and bob (offline, subscribed). */
    async function setup(push: Partial<PushConfig> = {}) {
      const backend = await testBackend(kind);
      const s = await backend.start({ presenceGraceMs: 0, push: { ...PUSH, ...push } });
      const key = (await api(s.url, 'GET', '/v1/push/vapid-public-key')).json.public_key as string;
      const ps = await TestPushService.start(key);
      const [alice, bob] = [await register(s.url), await register(s.url)];
      const conv = await dm(s.url, alice, bob);
      const bobSub = await subscribe(s, ps, bob);
      const ca = await RawClient.connect(s.url, alice.token);
      return { backend, s, ps, alice, bob, conv, bobSub, ca };
    }

    it('coalesces a burst of 50 messages to an offline user into one push naming the conversation and the count, never content; the sender gets none', async () => {
      const { s, ps, alice, bob, conv, bobSub, ca } = await setup({ coalesceMs: 1000 });
      const aliceSub = await subscribe(s, ps, alice);
      await sendTexts(ca, conv, 50);
      const push = await ps.next((p) => p.subscriptionId === bobSub.id);
      expect(push.payload).toEqual({ c: conv.toString(), n: 50 });
      expect(JSON.stringify(push.payload)).not.toContain('secret');
      // An opaque Topic (RFC 8030 collapse key): stable per conversation, not its id.
      const topic = push.headers.topic as string;
      expect(topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
      expect(topic).not.toContain(conv.toString());
      expect(Number(push.headers.ttl)).toBe(PUSH.ttlSeconds);

      // Alice goes offline and sends one more over HTTP: bob gets a second push (same topic); alice, the sender, none.
      ca.close();
      await until('alice to be offline', () => s.connections() === 0);
      const r = await api(
        s.url,
        'POST',
        '/sendMessage',
        { message_id: 'late-1', sender_id: alice.userId, receiver_id: bob.userId, type: 'text', content: { ciphertext: 'eA==' } },
        alice.token,
      );
      expect(r.status).toBe(200);
      const second = await ps.next((p) => p.subscriptionId === bobSub.id && p !== push);
      expect(second.payload).toEqual({ c: conv.toString(), n: 1 });
      expect(second.headers.topic).toBe(topic);
      await until('the queue to drain', () => queueEmpty(s));
      expect(ps.received.filter((p) => p.subscriptionId === bobSub.id)).toHaveLength(2);
      expect(ps.requests.filter((q) => q.subscriptionId === aliceSub.id)).toHaveLength(0);
      expect(ps.errors).toEqual([]);
      expect(await metric(s, 'tidings_push_sent_total')).toBe(2);
    });

    it('sends no push while a device of the recipient is online', async () => {
      const { s, ps, bob, conv, bobSub, ca } = await setup();
      const cb = await RawClient.connect(s.url, bob.token);
      await sendTexts(ca, conv);
      await cb.next((f) => f.t === 'entries' && f.live === true);
      cb.close();
      await until('bob to be offline', () => s.connections() === 1);
      // Sent while bob was online, the first message was never queued: the push counts only the second.
      await sendTexts(ca, conv);
      const push = await ps.next((p) => p.subscriptionId === bobSub.id);
      expect(push.payload).toEqual({ c: conv.toString(), n: 1 });
      await until('the queue to drain', () => queueEmpty(s));
      expect(ps.received).toHaveLength(1);
    });

    it('sends no push for a muted conversation, and pushes again once unmuted', async () => {
      const { s, ps, bob, conv, bobSub, ca } = await setup();
      const carol = await register(s.url);
      const other = await dm(s.url, carol, bob);
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true }, bob.token)).json).toEqual({
        muted: true,
        until: null,
      });
      await sendTexts(ca, conv, 3);
      const cc = await RawClient.connect(s.url, carol.token);
      await sendTexts(cc, other);
      const push = await ps.next((p) => p.subscriptionId === bobSub.id);
      expect(push.payload).toEqual({ c: other.toString(), n: 1 });
      await until('the queue to drain', () => queueEmpty(s));
      expect(ps.received.map((p) => p.payload.c)).toEqual([other.toString()]);

      // Unmuted (or muted until a time now past): pushes again.
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: false }, bob.token)).status).toBe(200);
      await sendTexts(ca, conv);
      expect((await ps.next((p) => p.payload.c === conv.toString())).payload.n).toBe(1);

      // A timed mute is honoured too; bad requests are refused with typed errors.
      const until_ = Date.now() + 60_000;
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true, until: until_ }, bob.token)).json).toEqual({
        muted: true,
        until: until_,
      });
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true, until: 5 }, bob.token)).status).toBe(400);
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: 'yes' }, bob.token)).status).toBe(400);
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true }, carol.token)).json.error.code).toBe('not_found');
      expect((await api(s.url, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true })).status).toBe(401);
    });

    it('retries a push the push service answered 500, with backoff', async () => {
      const { s, ps, conv, bobSub, ca } = await setup();
      ps.script(bobSub.id, 500, 503);
      await sendTexts(ca, conv, 2);
      const push = await ps.next((p) => p.subscriptionId === bobSub.id);
      expect(push.payload).toEqual({ c: conv.toString(), n: 2 });
      expect(ps.requests.map((r) => r.status)).toEqual([500, 503, 201]);
      expect(await metric(s, 'tidings_push_failed_total{provider="webpush",reason="retry"}')).toBe(2);
      await until('the queue to drain', () => queueEmpty(s));
    });

    it('removes a subscription the push service answers 410 for', async () => {
      const { s, ps, bob, conv, bobSub, ca } = await setup();
      const listed = await api(s.url, 'GET', '/v1/push/subscriptions', undefined, bob.token);
      expect(listed.json.subscriptions.map((x: { endpoint: string }) => x.endpoint)).toEqual([bobSub.endpoint]);
      ps.script(bobSub.id, 410);
      await sendTexts(ca, conv);
      await ps.requestsTo(bobSub.id, 1);
      await until(
        'the subscription to be removed',
        async () => (await api(s.url, 'GET', '/v1/push/subscriptions', undefined, bob.token)).json.subscriptions.length === 0,
      );
      expect(await metric(s, 'tidings_push_subscriptions_removed_total')).toBe(1);
      // With no subscription left, nothing is queued for bob any more.
      await sendTexts(ca, conv);
      expect(await queueEmpty(s)).toBe(true);
      expect(ps.requests).toHaveLength(1);
    });

    it('delivers a queued push after a server restart (the queue is durable; VAPID keys are kept in the data dir)', async () => {
      const { backend, s, ps, conv, bobSub, ca } = await setup({ retryBaseMs: 200, retryMaxMs: 200 });
      await ps.down();
      await sendTexts(ca, conv, 3);
      await until('a failed attempt', async () => {
        const { rows } = await s.db.query<{ attempts: unknown }>('SELECT attempts FROM push_outbox');
        return Number(rows[0]?.attempts ?? 0) >= 1;
      });
      ca.close();
      await s.close();
      const vapid = await stat(path.join(backend.config.dataDir, 'vapid.json'));
      expect(vapid.mode & 0o777).toBe(0o600);

      await ps.up();
      const s2 = await backend.start({ presenceGraceMs: 0, push: PUSH });
      const push = await ps.next((p) => p.subscriptionId === bobSub.id);
      expect(push.payload).toEqual({ c: conv.toString(), n: 3 });
      expect(ps.errors).toEqual([]);
      await until('the queue to drain', () => queueEmpty(s2));
    });

    it('validates subscriptions: https endpoints only unless configured, keys of the right size, per user', async () => {
      const backend = await testBackend(kind);
      const keys = webpush.generateVAPIDKeys();
      const s = await backend.start({ push: { ...PUSH_DEFAULTS, vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey, endpointHosts: [...PUSH_DEFAULTS.endpointHosts, 'push.example.net'] } });
      expect((await api(s.url, 'GET', '/v1/push/vapid-public-key')).json).toEqual({ public_key: keys.publicKey });
      const [a, b] = [await register(s.url), await register(s.url)];
      const ps = await TestPushService.start(keys.publicKey);
      const sub = ps.subscribe();
      const post = (body: unknown, token = a.token) => api(s.url, 'POST', '/v1/push/subscriptions', body, token);
      // http://127.0.0.1 is refused unless PUSH_ALLOW_INSECURE_ENDPOINTS is set.
      expect((await post({ endpoint: sub.endpoint, keys: sub.keys })).json.error.code).toBe('invalid_argument');
      const endpoint = 'https://push.example.net/wpush/v2/abc';
      expect((await post({ endpoint: 'ftp://x/y', keys: sub.keys })).status).toBe(400);
      // The server POSTs to endpoints: only push services' hosts (and their subdomains) are accepted, never internal ones.
      for (const bad of ['https://169.254.169.254/latest/meta-data', 'https://internal.example.net/x', 'https://push.example.net.evil.org/x', 'https://user:pw@push.example.net/x']) {
        const res = await post({ endpoint: bad, keys: sub.keys });
        expect(res.json.error.code, bad).toBe('invalid_argument');
      }
      expect((await post({ endpoint: 'https://eu.push.example.net/wpush/v2/def', keys: sub.keys })).status).toBe(201);
      expect((await post({ endpoint, keys: { ...sub.keys, p256dh: 'AAAA' } })).status).toBe(400);
      expect((await post({ endpoint, keys: { ...sub.keys, auth: Buffer.alloc(8).toString('base64url') } })).status).toBe(400);
      expect((await post({ endpoint, keys: sub.keys, extra: 1 })).status).toBe(400);
      expect((await api(s.url, 'POST', '/v1/push/subscriptions', { endpoint, keys: sub.keys })).status).toBe(401);
      expect((await post({ endpoint, expirationTime: null, keys: sub.keys })).status).toBe(201);
      // Another user cannot remove it; its owner can, once.
      const del = (token: string) => api(s.url, 'DELETE', '/v1/push/subscriptions', { endpoint }, token);
      expect((await del(b.token)).status).toBe(404);
      expect((await del(a.token)).status).toBe(204);
      expect((await del(a.token)).status).toBe(404);
      expect((await api(s.url, 'GET', '/v1/push/subscriptions', undefined, a.token)).json.subscriptions).toHaveLength(1);
    });
  });
});
