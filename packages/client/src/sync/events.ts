/** The events of a TidingsClient, declared once. */
import type { TidingsError } from '@tidings/shared';
import type { Conversation } from '../model/conversation.js';
import type { Message } from '../model/message.js';
import type { ConnectionState } from './status.js';

export interface TidingsEvents {
  /** The connection state changed. */
  status: ConnectionState;
  /** Catch-up after (re)connecting is complete: the replica is as fresh as the server. */
  synced: void;
  /** A message row was added or changed (optimistic send, new entry, sent ack, failure). */
  message: Message;
  /** A conversation was added or changed (members, name, removal). */
  conversation: Conversation;
  /**
   * Something went wrong that the app may want to show. After `unauthenticated`
   * (bad token) or `forbidden` (device revoked) the client has stopped for good.
   */
  error: TidingsError;
}
