/** Web security and abuse limits: headers and CSP, CORS, 429 with retry-after (over HTTP and WebSocket, shared across nodes via Redis), tokens kept out of logs. */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { EntryType, type ConversationId, type ErrorFrame, type ServerFrame } from '@tidings/shared';
import { HTTP_LIMITS } from '../src/http/security.js';
import { testBackend } from './support/server.js';
import { REDIS_URL, redisPrefix, redisReachable } from './support/stores.js';
import { RawClient, api, register } from './support/raw-client.js';

const redisOk = await redisReachable();
const ON = { rateLimit: true, sendRatePerSecond: 20 };

describe('web security', () => {
  it('sends a strict CSP and secure headers, and allows CORS only for configured origins', async () => {
    const s = await (await testBackend('pglite')).start({ ...ON, corsOrigins: ['https://chat.example.org'] });
    const res = await fetch(`${s.url}/healthz`, { headers: { origin: 'https://chat.example.org' } });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=31536000/);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://chat.example.org');
    const evil = await fetch(`${s.url}/healthz`, { headers: { origin: 'https://evil.example.com' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${s.url}/sendMessage`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never writes bearer tokens into its logs', async () => {
    let logged = '';
    const sink = new Writable({ write: (c, _e, cb) => ((logged += c.toString()), cb()) });
    const backend = await testBackend('pglite');
    const { startServer } = await import('../src/index.js');
    const s = await startServer({ ...backend.config, logLevel: 'debug' }, { logger: pino({ level: 'debug', redact: ['req.headers.authorization', '*.token', 'token'] }, sink) });
    try {
      const a = await register(s.url);
      await api(s.url, 'GET', '/v1/me', undefined, a.token);
      await api(s.url, 'GET', '/getMessages?chat_id=abc', undefined, a.token); // an error path
      const c = await RawClient.open(s.url);
      c.send({ t: 'hello', token: `${a.token}x`, cursor: [] }); // a failed socket auth
      await c.whenClosed();
      expect(logged.length).toBeGreaterThan(0);
      expect(logged).not.toContain(a.token);
    } finally {
      await s.close();
    }
  });
});

describe('abuse limits', () => {
  it('answers sign-in floods with 429 and retry-after, per address and per username, and changes nothing', async () => {
    const s = await (await testBackend('pglite')).start(ON);
    const victim = await register(s.url);
    const tries = [];
    for (let i = 0; i < HTTP_LIMITS.sessionsPerUsername[0] + 2; i++) {
      tries.push(await api(s.url, 'POST', '/v1/sessions', { username: victim.username, password: 'wrong password!', device_name: 'x' }));
    }
    expect(tries.slice(0, HTTP_LIMITS.sessionsPerUsername[0]).every((r) => r.status === 401)).toBe(true);
    const limited = tries[tries.length - 1]!;
    expect([limited.status, limited.json.error.code]).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // even the right password waits: the limit is on attempts, not failures
    const right = await api(s.url, 'POST', '/v1/sessions', { username: victim.username, password: 'correct horse battery', device_name: 'x' });
    expect(right.status).toBe(429);
    const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM devices WHERE user_id = $1', [victim.userId]);
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('limits upload starts per device with 429 and retry-after; the refused upload creates nothing and other devices go on', { timeout: 60_000 }, async () => {
    const s = await (await testBackend('pglite')).start(ON);
    const [a, b] = [await register(s.url), await register(s.url)];
    const begin = (token: string, i: number) => api(s.url, 'POST', '/v1/uploads', { sha256: i.toString(16).padStart(64, '0'), size: 10 }, token);
    const max = HTTP_LIMITS.uploadsPerDevice[0];
    const answers = [];
    for (let i = 0; i < max + 1; i++) answers.push(await begin(a.token, i));
    expect(answers.slice(0, max).every((r) => r.status === 200)).toBe(true);
    const limited = answers[max]!;
    expect([limited.status, limited.json.error.code]).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // The single-request route shares the budget.
    const single = await fetch(`${s.url}/uploadFile`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(4) });
    expect(single.status).toBe(429);
    const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM uploads WHERE user_id = $1', [a.userId]);
    expect(Number(rows[0]!.n)).toBe(max);
    expect((await begin(b.token, 1)).status).toBe(200);
  });

  it('rate-limits WebSocket sends per device with a typed, retryable error; the socket and everyone else keep working', async () => {
    const s = await (await testBackend('pglite')).start(ON);
    const [a, b, c] = [await register(s.url), await register(s.url), await register(s.url)];
    const conv = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: b.userId }, a.token)).json.conversation_id) as ConversationId;
    const conv2 = BigInt((await api(s.url, 'POST', '/v1/dms', { user_id: b.userId }, c.token)).json.conversation_id) as ConversationId;
    const [ca, cc] = [await RawClient.connect(s.url, a.token), await RawClient.connect(s.url, c.token)];
    const burst = ON.sendRatePerSecond * 10 + 50;
    for (let i = 0; i < burst; i++) ca.send({ t: 'send', conversationId: conv, clientMsgId: `f${i}`, type: EntryType.Text, body: new Uint8Array([1]) });
    const isLimited = (f: ServerFrame) => f.t === 'error' && f.code === 'rate_limited';
    await ca.next(isLimited);
    const limitedFrame = ca.frames.find(isLimited) as ErrorFrame;
    expect(limitedFrame.message).toMatch(/retry in \d+ ms/);
    // someone else is not slowed down, and the limited socket still answers
    cc.send({ t: 'send', conversationId: conv2, clientMsgId: 'other', type: EntryType.Text, body: new Uint8Array([2]) });
    await cc.next((f) => f.t === 'sent' && f.clientMsgId === 'other');
    ca.send({ t: 'ping', nonce: 7 });
    await ca.next((f) => f.t === 'pong' && f.nonce === 7);
    // exactly the accepted ones were stored
    while (ca.frames.filter((f) => f.t === 'sent' || isLimited(f)).length < burst) await ca.waitFor((f) => f.t === 'sent' || isLimited(f));
    const accepted = ca.frames.filter((f) => f.t === 'sent').length;
    const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1', [String(conv)]);
    expect(Number(rows[0]!.n)).toBe(accepted);
    expect(accepted).toBeLessThan(burst);
  });

  it.skipIf(!redisOk)('shares HTTP limits across nodes through Redis', async () => {
    const backend = await testBackend('postgres').catch(() => testBackend('pglite'));
    const prefix = redisPrefix();
    const n1 = await backend.start({ ...ON, redisUrl: REDIS_URL, redisPrefix: prefix });
    if (backend.kind === 'pglite') return; // two nodes need a shared Postgres
    const n2 = await backend.start({ ...ON, redisUrl: REDIS_URL, redisPrefix: prefix });
    const victim = await register(n1.url);
    const statuses = [];
    for (let i = 0; i < HTTP_LIMITS.sessionsPerUsername[0] + 2; i++) {
      const node = i % 2 ? n2 : n1;
      statuses.push((await api(node.url, 'POST', '/v1/sessions', { username: victim.username, password: 'wrong password!', device_name: 'x' })).status);
    }
    expect(statuses.filter((x) => x === 401)).toHaveLength(HTTP_LIMITS.sessionsPerUsername[0]);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });
});
