import {
  MAX_DEVICE_NAME_CHARS,
  MAX_PASSWORD_CHARS,
  MAX_USERNAME_CHARS,
  MIN_PASSWORD_CHARS,
  MIN_USERNAME_CHARS,
  ErrorCode,
  TidingsError,
  type UserId,
} from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from './service.js';
import { findUserById, findUserByName } from './store.js';
import type { SqlClient } from '../storage/sql.js';
import { humanText, parse } from '../http/validate.js';
import { authOf } from '../http/auth.js';
import { HTTP_LIMITS, limit } from '../http/security.js';
import type { AttemptLimiter } from '../http/attempts.js';
import { watchable } from '../presence/watchable.js';

const username = z
  .string()
  .min(MIN_USERNAME_CHARS)
  .max(MAX_USERNAME_CHARS)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only');
const password = z.string().min(MIN_PASSWORD_CHARS).max(MAX_PASSWORD_CHARS);
const deviceName = humanText(1, MAX_DEVICE_NAME_CHARS);

const SignUp = z.strictObject({ username, password, device_name: deviceName.optional() });
const SignIn = z.strictObject({ username: z.string().max(MAX_USERNAME_CHARS), password: z.string().max(MAX_PASSWORD_CHARS), device_name: deviceName });

/** Most ids in one batch lookup. */
const MAX_USER_LOOKUP = 256;
const UsersQuery = z.strictObject({
  ids: z
    .string()
    .max(MAX_USER_LOOKUP * 20)
    .transform((v, ctx) => {
      const parts = v.split(',');
      if (parts.length > MAX_USER_LOOKUP || parts.some((p) => !/^[1-9][0-9]{0,18}$/.test(p))) {
        ctx.addIssue({ code: 'custom', message: `a comma-separated list of at most ${MAX_USER_LOOKUP} user ids` });
        return z.NEVER;
      }
      return parts.map((p) => BigInt(p) as UserId);
    }),
});

const deviceJson = (d: { userId: bigint; deviceId: bigint; token: string }) => ({
  user_id: String(d.userId),
  device_id: String(d.deviceId),
  token: d.token,
});

export function accountRoutes(app: FastifyInstance, accounts: Accounts, db: SqlClient, rateLimit: boolean, attempts: AttemptLimiter | undefined): void {
  app.post('/v1/accounts', limit(rateLimit, HTTP_LIMITS.accountsPerIp), async (req, reply) => {
    const b = parse(SignUp, req.body, 'body');
    const d = await accounts.register(b.username, b.password, b.device_name ?? 'first device');
    return reply.status(201).send(deviceJson(d));
  });

  app.post('/v1/sessions', limit(rateLimit, HTTP_LIMITS.sessionsPerIp), async (req, reply) => {
    const b = parse(SignIn, req.body, 'body');
    // Per username as well as per address, so guessing spread over many addresses is slowed too.
    await attempts?.hit(b.username.toLowerCase());
    const d = await accounts.signIn(b.username, b.password, b.device_name);
    return reply.status(201).send(deviceJson(d));
  });

  app.get('/v1/me', async (req) => {
    const auth = await authOf(accounts, req);
    const user = await findUserById(db, auth.userId);
    if (!user) throw new TidingsError(ErrorCode.Unauthenticated, 'the account no longer exists');
    return { user_id: String(auth.userId), username: user.username, device_id: String(auth.deviceId) };
  });

  /** Names for ids the caller has seen (senders, members): users they share a conversation with, and themself. */
  app.get('/v1/users', async (req) => {
    const auth = await authOf(accounts, req);
    const { ids } = parse(UsersQuery, req.query, 'query');
    const wanted = [...new Set(ids)];
    const allowed = new Set<bigint>([...(await watchable(db, auth.userId, wanted)), ...(wanted.includes(auth.userId) ? [auth.userId] : [])]);
    const { rows } = await db.query<{ id: unknown; username: string }>('SELECT id, username FROM users WHERE id = ANY($1::bigint[])', [
      [...allowed].map(String),
    ]);
    return { users: rows.map((r) => ({ user_id: String(r.id), username: r.username })) };
  });

  app.get('/v1/users/:username', async (req) => {
    await authOf(accounts, req);
    const { username: name } = parse(z.strictObject({ username }), req.params, 'username');
    const user = await findUserByName(db, name);
    if (!user) throw new TidingsError(ErrorCode.NotFound, 'no such user');
    return { user_id: String(user.id), username: user.username };
  });
}
