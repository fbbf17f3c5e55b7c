/** Real client engines (@tidings/client) against a real server, torn down after each test. */
import { afterEach } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { HttpApi, MlsEnvelope, TidingsClient, UnencryptedEnvelope, type Credentials, type Message } from '@tidings/client';
import { NodeWebSocketTransport, openMemoryReplica } from '@tidings/client/node';
import type { ConversationId } from '@tidings/shared';
import type { SuiteName } from '../../../client/src/e2ee/suite.js';
import { until as untilHolds } from '../../../client/test/support/until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

export interface Device {
  readonly client: TidingsClient;
  readonly creds: Credentials;
  readonly api: HttpApi;
  /** The engine's replica (tests inspect stored keys and rows). */
  readonly replica: Awaited<ReturnType<typeof openMemoryReplica>>;
  /** Stop this engine, keeping its replica, and start a new engine over the same replica (`start: false`: make it only). */
  restart(options?: { start?: boolean }): Promise<Device>;
}

let n = 0;
export async function device(serverUrl: string, creds: Credentials, opts: { start?: boolean; factory?: IDBFactory; name?: string; mls?: boolean; keyPackageTarget?: number; suite?: SuiteName; fallbackUrls?: string[] } = {}): Promise<Device> {
  const factory = opts.factory ?? new IDBFactory();
  const name = opts.name ?? `e2e-${++n}`;
  const replica = await openMemoryReplica(name, factory);
  const client = new TidingsClient({
    serverUrl,
    credentials: creds,
    replica,
    transport: new NodeWebSocketTransport(),
    envelope: opts.mls
      ? new MlsEnvelope({ ...(opts.keyPackageTarget ? { keyPackageTarget: opts.keyPackageTarget } : {}), ...(opts.suite ? { suite: opts.suite } : {}) })
      : new UnencryptedEnvelope(),
    backoff: { baseMs: 20, maxMs: 200 },
    ...(opts.fallbackUrls ? { fallbackUrls: opts.fallbackUrls } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await client.stop();
    await replica.close();
  };
  cleanups.push(stop);
  if (opts.start !== false) client.start();
  return {
    client,
    creds,
    api: new HttpApi({ serverUrl, token: creds.token }),
    replica,
    restart: async (options = {}) => {
      await stop();
      return device(serverUrl, creds, { ...opts, ...options, factory, name });
    },
  };
}

/** Resolves once the device's KeyPackage stock is uploaded (more than 10 on the server). */
export async function keysReady(d: Device): Promise<void> {
  await untilHolds([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 15_000, 'KeyPackages uploaded');
}

export async function account(serverUrl: string, username: string): Promise<Credentials> {
  return new HttpApi({ serverUrl }).register(username, 'correct horse battery');
}

/** Resolve once `check` holds, re-checking on every client event; fail after timeoutMs (see client/test/support/until.ts). */
export function until(clients: TidingsClient[], check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  return untilHolds(clients, check, timeoutMs, what);
}

export const texts = (ms: readonly Message[]): string[] => ms.flatMap((m) => (m.content.kind === 'text' ? [m.content.text] : []));

/** Every message of a conversation in the replica, oldest first. */
export async function history(c: TidingsClient, conv: ConversationId): Promise<Message[]> {
  return c.messages(conv, { limit: 10_000 });
}
