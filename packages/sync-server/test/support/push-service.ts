/**
 * A local push service (RFC 8030) for tests: an HTTP server on 127.0.0.1 that
 * hands out subscriptions (a P-256 key pair and auth secret made here with
 * node:crypto, as a browser would), checks every push's VAPID JWT (RFC 8292,
 * ES256, verified with the server's public key through node:crypto) and
 * decrypts its aes128gcm payload (RFC 8291) with http_ece. It answers with
 * scripted statuses, can go down and come back on the same port, and lets a
 * test wait for what arrived.
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decrypt } from 'http_ece';
import { afterAll } from 'vitest';

export interface TestSubscription {
  readonly id: string;
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export interface ReceivedPush {
  readonly subscriptionId: string;
  readonly payload: { c: string; n: number };
  readonly headers: IncomingHttpHeaders;
  readonly claims: { aud: string; exp: number; sub: string };
}

interface SubState {
  readonly ecdh: ECDH;
  readonly auth: Buffer;
  /** Statuses to answer next, in order; then 201. */
  readonly script: number[];
}

export class TestPushService {
  /** Pushes that passed every check, in arrival order. */
  readonly received: ReceivedPush[] = [];
  /** Every request, by subscription id, with the status answered. */
  readonly requests: { subscriptionId: string; status: number }[] = [];
  /** Checks that failed (a test expects none). */
  readonly errors: string[] = [];
  private readonly subs = new Map<string, SubState>();
  private waiters: { pred: (p: ReceivedPush) => boolean; resolve: (p: ReceivedPush) => void }[] = [];
  private server: http.Server | undefined;
  private portNumber = 0;
  private constructor(private readonly vapidPublicKey: string) {}

  /** Start on a free port; closed after the file's tests. */
  static async start(vapidPublicKey: string): Promise<TestPushService> {
    const s = new TestPushService(vapidPublicKey);
    s.portNumber = await s.listen(0);
    afterAll(() => s.down());
    return s;
  }

  get port(): number {
    return this.portNumber;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A new subscription, as PushManager.subscribe would make one. */
  subscribe(): TestSubscription {
    const id = randomBytes(8).toString('hex');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    this.subs.set(id, { ecdh, auth, script: [] });
    return {
      id,
      endpoint: `${this.origin}/push/${id}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    };
  }

  /** Answer the next pushes to this subscription with these statuses (then 201 again). */
  script(subscriptionId: string, ...statuses: number[]): void {
    this.subs.get(subscriptionId)?.script.push(...statuses);
  }

  /** The first push (already received or coming) that matches. */
  next(pred: (p: ReceivedPush) => boolean, timeoutMs = 10_000): Promise<ReceivedPush> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for a push; got ${JSON.stringify(this.received.map((r) => r.payload))}, errors ${this.errors.join('; ')}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  /** Wait until this many requests have reached a subscription (whatever was answered). */
  async requestsTo(subscriptionId: string, count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.filter((r) => r.subscriptionId === subscriptionId).length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} requests to ${subscriptionId}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stop listening: connections are refused (a network error for the sender). */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Listen again on the same port. */
  async up(): Promise<void> {
    await this.listen(this.port);
  }

  private listen(port: number): Promise<number> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = /^\/push\/([0-9a-f]+)$/.exec(req.url ?? '')?.[1] ?? '';
      const sub = this.subs.get(id);
      const answer = (status: number) => {
        this.requests.push({ subscriptionId: id, status });
        res.writeHead(status).end();
      };
      if (!sub || req.method !== 'POST') return answer(404);
      const scripted = sub.script.shift();
      if (scripted !== undefined) return answer(scripted);
      try {
        const claims = this.checkVapid(req.headers);
        const payload = this.open(req.headers, Buffer.concat(chunks), sub);
        const push: ReceivedPush = { subscriptionId: id, payload, headers: req.headers, claims };
        this.received.push(push);
        this.waiters = this.waiters.filter((w) => (w.pred(push) ? (w.resolve(push), false) : true));
        answer(201);
      } catch (err) {
        this.errors.push((err as Error).message);
        answer(400);
      }
    });
  }

  /** RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`; an ES256 JWT signed by the server's key, for this origin. */
  private checkVapid(headers: IncomingHttpHeaders): ReceivedPush['claims'] {
    const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(headers.authorization ?? '');
    if (!m) throw new Error(`no VAPID authorization: ${headers.authorization}`);
    const [jwt, k] = [m[1]!, m[2]!];
    if (k !== this.vapidPublicKey) throw new Error('VAPID key is not the server’s');
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
    if (header.alg !== 'ES256') throw new Error(`JWT alg ${header.alg}`);
    const point = Buffer.from(k, 'base64url');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') },
      format: 'jwk',
    });
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')))
      throw new Error('bad VAPID JWT signature');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as ReceivedPush['claims'];
    const now = Date.now() / 1000;
    if (claims.aud !== this.origin) throw new Error(`JWT aud ${claims.aud}`);
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600 + 60)) throw new Error(`JWT exp ${claims.exp}`);
    if (!/^(mailto:|https:)/.test(claims.sub)) throw new Error(`JWT sub ${claims.sub}`);
    return claims;
  }

  /** RFC 8291: decrypt the aes128gcm body with the subscription's private key and auth secret. */
  private open(headers: IncomingHttpHeaders, body: Buffer, sub: SubState): ReceivedPush['payload'] {
    if (headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${headers['content-encoding']}`);
    if (!headers.ttl) throw new Error('no TTL header');
    const plain = decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth });
    return JSON.parse(plain.toString('utf8')) as ReceivedPush['payload'];
  }
}
