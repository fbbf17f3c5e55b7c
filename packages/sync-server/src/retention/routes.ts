/**
 * PUT /v1/conversations/:id/retention {seconds} -> {seconds}
 * A member sets how long the server keeps the conversation's message
 * ciphertext (0: for ever). See THREAT_MODEL.md for what this tells the server.
 */
import { ErrorCode, MAX_DISAPPEARING_SECONDS, TidingsError } from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import { authOf } from '../http/auth.js';
import { anyIdSchema, parse } from '../http/validate.js';
import type { RetentionStore } from './store.js';

export function retentionRoutes(app: FastifyInstance, d: { accounts: Accounts; store: RetentionStore; clock: () => number }): void {
  const Body = z.strictObject({ seconds: z.number().int().min(0).max(MAX_DISAPPEARING_SECONDS) });
  const Params = z.strictObject({ id: anyIdSchema });

  app.put('/v1/conversations/:id/retention', async (req) => {
    const auth = await authOf(d.accounts, req);
    const { id } = parse(Params, req.params, 'params');
    const { seconds } = parse(Body, req.body, 'body');
    if (!(await d.store.isMember(auth.userId, id))) throw new TidingsError(ErrorCode.NotFound, 'no such conversation');
    await d.store.set(id, seconds, auth.userId, d.clock());
    return { seconds };
  });
}
