/**
 * The engine API: what a tab (a view) may ask of the one engine per origin.
 * Everything crossing it is structured-cloneable (ids stay bigint). Tokens and
 * keys never cross it: they stay in the worker that runs the engine.
 */
import type { ConversationId, DeviceId, EntryId, PresenceItem, UserId } from '@tidings/shared';
import type { ConnectionState, ConversationKindName, MessageAnnotations, MessageContent, MessageState, PrivacySettings } from '@tidings/client';
import type { MediaDescriptor } from '@tidings/client/media';

/** Who is signed in on this origin. */
export interface SessionInfo {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly username: string;
}

/** A message as the views render it (no sealed body). */
export interface MessageView {
  readonly uid: string;
  readonly conversationId: ConversationId;
  /** Sort key within the conversation (opaque; the `before` bound of a history page). */
  readonly seq: string;
  readonly id: EntryId | null;
  readonly senderUserId: UserId;
  readonly content: MessageContent;
  readonly createdAt: number;
  /** Stored state; a view derives delivered/read for its own sent messages from a ReceiptView. */
  readonly state: MessageState;
  /** Edits, deletion for everyone, reactions and pin from the conversation's state (null when it says nothing). */
  readonly annotations: MessageAnnotations | null;
}

/** Most messages a view asks `refreshMessages` to re-read at once (its newest loaded ones). */
export const MAX_REFRESH = 2_000;

/** What a user can do to one message (see state-calls.ts). */
export type MessageAction =
  | { readonly type: 'react'; readonly emoji: string; readonly on: boolean }
  /** Own text messages (or the caption of own media). */
  | { readonly type: 'edit'; readonly text: string }
  /** Own messages: erased on every device. */
  | { readonly type: 'deleteForEveryone' }
  /** Removed from this device only. */
  | { readonly type: 'deleteForMe' }
  /** Pins or unpins the message for every member. */
  | { readonly type: 'pin'; readonly on: boolean };

/** The other members' lowest receipt positions in one conversation (null when there are none). */
export interface ReceiptView {
  readonly delivered: bigint | null;
  readonly read: bigint | null;
}

/** One row of the chat list. */
export interface ChatSummary {
  readonly id: ConversationId;
  readonly kind: ConversationKindName;
  /** Group name, or the DM peer's username (or a placeholder while unknown). */
  readonly title: string;
  readonly members: readonly UserId[];
  /** For a DM, the other member. */
  readonly peer: UserId | null;
  readonly left: boolean;
  readonly unread: number;
  readonly last: MessageView | null;
  /** This user's chat-list flags (from the account state, synced across their devices). */
  readonly archived: boolean;
  readonly muted: boolean;
  /** Muted until this time (ms since the epoch; Infinity: for ever; 0: not muted). Views compare it with the clock as time passes. */
  readonly mutedUntil: number;
  readonly pinned: boolean;
}

/**
 * Chat-list flags a user can set on one conversation (see state-calls.ts).
 * A mute without `until` (ms since the epoch) is for ever.
 */
export type ChatAction =
  | { readonly type: 'archive' | 'pin'; readonly on: boolean }
  | { readonly type: 'mute'; readonly on: boolean; readonly until?: number };

/** Conversation settings every member can change, on every member's device (see state-calls.ts). */
export type ConversationAction =
  /** A group's name and description (the name then wins over the server's). */
  | { readonly type: 'profile'; readonly name?: string; readonly description?: string }
  /** Disappearing messages after this many seconds (0: off). */
  | { readonly type: 'timer'; readonly seconds: number };

/** A pinned message and when it was pinned. */
export interface PinnedView {
  readonly message: MessageView;
  /** When it was pinned, ms since the epoch. */
  readonly at: number;
}

/** What a conversation's convergent state says beyond its messages. */
export interface ConversationStateView {
  /** The group's description (null: none set). */
  readonly description: string | null;
  /** Disappearing-messages timer in seconds (0: off). */
  readonly disappearingSeconds: number;
  /** Pinned messages present on this device, oldest pin first. */
  readonly pinned: readonly PinnedView[];
}

