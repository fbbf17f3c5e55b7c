/**
 * The WebSocket protocol as data: frames are tagged unions split by direction.
 * Each frame travels as one binary message: [PROTOCOL_VERSION u8][tag u8][fields].
 */
import type { ConversationId, DeviceId, EntryId, UserId } from '../ids.js';
import type { ErrorCode } from '../errors.js';

export const PROTOCOL_VERSION = 1;

/** What a log entry holds. The server never interprets the body of any but System. */
export const EntryType = {
  /** An encrypted chat message (the seed's "text"). */
  Text: 1,
  /** An encrypted message that references a media blob (the seed's "media"). */
  Media: 2,
  /** An encrypted message that references a document blob (the seed's "document"). */
  Document: 3,
  /** An encrypted Yjs update for the conversation's shared state. */
  Crdt: 10,
  /** An encrypted snapshot of the conversation's shared state. */
  Snapshot: 11,
  /** An MLS handshake message (Commit or Proposal). */
  Mls: 20,
  /** A server-authored membership event; its body is JSON metadata the server already knows. */
  System: 30,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];
const ENTRY_TYPES = new Set<number>(Object.values(EntryType));
export const isEntryType = (v: number): v is EntryType => ENTRY_TYPES.has(v);
/** Entry types a client may append (System entries are written by the server only). */
export const CLIENT_ENTRY_TYPES: ReadonlySet<EntryType> = new Set([
  EntryType.Text,
  EntryType.Media,
  EntryType.Document,
  EntryType.Crdt,
  EntryType.Snapshot,
  EntryType.Mls,
]);

export const ConversationKind = {
  /** A one-on-one conversation, implicit between two users (one per pair). */
  Dm: 1,
  /** A named group with explicit members. */
  Group: 2,
  /** A user's own conversation, shared by that user's devices. */
  Self: 3,
} as const;
export type ConversationKind = (typeof ConversationKind)[keyof typeof ConversationKind];
const KINDS = new Set<number>(Object.values(ConversationKind));
export const isConversationKind = (v: number): v is ConversationKind => KINDS.has(v);

/** One committed entry of a conversation's log. */
export interface Entry {
  readonly conversationId: ConversationId;
  readonly id: EntryId;
  /** The id of the entry committed just before this one in the same conversation (0 for the first). */
  readonly prevId: EntryId;
  readonly senderUserId: UserId;
  readonly senderDeviceId: DeviceId;
  /** The sending device's idempotency key. */
  readonly clientMsgId: string;
  readonly type: EntryType;
  /** Commit time, ms since the Unix epoch. */
  readonly createdAt: number;
  readonly body: Uint8Array;
}

export interface ConversationInfo {
  readonly id: ConversationId;
  readonly kind: ConversationKind;
  /** Group name; empty for DMs and the self conversation. */
  readonly name: string;
  readonly members: readonly UserId[];
  /** Highest committed entry id, 0 if none. */
  readonly lastId: EntryId;
  /** True when the receiving user is no longer a member (removed or left). */
  readonly left: boolean;
}

export interface CursorItem {
  readonly conversationId: ConversationId;
  readonly upto: EntryId;
}

// ---- client -> server ----
export interface HelloFrame {
  readonly t: 'hello';
  readonly token: string;
  readonly cursor: readonly CursorItem[];
}
export interface SendFrame {
  readonly t: 'send';
  readonly conversationId: ConversationId;
  readonly clientMsgId: string;
  readonly type: EntryType;
  readonly body: Uint8Array;
}
/** Ask for the entries of one conversation above `after` (gap repair). */
export interface PullFrame {
  readonly t: 'pull';
  readonly conversationId: ConversationId;
  readonly after: EntryId;
}
export interface PingFrame {
  readonly t: 'ping';
  readonly nonce: number;
}
/**
 * Advance this user's receipt positions in a conversation: `delivered` after the
 * device durably stored entries up to it, `read` when the user has seen them.
 * 0 leaves a position as it is. Positions only move forward.
 */
export interface AckFrame {
  readonly t: 'ack';
  readonly conversationId: ConversationId;
  readonly delivered: EntryId;
  readonly read: EntryId;
}
/** The user started (active) or stopped typing in a conversation. Ephemeral; never stored. */
export interface TypingFrame {
  readonly t: 'typing';
  readonly conversationId: ConversationId;
  readonly active: boolean;
}
/** Replace the set of users whose presence this device is told about (DM peers; an open group's members). */
export interface WatchFrame {
  readonly t: 'watch';
  readonly userIds: readonly UserId[];
}
/** The device has processed its inbox items up to `upto`; the server deletes them. */
export interface InboxAckFrame {
  readonly t: 'inbox_ack';
  readonly upto: bigint;
}
export type ClientFrame = HelloFrame | SendFrame | PullFrame | PingFrame | AckFrame | TypingFrame | WatchFrame | InboxAckFrame;

