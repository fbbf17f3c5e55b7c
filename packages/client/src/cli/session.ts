/**
 * Runs a TidingsClient for one CLI command, end-to-end encrypted with MLS.
 * fake-indexeddb is in memory, so the replica (MLS identity, KeyPackage
 * secrets, groups, messages, cursor) is kept between runs as a snapshot file
 * in the profile directory, `replica.json` (0600: it holds private keys).
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TidingsError, parseConversationId, type ConversationId } from '@tidings/shared';
import { HttpApi } from '../api/http-api.js';
import { MlsEnvelope } from '../e2ee-engine/mls-envelope.js';
import { parseSuiteName } from '../e2ee/suite.js';
import type { Message } from '../model/message.js';
import type { LogFields, Logger } from '../runtime/logger.js';
import { openMemoryReplica } from '../node.js';
import { TidingsClient } from '../sync/client.js';
import { NodeWebSocketTransport } from '../transport/node-ws.js';
import { lockProfile, type Profile } from './profile.js';

export interface Session {
  readonly client: TidingsClient;
  readonly api: HttpApi;
  readonly profile: Profile;
  /** Rejects with the first fatal error (bad token, revoked device, the profile's lock lost); never resolves. */
  readonly fatal: Promise<never>;
}

export function apiFor(profile: Profile): HttpApi {
  return new HttpApi({ serverUrl: profile.server, token: profile.token });
}

/** Resolves `to`: `group:<id>` names a group; anything else is a username to DM. */
export async function resolveConversation(api: HttpApi, to: string): Promise<ConversationId> {
  if (to.startsWith('group:')) return parseConversationId(to.slice('group:'.length));
  if (to.length === 0) throw new TidingsError(ErrorCode.InvalidArgument, 'recipient is empty');
  const user = await api.user(to);
  return api.openDm(user.userId);
}

/** The engine's log lines on stderr, one JSON object each (TIDINGS_DEBUG=1). */
const line =
  (level: string) =>
  (message: string, fields?: LogFields): void => {
    process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg: message, ...fields })}\n`);
  };
const stderrLogger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };

const snapshotFile = (dir: string): string => join(dir, 'replica.json');

export async function withSession<T>(profile: Profile, dir: string, run: (session: Session) => Promise<T>): Promise<T> {
  let failFatal: (error: TidingsError) => void = () => {};
  const fatal = new Promise<never>((_, reject) => (failFatal = reject));
  fatal.catch(() => {}); // observed by callers that race it
  // Held from before the snapshot is read until after it is written back.
  const lock = await lockProfile(dir, (error) => failFatal(error));
  try {
    return await runSession(profile, dir, fatal, failFatal, run);
  } finally {
    await lock.release();
  }
}

async function runSession<T>(
  profile: Profile,
  dir: string,
  fatal: Promise<never>,
  failFatal: (error: TidingsError) => void,
  run: (session: Session) => Promise<T>,
): Promise<T> {
  // The deployment's ciphersuite (GET /v1/config); one this client cannot run fails here as unsupported_suite.
  const suite = parseSuiteName((await apiFor(profile).serverConfig()).mlsSuite);
  const replica = await openMemoryReplica(`tidings-${profile.userId}-${profile.deviceId}`);
  try {
    await replica.importSnapshot(new Uint8Array(await readFile(snapshotFile(dir))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new TidingsError(ErrorCode.Internal, `cannot read ${snapshotFile(dir)}: ${String(error)}`);
  }
  const client = new TidingsClient({
    serverUrl: profile.server,
    credentials: profile,
    replica,
    transport: new NodeWebSocketTransport(),
    envelope: new MlsEnvelope({ suite }),
    ...(process.env.TIDINGS_DEBUG === '1' ? { logger: stderrLogger } : {}),
  });
  client.on('error', (error) => {
    if (error.code === ErrorCode.Unauthenticated || error.code === ErrorCode.Forbidden) failFatal(error);
  });
  try {
    client.start();
    return await run({ client, api: apiFor(profile), profile, fatal });
  } finally {
    await client.stop();
    const tmp = `${snapshotFile(dir)}.tmp`;
    await writeFile(tmp, await replica.exportSnapshot(), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, snapshotFile(dir));
    await replica.close();
  }
}

/** Resolves once this device's KeyPackages are on the server (others can add it to groups). */
export function untilKeys(session: Session): Promise<void> {
  return new Promise((resolve) => {
    const off = session.client.on('keyPackageStock', () => {
      off();
      resolve();
    });
  });
}

/** Resolves on `event`-like conditions, rejecting on a fatal error or after `timeoutMs`. */
export function within<T>(session: Session, promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TidingsError(ErrorCode.Unavailable, `${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, session.fatal, timeout]).finally(() => clearTimeout(timer));
}

export function untilSynced(session: Session): Promise<void> {
  return new Promise((resolve) => {
    const off = session.client.on('synced', () => {
      off();
      resolve();
    });
  });
}

/** Resolves when the message with `uid` is acked, rejects when it failed for good. */
export function untilSent(session: Session, uid: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const off = session.client.on('message', (m) => {
      if (m.uid !== uid || m.state === 'pending') return;
      off();
      if (m.state !== 'failed') resolve(m); // sent (or already delivered/read)
      else reject(new TidingsError((m.error?.code ?? ErrorCode.Internal) as ErrorCode, m.error?.message ?? 'send failed'));
    });
  });
}
