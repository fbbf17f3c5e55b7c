/** Turns committed entries into message content, before they are stored (without MLS). */
import { EntryType, type Entry } from '@tidings/shared';
import { messageContentOf } from '../envelope/content.js';
import type { Envelope } from '../envelope/envelope.js';
import type { MessageContent } from '../model/message.js';
import { parseSystemEvent } from '../model/system-event.js';
import type { OpenedEntry } from '../replica/replica.js';
import { inBatch, type StateSink } from './state-sink.js';

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What an entry says; null when the entry is not a message (it only advances the cursor). */
export async function openEntry(envelope: Envelope, entry: Entry, state: StateSink): Promise<MessageContent | null> {
  switch (entry.type) {
    case EntryType.Text:
    case EntryType.Media:
    case EntryType.Document:
    case EntryType.Crdt:
    case EntryType.Snapshot: {
      let content;
      try {
        content = await envelope.open(entry.conversationId, entry);
      } catch (error) {
        return entry.type === EntryType.Crdt || entry.type === EntryType.Snapshot ? null : { kind: 'unreadable', reason: reasonOf(error) };
      }
      const message = messageContentOf(entry.type, content);
      if (content.t === 'state' && message === null) await state.received(entry.conversationId, entry, content.data);
      return message;
    }
    case EntryType.System:
      try {
        return { kind: 'system', event: parseSystemEvent(entry.body) };
      } catch (error) {
        return { kind: 'unreadable', reason: reasonOf(error) };
      }
    case EntryType.Mls:
      return null; // handshakes are for the MLS engine
    default: {
      const never: never = entry.type;
      throw new TypeError(`unknown entry type ${String(never)}`);
    }
  }
}

/** Opens entries in order (sequentially: state updates must reach the sink in log order). */
export function openEntries(envelope: Envelope, entries: readonly Entry[], state: StateSink): Promise<OpenedEntry[]> {
  const conversationId = entries[0]?.conversationId;
  const open = async (): Promise<OpenedEntry[]> => {
    const out: OpenedEntry[] = [];
    for (const entry of entries) out.push({ entry, content: await openEntry(envelope, entry, state) });
    return out;
  };
  return conversationId === undefined ? open() : inBatch(state, conversationId, open);
}
