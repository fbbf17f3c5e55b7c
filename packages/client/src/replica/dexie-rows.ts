/**
 * Row shapes of the Dexie replica and their conversions. IndexedDB cannot index
 * bigint, so ids are stored as decimal strings and parsed back at this edge.
 */
import {
  parseConversationId,
  parseDeviceId,
  parseEntryId,
  parseUserId,
  type ConversationId,
  type EntryType,
  type ReceiptItem,
} from '@tidings/shared';
import type { MediaDescriptor } from '../media/descriptor.js';
import type { Conversation, ConversationKindName } from '../model/conversation.js';
import { MessageState, isCountable, type Message, type MessageContent, type StoredMessageState } from '../model/message.js';
import type { OutboxItem } from './replica.js';

export interface ConversationRow {
  id: string;
  kind: ConversationKindName;
  name: string;
  members: string[];
  lastId: string;
  left: boolean;
  cursor: string;
}

/** MessageContent with the ids of system events as strings. */
export type ContentRow =
  | { kind: 'text'; text: string; replyTo?: { uid: string; senderUserId: string; excerpt: string } }
  | { kind: 'media'; media: MediaDescriptor; caption: string }
  | { kind: 'system'; event: { op: string; userIds: string[]; by: string | null; name?: string } }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'unsupported'; entryType: EntryType };

export interface MessageRow {
  uid: string;
  conversationId: string;
  seq: string;
  id: string | null;
  senderUserId: string;
  senderDeviceId: string;
  clientMsgId: string;
  type: EntryType;
  body: Uint8Array;
  content: ContentRow;
  createdAt: number;
  state: StoredMessageState;
  /** 1 when the row counts toward unread (Text, Media, Document: a message someone wrote), else 0. Indexed. */
  countable: 0 | 1;
  error?: { code: string; message: string };
}

/** One member's receipt positions in one conversation; key [conversationId+userId]. */
export interface ReceiptRow {
  conversationId: string;
  userId: string;
  delivered: string;
  read: string;
}

export interface OutboxRow {
  clientMsgId: string;
  conversationId: string;
  type: EntryType;
  body: Uint8Array;
  createdAt: number;
  attempts: number;
}

export const conversationFromRow = (r: ConversationRow): Conversation => ({
  id: parseConversationId(r.id),
  kind: r.kind,
  name: r.name,
  members: r.members.map(parseUserId),
  lastId: parseEntryId(r.lastId),
  left: r.left,
  cursor: parseEntryId(r.cursor),
});

export function contentToRow(c: MessageContent): ContentRow {
  if (c.kind === 'text' && c.replyTo !== undefined) return { kind: 'text', text: c.text, replyTo: { ...c.replyTo, senderUserId: String(c.replyTo.senderUserId) } };
  if (c.kind !== 'system') return c as Exclude<ContentRow, { kind: 'system' }>;
  const { op, userIds, by, name } = c.event;
  const event = { op, userIds: userIds.map(String), by: by === null ? null : String(by) };
  return { kind: 'system', event: name === undefined ? event : { ...event, name } };
}

export function contentFromRow(c: ContentRow): MessageContent {
  if (c.kind === 'text' && c.replyTo !== undefined) return { kind: 'text', text: c.text, replyTo: { ...c.replyTo, senderUserId: parseUserId(c.replyTo.senderUserId) } };
  if (c.kind !== 'system') return c as Exclude<MessageContent, { kind: 'system' }>;
  const { op, userIds, by, name } = c.event;
  const event = { op, userIds: userIds.map(parseUserId), by: by === null ? null : parseUserId(by) };
  return { kind: 'system', event: name === undefined ? event : { ...event, name } };
}

/** Delivered and read are derived from receipts, never stored: such a row is stored as sent. */
function storedState(state: MessageState): StoredMessageState {
  return state === MessageState.Delivered || state === MessageState.Read ? MessageState.Sent : state;
}

export function messageToRow(m: Message): MessageRow {
  const row: MessageRow = {
    uid: m.uid,
    conversationId: String(m.conversationId),
    seq: m.seq,
    id: m.id === null ? null : String(m.id),
    senderUserId: String(m.senderUserId),
    senderDeviceId: String(m.senderDeviceId),
    clientMsgId: m.clientMsgId,
    type: m.type,
    body: m.body,
    content: contentToRow(m.content),
    createdAt: m.createdAt,
    state: storedState(m.state),
    countable: isCountable(m.type) ? 1 : 0,
  };
  if (m.error) row.error = { ...m.error };
  return row;
}

export function messageFromRow(r: MessageRow): Message {
  const m: Message = {
    uid: r.uid,
    conversationId: parseConversationId(r.conversationId),
    seq: r.seq,
    id: r.id === null ? null : parseEntryId(r.id),
    senderUserId: parseUserId(r.senderUserId),
    senderDeviceId: parseDeviceId(r.senderDeviceId),
    clientMsgId: r.clientMsgId,
    type: r.type,
    body: r.body,
    content: contentFromRow(r.content),
    createdAt: r.createdAt,
    state: r.state,
  };
  return r.error ? { ...m, error: r.error } : m;
}

export const outboxToRow = (o: OutboxItem): OutboxRow => ({ ...o, conversationId: String(o.conversationId) });
export const outboxFromRow = (r: OutboxRow): OutboxItem => ({ ...r, conversationId: parseConversationId(r.conversationId) });

export const receiptToRow = (conversationId: ConversationId, r: ReceiptItem): ReceiptRow => ({
  conversationId: String(conversationId),
  userId: String(r.userId),
  delivered: String(r.delivered),
  read: String(r.read),
});
export const receiptFromRow = (r: ReceiptRow): ReceiptItem => ({
  userId: parseUserId(r.userId),
  delivered: parseEntryId(r.delivered),
  read: parseEntryId(r.read),
});
