/** Fan a committed batch out: one live entries frame per conversation, encoded once, to its members. */
import { encodeServerFrame, type ConversationId, type Entry, type UserId } from '@tidings/shared';
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
    fanout.toUsers(members, encodeServerFrame({ t: 'entries', conversationId, entries, live: true }));
  }
}