/** One version of a message's text: the original, then each edit. */
export interface MessageVersion {
  readonly text: string;
  /** When this version was written, ms since the epoch. */
  readonly at: number;
}

/** What changed in the engine; views re-read what they show. Delivered in batches. */
export type EngineEvent =
  /** Signed in or out (in any tab). */
  | { readonly type: 'session'; readonly session: SessionInfo | null }
  /** Connection state of the engine. */
  | { readonly type: 'status'; readonly status: ConnectionState }
  /** A message was added or changed (optimistic send, arrival, sent ack, failure). */
  | { readonly type: 'message'; readonly message: MessageView }
  /** A conversation's convergent state changed (edits, deletions, reactions); `removed` rows are erased or gone here. */
  | { readonly type: 'state'; readonly conversationId: ConversationId; readonly removed: readonly string[] }
  /** Receipt positions moved in a conversation. */
  | { readonly type: 'receipts'; readonly conversationId: ConversationId; readonly receipts: ReceiptView }
  /** The chat list changed (conversation added or changed, unread counts). */
  | { readonly type: 'chats' }
  /** Watched users' presence changed. */
  | { readonly type: 'presence'; readonly items: readonly PresenceItem[] }
  /** Who is typing in a conversation. */
  | { readonly type: 'typing'; readonly conversationId: ConversationId; readonly userIds: readonly UserId[] }
  /** Privacy settings arrived or changed. */
  | { readonly type: 'settings'; readonly settings: PrivacySettings }
  /** Usernames were learned for these users. */
  | { readonly type: 'names'; readonly names: ReadonlyMap<UserId, string> }
  /** A member's identity keys changed in a conversation (its warning is set until acknowledged). */
  | { readonly type: 'identity'; readonly conversationId: ConversationId; readonly userId: UserId }
  /** Something the user should see (message is human-readable). */
  | { readonly type: 'error'; readonly message: string };

export type EngineListener = (events: readonly EngineEvent[]) => void;

export interface EngineApi extends EngineTestHooks {
  /** Adds a listener; returns a subscription id for `unsubscribe`. */
  subscribe(listener: EngineListener): Promise<number>;
  unsubscribe(id: number): Promise<void>;

  session(): Promise<SessionInfo | null>;
  register(username: string, password: string): Promise<SessionInfo>;
  login(username: string, password: string): Promise<SessionInfo>;
  logout(): Promise<void>;

  status(): Promise<ConnectionState>;
  /** The network may be back (e.g. the browser's `online` event): reconnect now instead of after backoff. */
  nudge(): Promise<void>;

  chats(): Promise<ChatSummary[]>;
  chat(id: ConversationId): Promise<ChatSummary | null>;
  /** The newest `limit` messages before `before` (a seq), oldest first. */
  messages(id: ConversationId, limit: number, before?: string): Promise<MessageView[]>;
  receipts(id: ConversationId): Promise<ReceiptView>;
  /** Sends a text; with `replyToUid` it quotes that message (of the same conversation). */
  sendText(id: ConversationId, text: string, replyToUid?: string): Promise<MessageView>;
  /** Re-encodes (images), seals, uploads and sends a file; rejects (nothing sent) when the upload fails, e.g. offline. */
  sendFile(id: ConversationId, file: Blob, fileName: string, caption: string): Promise<MessageView>;
  /** The decrypted, verified file of a media message (downloaded once, then cached in the engine). */
  media(descriptor: MediaDescriptor): Promise<Blob>;
  markRead(id: ConversationId): Promise<void>;
  /** Reacts to, edits or deletes one message; rejects with the client's typed error when not allowed. */
  messageAction(id: ConversationId, uid: string, action: MessageAction): Promise<void>;
  /** Current views of these loaded messages (after a `state` event); removed rows are absent. */
  refreshMessages(id: ConversationId, uids: readonly string[]): Promise<MessageView[]>;
  /** Archives, mutes (until a time, or for ever) or pins a chat, or undoes it, on all of this user's devices. */
  chatAction(id: ConversationId, action: ChatAction): Promise<void>;
  /** Changes a group's name or description, or the disappearing timer, for every member; rejects with the client's typed error when not allowed. */
  conversationAction(id: ConversationId, action: ConversationAction): Promise<void>;
  /** Description, disappearing timer and pinned messages of a conversation (re-read after a `state` event). */
  conversationState(id: ConversationId): Promise<ConversationStateView>;
  /** Every version of one message's text, oldest first (the last is the current one). */
  editHistory(id: ConversationId, uid: string): Promise<MessageVersion[]>;

