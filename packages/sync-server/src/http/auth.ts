import type { FastifyRequest } from 'fastify';
import type { DeviceAuth } from '../accounts/store.js';
import type { Accounts } from '../accounts/service.js';
import { bearer } from '../accounts/tokens.js';

/** The authenticated device of a request (bearer token in the Authorization header only, never the URL). */
export const authOf = (accounts: Accounts, req: FastifyRequest): Promise<DeviceAuth> =>
  accounts.authenticate(bearer(req.headers.authorization));
