/** Turns committed entries into message content, before they are stored. */
import { EntryType, type Entry } from '@tidings/shared';
import type { Envelope } from '../envelope/envelope.js';
import type { MessageContent } from '../model/message.js';
import { parseSystemEvent } from '../model/system-event.js';
import type { OpenedEntry } from '../replica/replica.js';

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What an entry says; null when the entry is not a message (it only advances the cursor). */
export async function openEntry(envelope: Envelope, entry: Entry): Promise<MessageContent | null> {
  switch (entry.type) {
    case EntryType.Text:
      try {
        const { text } = await envelope.open(entry.conversationId, entry);
        return { kind: 'text', text };
      } catch (error) {
        return { kind: 'unreadable', reason: reasonOf(error) };
      }
    case EntryType.System:
      try {
        return { kind: 'system', event: parseSystemEvent(entry.body) };
      } catch (error) {
        return { kind: 'unreadable', reason: reasonOf(error) };
      }
    case EntryType.Media:
    case EntryType.Document:
      return { kind: 'unsupported', entryType: entry.type };
    // Not messages: state updates and MLS handshakes are handled by later subsystems.
    case EntryType.Crdt:
    case EntryType.Snapshot:
    case EntryType.Mls:
      return null;
    default: {
      const never: never = entry.type;
      throw new TypeError(`unknown entry type ${String(never)}`);
    }
  }
}

/** Opens entries in order (sequentially: an MLS envelope must see them in log order). */
export async function openEntries(envelope: Envelope, entries: readonly Entry[]): Promise<OpenedEntry[]> {
  const out: OpenedEntry[] = [];
  for (const entry of entries) out.push({ entry, content: await openEntry(envelope, entry) });
  return out;
}
