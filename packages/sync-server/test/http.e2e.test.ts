/** The HTTP boundary: the seed API's paging and validation, auth, limits, health and metrics, config. */
import { beforeAll, describe, expect, it } from 'vitest';
import { EntryType, MAX_HTTP_JSON_BYTES, type ConversationId, type SentFrame, type ServerFrame } from '@tidings/shared';
import { configFromEnv, type RunningServer } from '../src/index.js';
import { testBackend } from './support/server.js';
import { RawClient, api, register, type Account } from './support/raw-client.js';

describe('seed HTTP API', () => {
  let s: RunningServer;
  let alice: Account;
  let bob: Account;
  beforeAll(async () => {
    s = await (await testBackend('pglite')).start();
    [alice, bob] = [await register(s.url), await register(s.url)];
  });

  const send = (from: Account, to: string, id: string, extra: Record<string, unknown> = {}) =>
    api(s.url, 'POST', '/sendMessage', { message_id: id, sender_id: from.userId, receiver_id: to, type: 'text', content: { ciphertext: Buffer.from(id).toString('base64') }, ...extra }, from.token);

  it('pages getMessages newest first with an opaque next_token until null', async () => {
    for (let i = 0; i < 12; i++) expect((await send(i % 2 ? bob : alice, i % 2 ? alice.userId : bob.userId, `page-${i}`)).status).toBe(200);
    const seen: string[] = [];
    let token: string | null = null;
    for (let round = 0; round < 10; round++) {
      const r: { status: number; json: any } = await api(s.url, 'GET', `/getMessages?chat_id=${bob.userId}&limit=5${token ? `&next_token=${token}` : ''}`, undefined, alice.token);
      expect(r.status).toBe(200);
      seen.push(...r.json.messages.map((m: { message_id: string }) => m.message_id));
      token = r.json.next_token;
      if (!token) break;
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `page-${11 - i}`));
    const one = (await api(s.url, 'GET', `/getMessages?chat_id=${alice.userId}&limit=1`, undefined, bob.token)).json.messages[0];
    expect(one).toMatchObject({ message_id: 'page-11', chat_id: alice.userId, sender_id: bob.userId, sender_device_id: bob.deviceId, type: 'text' });
    expect(Buffer.from(one.content.ciphertext, 'base64').toString()).toBe('page-11');
    expect(new Date(one.created_at).getTime()).toBeGreaterThan(Date.UTC(2026, 0, 1));
  });

  it('rejects a next_token from another chat, and bad limits, with invalid_argument', async () => {
    const carol = await register(s.url);
    await send(alice, carol.userId, 'c1');
    await send(alice, carol.userId, 'c2');
    const t = (await api(s.url, 'GET', `/getMessages?chat_id=${carol.userId}&limit=1`, undefined, alice.token)).json.next_token;
    expect(t).toBeTruthy();
    const cross = await api(s.url, 'GET', `/getMessages?chat_id=${bob.userId}&next_token=${t}`, undefined, alice.token);
    expect([cross.status, cross.json.error.code]).toEqual([400, 'invalid_argument']);
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'chat_id=../../etc', 'next_token=%00%01']) {
      const r = await api(s.url, 'GET', `/getMessages?chat_id=${bob.userId}&${q}`, undefined, alice.token);
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe('invalid_argument');
    }
    const unknownChat = await api(s.url, 'GET', `/getMessages?chat_id=123456789`, undefined, alice.token);
    expect(unknownChat.json.error.code).toBe('not_found');
  });

  it('validates sendMessage: types, base64, sizes, unknown fields', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ type: 'sticker' }, 400, 'invalid_argument'],
      [{ content: { ciphertext: 'not base64!' } }, 400, 'invalid_argument'],
      [{ content: { ciphertext: 'aGk=', plaintext: 'hi' } }, 400, 'invalid_argument'],
      [{ message_id: 'x'.repeat(65) }, 400, 'invalid_argument'],
      [{ receiver_id: 'bob' }, 400, 'invalid_argument'],
      [{ extra: true }, 400, 'invalid_argument'],
    ];
    for (const [patch, status, code] of cases) {
      const r = await send(alice, bob.userId, 'v-1', patch);
      expect([r.status, r.json.error?.code], JSON.stringify(patch)).toEqual([status, code]);
    }
    const big = await api(s.url, 'POST', '/sendMessage', JSON.stringify({ pad: 'x'.repeat(MAX_HTTP_JSON_BYTES + 10) }), alice.token);
    expect([big.status, big.json.error.code]).toEqual([413, 'payload_too_large']);
    const notJson = await api(s.url, 'POST', '/v1/accounts', '{"username": ', undefined);
    expect([notJson.status, notJson.json.error.code]).toEqual([400, 'invalid_argument']);
    // nothing above was stored
    const page = await api(s.url, 'GET', `/getMessages?chat_id=${bob.userId}&limit=200`, undefined, alice.token);
    expect(page.json.messages.some((m: { message_id: string }) => m.message_id === 'v-1')).toBe(false);
  });

  it('requires a valid bearer token, and never accepts one in the URL', async () => {
    const none = await api(s.url, 'GET', `/getMessages?chat_id=${bob.userId}`);
    expect([none.status, none.json.error.code]).toEqual([401, 'unauthenticated']);
    const wrong = await api(s.url, 'GET', '/v1/me', undefined, 'A'.repeat(43));
    expect(wrong.status).toBe(401);
    const inUrl = await api(s.url, 'GET', `/v1/me?token=${alice.token}`);
    expect(inUrl.status).toBe(401);
    const me = await api(s.url, 'GET', '/v1/me', undefined, alice.token);
    expect(me.json).toEqual({ user_id: alice.userId, username: alice.username, device_id: alice.deviceId });
  });

  it('accounts: usernames are unique (case-insensitively), passwords checked, errors do not reveal which part was wrong', async () => {
    const taken = await api(s.url, 'POST', '/v1/accounts', { username: alice.username.toUpperCase(), password: 'another password' });
    expect([taken.status, taken.json.error.code]).toEqual([409, 'conflict']);
    const short = await api(s.url, 'POST', '/v1/accounts', { username: 'shorty', password: 'short' });
    expect(short.status).toBe(400);
    const badPw = await api(s.url, 'POST', '/v1/sessions', { username: alice.username, password: 'wrong password', device_name: 'x' });
    const noUser = await api(s.url, 'POST', '/v1/sessions', { username: 'nobody-here', password: 'wrong password', device_name: 'x' });
    expect([badPw.status, badPw.json]).toEqual([noUser.status, noUser.json]);
    expect(badPw.json.error.code).toBe('invalid_credentials');
    const found = await api(s.url, 'GET', `/v1/users/${alice.username}`, undefined, bob.token);
    expect(found.json).toEqual({ user_id: alice.userId, username: alice.username });
  });

  it('looks up names by id only for people one shares a conversation with', async () => {
    const stranger = await register(s.url);
    const r = await api(s.url, 'GET', `/v1/users?ids=${bob.userId},${alice.userId},${stranger.userId}`, undefined, alice.token);
    expect(r.json.users.map((u: { username: string }) => u.username).sort()).toEqual([alice.username, bob.username].sort());
    const bad = await api(s.url, 'GET', '/v1/users?ids=1,abc', undefined, alice.token);
    expect([bad.status, bad.json.error.code]).toEqual([400, 'invalid_argument']);
  });

  it('answers a request line over the parser limit with the typed error body', async () => {
    const r = await api(s.url, 'GET', `/getMessages?chat_id=1&limit=${'x'.repeat(70_000)}`, undefined, alice.token);
    expect([r.status, r.json.error.code]).toEqual([431, 'payload_too_large']);
    expect((await api(s.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('serves /healthz and /metrics, and 404s unknown routes with the error shape', async () => {
    const h = await api(s.url, 'GET', '/healthz');
    expect(h.json).toMatchObject({ status: 'ok', store: 'pglite' });
    const m = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(m).toMatch(/tidings_log_appended_total \d+/);
    expect(m).toMatch(/tidings_ws_connections/);
    const nf = await api(s.url, 'GET', '/nope');
    expect([nf.status, nf.json.error.code]).toEqual([404, 'not_found']);
  });
});

describe('graceful shutdown', () => {
  it('commits and acks every send already accepted before it closes the sockets', async () => {
    const backend = await testBackend('pglite');
    let s = await backend.start();
    const [alice, bob] = [await register(s.url), await register(s.url)];
    const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: bob.userId }, alice.token)).json.conversation_id) as ConversationId;
    const c = await RawClient.connect(s.url, alice.token);
    for (let i = 0; i < 300; i++) c.send({ t: 'send', conversationId: conv, clientMsgId: `g${i}`, type: EntryType.Text, body: new Uint8Array(100) });
    // Close as soon as the first ack shows the server is taking them.
    await c.waitFor((f) => f.t === 'sent');
    await s.close();
    await c.whenClosed();
    const acked = c.frames.filter((f): f is SentFrame => f.t === 'sent');
    const errors = c.frames.filter((f: ServerFrame) => f.t === 'error');
    expect(acked.length).toBeGreaterThan(0);
    // every send was either acked or refused with a retryable code; none vanished silently after being accepted
    s = await backend.start();
    const cb = await RawClient.connect(s.url, bob.token);
    const stored = new Set(cb.entries(conv).map((e) => e.clientMsgId));
    for (const a of acked) expect(stored.has(a.clientMsgId)).toBe(true);
    expect(errors.every((e) => e.t === 'error' && ['shutting_down', 'unavailable'].includes(e.code))).toBe(true);
  });
});

describe('config', () => {
  it('reads defaults and rejects bad values naming the variable', () => {
    const c = configFromEnv({});
    expect(c).toMatchObject({ port: 8787, dataDir: './data', databaseUrl: undefined, nodeId: undefined });
    expect(configFromEnv({ PORT: '9000', NODE_ID: '5' })).toMatchObject({ port: 9000, nodeId: 5 });
    expect(() => configFromEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => configFromEnv({ NODE_ID: '1024' })).toThrow(/NODE_ID/);
    expect(() => configFromEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });
});
