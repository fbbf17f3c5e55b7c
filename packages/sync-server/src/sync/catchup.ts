/** Catch-up: stream a conversation's entries above a position, in bounded pages, oldest first. */
import { MAX_ENTRIES_PER_PAGE, type ConversationId, type EntryId } from '@tidings/shared';
import { entryFrames } from '../log/publish.js';
import type { SqlExecutor } from '../storage/sql.js';
import { readAfter } from '../log/store.js';
import type { Membership } from '../conversations/store.js';

export interface PageSink {
  /** Send one encoded frame; resolves when the socket can take more. */
  send(frame: Uint8Array): Promise<void>;
  /** False once the socket is gone: stop reading. */
  readonly open: boolean;
}

/** Send every entry the member may read above `after`; returns how many were sent. */
export async function streamConversation(
  db: SqlExecutor,
  m: Membership,
  after: EntryId,
  sink: PageSink,
  pageSize = MAX_ENTRIES_PER_PAGE,
): Promise<number> {
  const conversationId: ConversationId = m.conversationId;
  let from = (after > m.sinceId ? after : m.sinceId) as EntryId;
  const upto = m.untilId;
  let sent = 0;
  for (;;) {
    if (!sink.open) return sent;
    const entries = await readAfter(db, conversationId, from, upto, pageSize);
    if (entries.length === 0) return sent;
    for (const frame of entryFrames(conversationId, entries, false)) await sink.send(frame);
    sent += entries.length;
    from = entries[entries.length - 1]!.id;
    if (entries.length < pageSize) return sent;
  }
}
