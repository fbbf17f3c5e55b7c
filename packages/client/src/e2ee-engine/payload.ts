/**
 * What travels inside an MLS application message: content (see
 * envelope/content.ts) or `history`, the opened message content of one
 * conversation sent by an existing device to a newly linked one of the same user.
 */
import { parseConversationId, parseEntryId, type ConversationId, type EntryId } from '@tidings/shared';
import { contentFromJson, contentToJson, type Content } from '../envelope/content.js';
import type { MessageContent } from '../model/message.js';
import { contentFromRow, contentToRow, type ContentRow } from '../replica/dexie-rows.js';

export type Payload =
  | Content
  | { readonly t: 'history'; readonly conversationId: ConversationId; readonly items: readonly { readonly id: EntryId; readonly content: MessageContent }[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(p: Payload): Uint8Array {
  if (p.t !== 'history') return encoder.encode(JSON.stringify(contentToJson(p)));
  const items = p.items.map((i) => ({ id: String(i.id), content: contentToRow(i.content) }));
  return encoder.encode(JSON.stringify({ t: 'history', c: String(p.conversationId), items }));
}

/** Parses a decrypted payload; throws on anything malformed. */
export function decodePayload(bytes: Uint8Array): Payload {
  const json = JSON.parse(decoder.decode(bytes)) as unknown;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TypeError('payload is not an object');
  const record = json as Record<string, unknown>;
  if (record.t === 'history' && Array.isArray(record.items)) {
    const items = (record.items as { id?: unknown; content?: unknown }[]).map((i) => {
      const content = i.content as ContentRow | undefined;
      if (typeof content?.kind !== 'string') throw new TypeError('history item without content');
      return { id: parseEntryId(i.id), content: contentFromRow(content) };
    });
    return { t: 'history', conversationId: parseConversationId(record.c), items };
  }
  const content = contentFromJson(record);
  if (content === null) throw new TypeError('unknown payload');
  return content;
}

/** Inbox body a new device posts to its other devices: "add me to our conversations". Not secret. */
export const LINK_REQUEST = encoder.encode('tidings-link-request/1');
