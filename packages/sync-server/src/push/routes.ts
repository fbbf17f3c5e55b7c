/**
 * Push HTTP API: the VAPID public key, a device's subscriptions, and the
 * per-conversation mute that push honours.
 *
 *   GET    /v1/push/vapid-public-key      -> {public_key}
 *   GET    /v1/push/subscriptions         -> {subscriptions: [{endpoint, created_at}]} (this device's)
 *   POST   /v1/push/subscriptions         {endpoint, keys: {p256dh, auth}} -> 201
 *   DELETE /v1/push/subscriptions         {endpoint} -> 204
 *   PUT    /v1/conversations/:id/mute     {muted, until?} -> {muted, until}
 */
import { ErrorCode, TidingsError } from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import { authOf } from '../http/auth.js';
import { anyIdSchema, parse } from '../http/validate.js';
import { pushHostAllowed } from './config.js';
import type { PushStore } from './store.js';

/** Longest endpoint URL accepted (push services use a few hundred characters). */
export const MAX_ENDPOINT_LENGTH = 2048;

const b64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((s) => Buffer.from(s, 'base64url').length === bytes, `${what} must be ${bytes} bytes`);

const p256dh = b64url(65, 'p256dh').refine((s) => Buffer.from(s, 'base64url')[0] === 0x04, 'p256dh must be an uncompressed P-256 point');

function endpointSchema(allowInsecure: boolean, hosts: readonly string[]) {
  return z
    .string()
    .max(MAX_ENDPOINT_LENGTH)
    .superRefine((s, ctx) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'endpoint must be a URL' });
        return;
      }
      if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'endpoint must not carry credentials' });
      else if (u.protocol === 'https:') {
        if (!pushHostAllowed(u.hostname, hosts)) ctx.addIssue({ code: 'custom', message: `endpoint host ${u.hostname} is not an allowed push service (PUSH_ENDPOINT_HOSTS)` });
      } else if (!(allowInsecure && u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost'))) {
        // Plain http only to a push service on this machine, and only when configured (tests, local development).
        ctx.addIssue({ code: 'custom', message: allowInsecure ? 'endpoint must be an https URL (or http://127.0.0.1)' : 'endpoint must be an https URL' });
      }
    });
}

export function pushRoutes(
  app: FastifyInstance,
  d: { accounts: Accounts; store: PushStore; publicKey: string; allowInsecureEndpoints: boolean; endpointHosts: readonly string[]; clock: () => number },
): void {
  const endpoint = endpointSchema(d.allowInsecureEndpoints, d.endpointHosts);
  const Subscribe = z.strictObject({
    endpoint,
    // Browsers' PushSubscription.toJSON() also carries expirationTime (usually null).
    expirationTime: z.number().nullable().optional(),
    keys: z.strictObject({ p256dh, auth: b64url(16, 'auth') }),
  });
  const Unsubscribe = z.strictObject({ endpoint: z.string().max(MAX_ENDPOINT_LENGTH) });
  const Mute = z.strictObject({ muted: z.boolean(), until: z.number().int().positive().optional() });
  const ConvParams = z.strictObject({ id: anyIdSchema });

  app.get('/v1/push/vapid-public-key', async () => ({ public_key: d.publicKey }));

  app.get('/v1/push/subscriptions', async (req) => {
    const auth = await authOf(d.accounts, req);
    const subs = await d.store.subscriptionsOfDevice(auth.deviceId);
    return { subscriptions: subs.map((s) => ({ endpoint: s.endpoint, created_at: s.createdAt })) };
  });

  app.post('/v1/push/subscriptions', async (req, reply) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Subscribe, req.body, 'body');
    await d.store.upsertSubscription({
      endpoint: b.endpoint,
      userId: auth.userId,
      deviceId: auth.deviceId,
      // Stored unpadded, as web-push expects.
      p256dh: b.keys.p256dh.replace(/=+$/, ''),
      auth: b.keys.auth.replace(/=+$/, ''),
      createdAt: d.clock(),
    });
    return reply.status(201).send({ endpoint: b.endpoint });
  });

  app.delete('/v1/push/subscriptions', async (req, reply) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Unsubscribe, req.body, 'body');
    if (!(await d.store.deleteSubscription(auth.userId, b.endpoint))) throw new TidingsError(ErrorCode.NotFound, 'no such subscription');
    return reply.status(204).send();
  });

  app.put('/v1/conversations/:id/mute', async (req) => {
    const auth = await authOf(d.accounts, req);
    const { id } = parse(ConvParams, req.params, 'params');
    const b = parse(Mute, req.body, 'body');
    if (b.muted && b.until !== undefined && b.until <= d.clock())
      throw new TidingsError(ErrorCode.InvalidArgument, 'until: must be in the future');
    if (!(await d.store.isMember(auth.userId, id))) throw new TidingsError(ErrorCode.NotFound, 'no such conversation');
    const until = b.muted ? (b.until ?? null) : null;
    await d.store.setMute(auth.userId, id, b.muted, until);
    return { muted: b.muted, until };
  });
}
