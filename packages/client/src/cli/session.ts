/**
 * Runs a TidingsClient for one CLI command. fake-indexeddb is in memory, so
 * each run syncs from the server into a fresh replica and nothing is kept
 * between runs (acceptable for now; a file-backed replica is future work).
 */
import { ErrorCode, TidingsError, parseConversationId, type ConversationId } from '@tidings/shared';
import { HttpApi } from '../api/http-api.js';
import { UnencryptedEnvelope } from '../envelope/unencrypted.js';
import type { Message } from '../model/message.js';
import { openMemoryReplica } from '../node.js';
import { TidingsClient } from '../sync/client.js';
import { NodeWebSocketTransport } from '../transport/node-ws.js';
import type { Profile } from './profile.js';

export interface Session {
  readonly client: TidingsClient;
  readonly api: HttpApi;
  readonly profile: Profile;
  /** Rejects with the first fatal error (bad token, revoked device); never resolves. */
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

export async function withSession<T>(profile: Profile, run: (session: Session) => Promise<T>): Promise<T> {
  const replica = await openMemoryReplica(`tidings-${profile.userId}-${profile.deviceId}`);
  // UnencryptedEnvelope is a placeholder until MLS lands: messages are NOT end-to-end encrypted yet.
  const client = new TidingsClient({
    serverUrl: profile.server,
    credentials: profile,
    replica,
    transport: new NodeWebSocketTransport(),
    envelope: new UnencryptedEnvelope(),
  });
  const fatal = new Promise<never>((_, reject) => {
    client.on('error', (error) => {
      if (error.code === ErrorCode.Unauthenticated || error.code === ErrorCode.Forbidden) reject(error);
    });
  });
  fatal.catch(() => {}); // observed by callers that race it
  try {
    client.start();
    return await run({ client, api: apiFor(profile), profile, fatal });
  } finally {
    await client.stop();
    await replica.close();
  }
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
