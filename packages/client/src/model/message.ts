/** A chat message as the replica stores it and the app reads it. */
import { EntryType, type ConversationId, type DeviceId, type EntryId, type UserId } from '@tidings/shared';
import type { MediaDescriptor } from '../media/descriptor.js';
import type { MessageAnnotations } from './annotations.js';
import type { SystemEvent } from './system-event.js';

/**
 * Delivery state of a message. The replica stores only pending, sent and
 * failed; delivered and read are derived when reading, for one's own committed
 * messages, from the other members' receipt positions (see receipts/delivery.ts).
 */
export const MessageState = {
  /** Written locally, waiting in the outbox for the server's ack. */
  Pending: 'pending',
  /** Committed by the server (it has an entry id). */
  Sent: 'sent',
  /** Stored by a device of the DM peer; in a group, by a device of every other member. */
  Delivered: 'delivered',
  /** Read by the DM peer; in a group, by every other member (never shown while read receipts are off). */
  Read: 'read',
  /** The server refused it for good (e.g. not_a_member); it will not be retried. */
  Failed: 'failed',
} as const;
export type MessageState = (typeof MessageState)[keyof typeof MessageState];
/** The states a replica row holds; the others are derived. */
export type StoredMessageState = typeof MessageState.Pending | typeof MessageState.Sent | typeof MessageState.Failed;

/** What a message says, once opened. */
export type MessageContent =
  /** A text message, possibly a reply quoting an earlier message. */
  | { readonly kind: 'text'; readonly text: string; readonly replyTo?: ReplyRef }
  /** An image, audio, video or document: the descriptor to fetch, verify and decrypt its blob, and a caption. */
  | { readonly kind: 'media'; readonly media: MediaDescriptor; readonly caption: string }
  /** A server-authored membership event. */
  | { readonly kind: 'system'; readonly event: SystemEvent }
  /** The envelope could not be opened (bad body, missing keys). */
  | { readonly kind: 'unreadable'; readonly reason: string }
  /** An entry type this client does not know. */
  | { readonly kind: 'unsupported'; readonly entryType: EntryType };

/** Longest excerpt of the quoted message a reply carries, in UTF-16 code units. */
export const MAX_REPLY_EXCERPT_CHARS = 200;

/**
 * What a reply quotes: the quoted message's uid (the same on every device),
 * its sender and an excerpt, carried inside the encrypted reply itself so it
 * shows even where the quoted message is gone or was never loaded.
 */
export interface ReplyRef {
  readonly uid: string;
  readonly senderUserId: UserId;
  readonly excerpt: string;
}

/** The quote a reply to `m` carries: its text, a media caption or file name, cut to the excerpt limit. */
export function replyRef(m: Message): ReplyRef {
  const c = m.content;
  const full = c.kind === 'text' ? c.text : c.kind === 'media' ? c.caption || c.media.fileName : '';
  return { uid: m.uid, senderUserId: m.senderUserId, excerpt: full.slice(0, MAX_REPLY_EXCERPT_CHARS) };
}

export interface Message {
  /** Stable local key: `${senderDeviceId}:${clientMsgId}`; survives the pending -> sent upgrade. */
  readonly uid: string;
  readonly conversationId: ConversationId;
  /**
   * Sort key within the conversation: the entry id zero-padded to 20 digits once
   * committed, `~` + local time while pending/failed (so those sort last).
   * Opaque to callers except as the `before` bound of a history page.
   */
  readonly seq: string;
  /** The server's entry id; null until committed. */
  readonly id: EntryId | null;
  readonly senderUserId: UserId;
  readonly senderDeviceId: DeviceId;
  readonly clientMsgId: string;
  readonly type: EntryType;
  /** The sealed body as sent on the wire. */
  readonly body: Uint8Array;
  readonly content: MessageContent;
  /** Commit time (ms since the Unix epoch) once sent; local creation time before. */
  readonly createdAt: number;
  readonly state: MessageState;
  /** Why the message failed, when state is 'failed'. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Edits, deletion, reactions and pin from the conversation's convergent state (absent when it says nothing). */
  readonly annotations?: MessageAnnotations;
}

/** Builds the uid of a message from its sender device and idempotency key. */
export const messageUid = (senderDeviceId: DeviceId | bigint, clientMsgId: string): string =>
  `${senderDeviceId.toString()}:${clientMsgId}`;

const ID_DIGITS = 20;
const TIME_DIGITS = 16;

/** The seq of a committed entry: its id zero-padded so strings sort like numbers. */
export const committedSeq = (id: EntryId | bigint): string => id.toString().padStart(ID_DIGITS, '0');

/** The seq of a pending message: sorts after every committed one, in local time order. */
export const pendingSeq = (localTime: number): string => `~${String(localTime).padStart(TIME_DIGITS, '0')}`;

const MESSAGE_TYPES: ReadonlySet<EntryType> = new Set([EntryType.Text, EntryType.Media, EntryType.Document]);
/** Whether entries of this type are messages people wrote (rows of a conversation), not System events, Commits or shared state. */
export const isMessageType = (type: EntryType): boolean => MESSAGE_TYPES.has(type);
/** Whether an entry type counts toward unread: messages people wrote, not System events. */
export const isCountable = isMessageType;
