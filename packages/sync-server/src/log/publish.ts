/** Fan a committed batch out: one live entries frame per conversation, encoded once, to its members. */
import { MAX_FRAME_BYTES, encodeServerFrame, type ConversationId, type Entry, type UserId } from '@tidings/shared';
import type { CommittedBatch } from './writer.js';

export interface Fanout {
  /** Deliver one encoded frame to every connected device of these users. */
  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void;
}

/** Fan-out whose completion can be awaited: the writer acks only after entries were handed to every node. */
export interface ConfirmedFanout {
  toUsersConfirmed(userIds: Iterable<UserId>, frame: Uint8Array): Promise<void>;
}

/**
 * Publish a committed batch, resolving once every frame has been handed to every
 * node with a recipient. Entries a retry found already committed (`replayed`) go
 * out again first: their first publish may have died with the node that committed
 * them, and receivers drop what they already have.
 */
export async function publishBatch(fanout: ConfirmedFanout, batch: CommittedBatch): Promise<void> {
  const sends: Promise<void>[] = [];
  for (const list of [batch.replayed, batch.entries]) {
    const byConv = new Map<ConversationId, Entry[]>();
    for (const e of list) {
      let l = byConv.get(e.conversationId);
      if (!l) byConv.set(e.conversationId, (l = []));
      l.push(e);
    }
    for (const [conversationId, entries] of byConv) {
      const members = batch.members.get(conversationId);
      if (!members) continue;
      const ordered = [...new Map(entries.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const frame of entryFrames(conversationId, ordered, true)) sends.push(fanout.toUsersConfirmed(members, frame));
    }
  }
  await Promise.all(sends);
}

/** Bytes an entry takes in a frame beyond its body (ids, lengths, client id), rounded up. */
const ENTRY_OVERHEAD = 128;
/** Frame header and conversation id, rounded up. */
const FRAME_OVERHEAD = 32;

/**
 * Entries of one conversation as encoded frames, oldest first, each under
 * MAX_FRAME_BYTES however large the bodies are (one body is at most
 * MAX_BODY_BYTES, well under a frame).
 */
export function entryFrames(conversationId: ConversationId, entries: readonly Entry[], live: boolean): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let chunk: Entry[] = [];
  let bytes = FRAME_OVERHEAD;
  const flush = () => {
    if (chunk.length > 0) frames.push(encodeServerFrame({ t: 'entries', conversationId, entries: chunk, live }));
    chunk = [];
    bytes = FRAME_OVERHEAD;
  };
  for (const e of entries) {
    const size = e.body.length + e.clientMsgId.length * 3 + ENTRY_OVERHEAD;
    if (chunk.length > 0 && bytes + size > MAX_FRAME_BYTES) flush();
    chunk.push(e);
    bytes += size;
  }
  flush();
  return frames;
}