  draft(id: ConversationId): Promise<string>;
  saveDraft(id: ConversationId, text: string): Promise<void>;

  /** Looks a user up by username (and remembers the name). */
  findUser(username: string): Promise<{ userId: UserId; username: string }>;
  /** Known usernames for these users (unknown ones are absent). */
  names(userIds: readonly UserId[]): Promise<Map<UserId, string>>;
  openDm(username: string): Promise<ConversationId>;
  createGroup(name: string, usernames: readonly string[]): Promise<ConversationId>;
  addMembers(id: ConversationId, usernames: readonly string[]): Promise<void>;
  removeMember(id: ConversationId, userId: UserId): Promise<void>;

  /** Which conversation a view has open (null: none); its members' presence is watched while open. */
  focus(viewId: string, id: ConversationId | null): Promise<void>;
  presence(userIds: readonly UserId[]): Promise<PresenceItem[]>;
  typing(id: ConversationId): Promise<UserId[]>;
  setTyping(id: ConversationId, active: boolean): Promise<void>;

  settings(): Promise<PrivacySettings | null>;
  updateSettings(patch: Partial<PrivacySettings>): Promise<PrivacySettings>;

  /** This user's active devices, as the server lists them (oldest first), with identity-key fingerprints. */
  devices(): Promise<DeviceView[]>;
  /** Revokes another of this user's devices; the engine then removes it from every encrypted group. */
  removeDevice(deviceId: DeviceId): Promise<void>;
  /** The 60-digit safety number with a user (from both users' identity keys in the DM's MLS group). */
  safetyNumber(userId: UserId): Promise<string>;
  /** True when a member's identity keys changed in this conversation since first seen, until acknowledged. */
  identityWarning(id: ConversationId): Promise<boolean>;
  /** Clears the conversation's identity warning (the user compared safety numbers again). */
  acknowledgeIdentity(id: ConversationId): Promise<void>;

  /** Register this device's Web Push subscription with the server (the engine holds the token, so it makes the call). */
  registerPush(subscription: PushSubscriptionData): Promise<void>;
  /** For a push: sync, then the conversation's title and newest message text (decrypted here, never sent by the server). */
  pushPreview(id: ConversationId): Promise<PushPreview | null>;
}

/** One of the user's devices. */
export interface DeviceView {
  readonly deviceId: DeviceId;
  readonly name: string;
  /** When the device signed in, ms since the Unix epoch. */
  readonly createdAt: number;
  /** This device (the one running this engine). */
  readonly current: boolean;
  /** Fingerprint of its identity key as this account's self group holds it; null until it has joined. */
  readonly fingerprint: string | null;
}

/**
 * Hooks only test builds have (`TIDINGS_TEST_HOOKS=1` at build time); in a
 * production build they throw and their code is not in the bundle.
 */
export interface EngineTestHooks {
  /**
   * Stores `count` synthetic text messages ("message 1" … oldest first) in a
   * conversation's replica directly, above its cursor, spread over `days` days
   * up to now. For the 100,000-message smoothness test. Resolves with the count stored.
   */
  seedHistory(id: ConversationId, count: number, days: number): Promise<number>;
}

/** A PushSubscription as the server takes it (PushSubscription.toJSON()). */
export interface PushSubscriptionData {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** What a push notification shows. */
export interface PushPreview {
  readonly title: string;
  readonly text: string;
}
