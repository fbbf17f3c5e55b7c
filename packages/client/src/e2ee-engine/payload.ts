/**
 * What travels inside an MLS application message: a tagged JSON payload.
 * `text` is a chat message; `history` carries opened message content of one
 * conversation from an existing device to a newly linked one of the same user.
 */
import { parseConversationId, parseEntryId, type ConversationId, type EntryId } from '@tidings/shared';
import type { MessageContent } from '../model/message.js';
import { contentFromRow, contentToRow, type ContentRow } from '../replica/dexie-rows.js';

export type Payload =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'history'; readonly conversationId: ConversationId; readonly items: readonly { readonly id: EntryId; readonly content: MessageContent }[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(p: Payload): Uint8Array {
  if (p.t === 'text') return encoder.encode(JSON.stringify({ t: 'text', text: p.text }));
  const items = p.items.map((i) => ({ id: String(i.id), content: contentToRow(i.content) }));
  return encoder.encode(JSON.stringify({ t: 'history', c: String(p.conversationId), items }));
}

/** Parses a decrypted payload; throws on anything malformed. */
export function decodePayload(bytes: Uint8Array): Payload {
  const json = JSON.parse(decoder.decode(bytes)) as Record<string, unknown> | null;
  if (json?.t === 'text' && typeof json.text === 'string') return { t: 'text', text: json.text };
  if (json?.t === 'history' && Array.isArray(json.items)) {
    const items = (json.items as { id?: unknown; content?: unknown }[]).map((i) => {
      const content = i.content as ContentRow | undefined;
      if (typeof content?.kind !== 'string') throw new TypeError('history item without content');
      return { id: parseEntryId(i.id), content: contentFromRow(content) };
    });
    return { t: 'history', conversationId: parseConversationId(json.c), items };
  }
  throw new TypeError('unknown payload');
}

/** Inbox body a new device posts to its other devices: "add me to our conversations". Not secret. */
export const LINK_REQUEST = encoder.encode('tidings-link-request/1');
