/**
 * What the catch-up benchmarks share (issue #11 target 5): a Node
 * TidingsClient engine over a fake-indexeddb replica, a wait on engine events,
 * and the seeding of an offline reader's backlog. The Node benchmark
 * (bench/catchup.ts) and the PWA one (bench/catchup-pwa.ts) both send their
 * messages this way, so their figures measure the same backlog.
 *
 * Seeding: the sender's engine is stopped, its stored MLS groups seal the
 * texts round-robin across the conversations, and they go out over one raw
 * protocol socket as the sender's device — exactly the entries its engine
 * would send, without its outbox pacing. It resolves once every one is acked.
 */
import type { IDBFactory } from 'fake-indexeddb';
import { MlsEnvelope, TidingsClient, type Credentials } from '@tidings/client';
import { NodeWebSocketTransport, openMemoryReplica } from '@tidings/client/node';
import { EntryType, type ConversationId } from '@tidings/shared';
import { MlsGroup } from '../packages/client/src/e2ee/index.js';
import { encodePayload } from '../packages/client/src/e2ee-engine/payload.js';
import { connectClient } from './proto-client.js';

/** Milliseconds to seconds, to the millisecond. */
export const secs = (ms: number): number => Math.round(ms) / 1000;
/** Generous bound for the set-up phases (they are not what is measured), ms. */
export const SETUP_TIMEOUT_MS = 180_000;
/** Messages in flight on the seeding socket. */
const SEED_WINDOW = 256;
/** Log a seeding progress line after every this many rounds (one message per conversation each). */
const SEED_LOG_ROUNDS = 20;

export interface Engine {
  readonly client: TidingsClient;
  stop(): Promise<void>;
}

/** A TidingsClient with MLS and a Dexie replica named `name` in `factory` (not started). */
export async function engine(serverUrl: string, creds: Credentials, factory: IDBFactory, name: string): Promise<Engine> {
  const replica = await openMemoryReplica(name, factory);
  const client = new TidingsClient({
    serverUrl,
    credentials: creds,
    replica,
    transport: new NodeWebSocketTransport(),
    envelope: new MlsEnvelope(),
    backoff: { baseMs: 20, maxMs: 200 },
  });
  return {
    client,
    stop: async () => {
      await client.stop();
      await replica.close();
    },
  };
}

/** The text of seeded message `k` (0-based round) of conversation `i`, padded with 'x' and cut to `size` characters. */
export function seedText(i: number, k: number, size: number): string {
  return `${i}/${k} ${'x'.repeat(size)}`.slice(0, size);
}

export interface SeedOptions {
  readonly serverUrl: string;
  /** The sender's device (its engine stopped). */
  readonly creds: Credentials;
  /** Where the sender's replica lives, and its name (as given to `engine`). */
  readonly factory: IDBFactory;
  readonly replicaName: string;
  readonly conversations: readonly ConversationId[];
  readonly perConversation: number;
  /** Characters per text (see `seedText`). */
  readonly size: number;
  readonly log: (msg: string) => void;
}

/** Seals `perConversation` texts per conversation with the sender's stored groups and sends them; resolves (seconds taken) once all are acked. */
export async function seed(o: SeedOptions): Promise<number> {
  const keys = await openMemoryReplica(o.replicaName, o.factory);
  const groups = new Map<ConversationId, MlsGroup>();
  for (const conv of o.conversations) {
    const bytes = await keys.loadGroup(conv);
    if (bytes === null) throw new Error(`sender has no group for ${conv}`);
    groups.set(conv, await MlsGroup.restore(bytes));
  }
  const total = o.perConversation * o.conversations.length;
  const t0 = performance.now();
  let acked = 0;
  let wake: (() => void) | undefined;
  let failure: string | undefined;
  const socket = await connectClient(o.serverUrl, o.creds.token, {
    frame: (f) => {
      if (f.t === 'sent') acked += 1;
      else if (f.t === 'error') failure = `${f.code}: ${f.message}`;
      else return;
      wake?.();
    },
  });
  const progress = async (below: number): Promise<void> => {
    while (acked < below && failure === undefined) await new Promise<void>((r) => (wake = r));
    if (failure !== undefined) throw new Error(`seeding failed: ${failure}`);
  };
  let sent = 0;
  for (let k = 0; k < o.perConversation; k++) {
    for (const [i, conv] of o.conversations.entries()) {
      const group = groups.get(conv) as MlsGroup;
      const body = await group.encrypt(encodePayload({ t: 'text', text: seedText(i, k, o.size) }));
      socket.send({ t: 'send', conversationId: conv, clientMsgId: `seed-${k}-${i}`, type: EntryType.Text, body });
      sent += 1;
      await progress(sent - SEED_WINDOW);
    }
    if ((k + 1) % SEED_LOG_ROUNDS === 0) o.log(`sent ${sent}/${total}, acked ${acked}`);
  }
  await progress(total);
  await socket.close();
  await keys.close();
  return secs(performance.now() - t0);
}
