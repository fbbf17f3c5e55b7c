/** Helpers that build clients over the fake server and wait for events (never sleep). */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { ClientFrame, DeviceId, UserId } from '@tidings/shared';
import { DexieReplica } from '../../src/replica/dexie-replica.js';
import { UnencryptedEnvelope } from '../../src/envelope/unencrypted.js';
import { TidingsClient } from '../../src/sync/client.js';
import type { TidingsClientConfig } from '../../src/sync/config.js';
import type { TidingsEvents } from '../../src/sync/events.js';
import type { FakeServer } from './fake-server.js';
import { until } from './until.js';
import type { Message } from '../../src/model/message.js';

export interface TestDevice {
  readonly client: TidingsClient;
  readonly replica: DexieReplica;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

const cleanups: (() => Promise<void>)[] = [];

/** Stops every client and closes every replica made since the last call. */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export async function makeDevice(
  server: FakeServer,
  userId: bigint,
  deviceId: bigint,
  options: { factory?: IDBFactory; dbName?: string; config?: Partial<TidingsClientConfig> } = {},
): Promise<TestDevice> {
  const token = server.addDevice(userId, deviceId);
  const replica = await DexieReplica.open({
    name: options.dbName ?? `test-${userId}-${deviceId}`,
    indexedDB: options.factory ?? new IDBFactory(),
    IDBKeyRange,
  });
  const client = new TidingsClient({
    serverUrl: 'http://fake.invalid',
    credentials: { userId: userId as UserId, deviceId: deviceId as DeviceId, token },
    replica,
    transport: server.transport,
    envelope: new UnencryptedEnvelope(),
    backoff: { baseMs: 1, maxMs: 5 },
    fetch: server.fetch,
    ...options.config,
  });
  cleanups.push(async () => {
    await client.stop();
    await replica.close();
  });
  return { client, replica, userId: userId as UserId, deviceId: deviceId as DeviceId };
}

/** Resolves with the first payload of `event` that satisfies `predicate`; rejects after `timeoutMs`. */
export function waitFor<K extends keyof TidingsEvents>(
  client: TidingsClient,
  event: K,
  predicate: (payload: TidingsEvents[K]) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<TidingsEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    const off = client.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Waits until `check` holds, re-evaluating it after every event the client emits. */
export function eventually(client: TidingsClient, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  return until([client], check, timeoutMs, 'a condition');
}

/** Starts a client and waits for its first `synced`. */
export async function startSynced(client: TidingsClient): Promise<void> {
  const synced = waitFor(client, 'synced');
  client.start();
  await synced;
}

export const texts = (messages: readonly Message[]): string[] =>
  messages.map((m) => (m.content.kind === 'text' ? m.content.text : `[${m.content.kind}]`));

/** Resolves with the first client frame the fake server receives that satisfies `predicate`; rejects after `timeoutMs`. */
export function clientFrame<F extends ClientFrame>(
  server: FakeServer,
  predicate: (frame: ClientFrame, userId: UserId) => frame is F,
  timeoutMs = 5_000,
): Promise<F> {
  return new Promise((resolve, reject) => {
    const previous = server.onClientFrame;
    const restore = (): void => {
      server.onClientFrame = previous;
    };
    const timer = setTimeout(() => {
      restore();
      reject(new Error('timed out waiting for a client frame'));
    }, timeoutMs);
    server.onClientFrame = (device, frame) => {
      previous?.(device, frame);
      if (!predicate(frame, device.userId)) return;
      clearTimeout(timer);
      restore();
      resolve(frame);
    };
  });
}

/**
 * Lets frames already pushed by the fake server reach the client and be
 * handled: one turn of the event loop (the fake delivers on setImmediate),
 * then the client's frame queue drains. Not a sleep: nothing waits on time.
 */
export async function delivered(...clients: TidingsClient[]): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  for (const client of clients) await client.whenIdle();
}
