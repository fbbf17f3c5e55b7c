/** Fan a committed batch out: one live entries frame per conversation, encoded once, to its members. */
import { MAX_FRAME_BYTES, encodeServerFrame, type ConversationId, type Entry, type UserId } from '@tidings/shared';
import type { CommittedBatch } from './writer.js';

export interface Fanout {
  /** Deliver one encoded frame to every connected device of these users. */
  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void;
}

export function publishBatch(fanout: Fanout, batch: CommittedBatch): void {
  const byConv = new Map<ConversationId, Entry[]>();
  for (const e of batch.entries) {
    let list = byConv.get(e.conversationId);
    if (!list) byConv.set(e.conversationId, (list = []));
    list.push(e);
  }
  for (const [conversationId, entries] of byConv) {
    const members = batch.members.get(conversationId);
    if (!members) continue;
    for (const frame of entryFrames(conversationId, entries, true)) fanout.toUsers(members, frame);
  }
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
