/** An E2eeHost for tests of one engine part over a real replica: no server, no queue, nothing recorded unless overridden. */
import { HttpApi, type Credentials } from '../../src/api/http-api.js';
import type { E2eeHost } from '../../src/e2ee-engine/host.js';
import type { DexieReplica } from '../../src/replica/dexie-replica.js';
import { systemClock } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/runtime/logger.js';

export function stubHost(replica: DexieReplica, credentials: Credentials, overrides: Partial<E2eeHost> = {}): E2eeHost {
  return {
    credentials,
    replica,
    api: new HttpApi({ serverUrl: 'http://127.0.0.1:9' }),
    logger: silentLogger,
    clock: systemClock,
    newClientMsgId: () => 'unused',
    exclusive: (task) => task(),
    requestFlush: () => undefined,
    ackInbox: () => undefined,
    stateReceived: async () => undefined,
    stateBatch: (_id, open) => open(),
    messageChanged: () => undefined,
    groupChanged: () => undefined,
    keyPackageStock: () => undefined,
    failed: () => undefined,
    identityChanged: () => undefined,
    ...overrides,
  };
}