// ---- server -> client ----
export interface WelcomeFrame {
  readonly t: 'welcome';
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly serverTime: number;
}
export interface ConversationFrame {
  readonly t: 'conversation';
  readonly conversation: ConversationInfo;
}
export interface EntriesFrame {
  readonly t: 'entries';
  readonly conversationId: ConversationId;
  /** Oldest first, all of conversationId. */
  readonly entries: readonly Entry[];
  /** True for live pushes; false for catch-up pages (which are contiguous from the requested cursor). */
  readonly live: boolean;
}
export interface SentFrame {
  readonly t: 'sent';
  readonly conversationId: ConversationId;
  readonly clientMsgId: string;
  readonly id: EntryId;
  readonly createdAt: number;
}
export interface ErrorFrame {
  readonly t: 'error';
  readonly code: ErrorCode;
  readonly message: string;
  /** The clientMsgId of the send this answers, or '' when not about a send. */
  readonly ref: string;
}
/** The catch-up that followed hello is complete; live pushes follow. */
export interface SyncedFrame {
  readonly t: 'synced';
}
export interface PongFrame {
  readonly t: 'pong';
  readonly nonce: number;
  readonly serverTime: number;
}
/** One member's receipt positions in a conversation. `read` is 0 where privacy settings hide it. */
export interface ReceiptItem {
  readonly userId: UserId;
  readonly delivered: EntryId;
  readonly read: EntryId;
}
/** Members' receipt positions: all members after hello, the changed ones afterwards. */
export interface ReceiptsFrame {
  readonly t: 'receipts';
  readonly conversationId: ConversationId;
  readonly items: readonly ReceiptItem[];
}
/** Someone else is (or stopped) typing; the client forgets it after TYPING_TTL_MS without a refresh. */
export interface TypingServerFrame {
  readonly t: 'typing';
  readonly conversationId: ConversationId;
  readonly userId: UserId;
  readonly active: boolean;
}
export const PresenceStatus = {
  /** Presence cannot be determined right now (e.g. the shared presence store is down). */
  Unknown: 0,
  /** At least one device is connected (or left less than the grace period ago). */
  Online: 1,
  /** No device connected; lastSeen says since when (0 when hidden or never seen). */
  Offline: 2,
} as const;
export type PresenceStatus = (typeof PresenceStatus)[keyof typeof PresenceStatus];
export interface PresenceItem {
  readonly userId: UserId;
  readonly status: PresenceStatus;
  /** ms since the Unix epoch; 0 when unknown, hidden by privacy settings, or online. */
  readonly lastSeen: number;
}
export interface PresenceFrame {
  readonly t: 'presence';
  readonly items: readonly PresenceItem[];
}
/** The user's own privacy settings, sent after hello and whenever they change. */
export interface SettingsFrame {
  readonly t: 'settings';
  /** When false the user neither sends nor sees read receipts. */
  readonly readReceipts: boolean;
  /** When false the user neither shows nor sees last-seen times. */
  readonly showLastSeen: boolean;
}
/** What a device-inbox item carries. */
export const InboxKind = {
  /** An MLS Welcome: join the group it names. */
  Welcome: 1,
  /** History for a newly linked device, end-to-end encrypted by one of the user's other devices. */
  History: 2,
} as const;
export type InboxKind = (typeof InboxKind)[keyof typeof InboxKind];
export const isInboxKind = (v: number): v is InboxKind => v === InboxKind.Welcome || v === InboxKind.History;

export interface InboxItem {
  /** Increasing per device; ack up to it. */
  readonly id: bigint;
  readonly senderUserId: UserId;
  readonly senderDeviceId: DeviceId;
  readonly kind: InboxKind;
  readonly createdAt: number;
  readonly body: Uint8Array;
}
/** Device-addressed payloads, oldest first: pending ones after hello, new ones live. */
export interface InboxFrame {
  readonly t: 'inbox';
  readonly items: readonly InboxItem[];
}
/** This device's KeyPackage stock is low: upload more. */
export interface KeyPackagesLowFrame {
  readonly t: 'key_packages_low';
  readonly stock: number;
}
export type ServerFrame =
  | InboxFrame
  | KeyPackagesLowFrame
  | ReceiptsFrame
  | TypingServerFrame
  | PresenceFrame
  | SettingsFrame
  | WelcomeFrame
  | ConversationFrame
  | EntriesFrame
  | SentFrame
  | ErrorFrame
  | SyncedFrame
  | PongFrame;
