/** The events of a TidingsClient, declared once. */
import type { ConversationId, InboxItem, PresenceItem, TidingsError, UserId } from '@tidings/shared';
import type { Conversation } from '../model/conversation.js';
import type { Message } from '../model/message.js';
import type { ReceiptsChange, UnreadChange } from '../model/receipt.js';
import type { PrivacySettings } from '../model/settings.js';
import type { ConnectionState } from './status.js';

export interface TidingsEvents {
  /** The connection state changed. */
  status: ConnectionState;
  /** Catch-up after (re)connecting is complete: the replica is as fresh as the server. */
  synced: void;
  /**
   * A message row was added or changed (optimistic send, new entry, sent ack,
   * failure). Delivered/read changes of one's own messages come as `receipts`
   * instead (one event however many messages it covers).
   */
  message: Message;
  /** Receipt positions moved in a conversation: re-read its messages' states (ticks) and per-member detail. */
  receipts: ReceiptsChange;
  /** A conversation's unread count changed (new messages from others, or read on this or another own device). */
  unread: UnreadChange;
  /** Watched users' presence changed (only the changed items; all become Unknown while disconnected). */
  presence: readonly PresenceItem[];
  /** Who is typing in a conversation changed (someone started, stopped, or expired). */
  typing: { readonly conversationId: ConversationId; readonly userIds: readonly UserId[] };
  /** The user's privacy settings arrived or changed. */
  settings: PrivacySettings;
  /** Device-addressed items arrived (MLS Welcomes, history for a new device); call ackInbox once handled. */
  inbox: readonly InboxItem[];
  /** The server's stock of this device's KeyPackages is low: upload more. */
  keyPackagesLow: number;
  /** This device's KeyPackage stock on the server after a check or upload (MLS envelope only): it can be added to groups. */
  keyPackageStock: number;
  /** A conversation's MLS group was created, joined or moved to a new epoch (MLS envelope only). */
  groupChanged: { readonly conversationId: ConversationId; readonly epoch: bigint };
  /**
   * A member's set of identity keys changed after it was first seen in a
   * conversation (a new, removed or replaced device): their safety number
   * changed; the conversation's identityWarning is set until acknowledged.
   */
  identityChanged: { readonly conversationId: ConversationId; readonly userId: UserId };
  /**
   * A conversation's convergent state changed (edits, deletions, reactions, pins,
   * group profile, timer; the account document for the self conversation):
   * re-read through `client.crdt` and `messages()`. `removed` lists rows erased
   * or removed on this device (deleted for everyone or for me, or expired).
   */
  state: { readonly conversationId: ConversationId; readonly removed: readonly string[] };
  /** A conversation was added or changed (members, name, removal). */
  conversation: Conversation;
  /**
   * Something went wrong that the app may want to show. After `unauthenticated`
   * (bad token) or `forbidden` (device revoked) the client has stopped for good.
   */
  error: TidingsError;
}
