/** The push subsystem, assembled for one node: VAPID keys, store, Web Push provider, service, routes. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Accounts } from '../accounts/service.js';
import type { SqlClient } from '../storage/sql.js';
import type { Switchboard } from '../switchboard/port.js';
import type { PushConfig } from './config.js';
import { createPushMetrics } from './metrics.js';
import type { PushProvider } from './provider.js';
import { pushRoutes } from './routes.js';
import { PushService } from './service.js';
import { PushStore } from './store.js';
import { loadVapidKeys, type VapidKeys } from './vapid.js';
import { WebPushProvider } from './web-push-provider.js';

export interface Push {
  readonly vapid: VapidKeys;
  readonly service: PushService;
  readonly store: PushStore;
  routes(app: FastifyInstance, accounts: Accounts): void;
}

export async function createPush(o: {
  config: PushConfig;
  dataDir: string;
  db: SqlClient;
  presence: Pick<Switchboard, 'presenceOf'>;
  registry: Registry;
  logger: Logger;
  clock: () => number;
  /** Another provider (e.g. native); default Web Push with these VAPID keys. */
  provider?: PushProvider;
}): Promise<Push> {
  const vapid = await loadVapidKeys({
    publicKey: o.config.vapidPublicKey,
    privateKey: o.config.vapidPrivateKey,
    dataDir: o.dataDir,
    logger: o.logger,
  });
  const store = new PushStore(o.db);
  const provider = o.provider ?? new WebPushProvider({ vapid, subject: o.config.vapidSubject, timeoutMs: o.config.sendTimeoutMs });
  const service = new PushService({
    store,
    provider,
    presence: o.presence,
    config: o.config,
    metrics: createPushMetrics(o.registry),
    logger: o.logger,
    clock: o.clock,
    topicKey: vapid.privateKey,
  });
  return {
    vapid,
    service,
    store,
    routes: (app, accounts) =>
      pushRoutes(app, {
        accounts,
        store,
        publicKey: vapid.publicKey,
        allowInsecureEndpoints: o.config.allowInsecureEndpoints,
        endpointHosts: o.config.endpointHosts,
        clock: o.clock,
      }),
  };
}

export type { PushConfig } from './config.js';
export { PUSH_DEFAULTS } from './config.js';
export type { PushProvider, PushTarget, PushMessage, SendResult } from './provider.js';
export { SendOutcome } from './provider.js';
