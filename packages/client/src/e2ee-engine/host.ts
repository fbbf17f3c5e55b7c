/** What the E2EE layer needs from the engine that runs it. */
import type { ConversationId, Entry, TidingsError, UserId } from '@tidings/shared';
import type { Credentials, HttpApi } from '../api/http-api.js';
import type { Message } from '../model/message.js';
import type { Replica } from '../replica/replica.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';

export interface E2eeHost {
  readonly credentials: Credentials;
  readonly replica: Replica;
  readonly api: HttpApi;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly newClientMsgId: () => string;
  /** Runs a task on the engine's serial queue, in order with frame handling. Never call it from a task on that queue. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /** Asks the engine to flush the outbox (on its queue). */
  requestFlush(): void;
  /** Acks inbox items up to `upto`. */
  ackInbox(upto: bigint): void;
  /** Another device's opened state update (Crdt or Snapshot entry), in log order. */
  stateReceived(conversationId: ConversationId, entry: Entry, data: Uint8Array): Promise<void>;
  /** Opens a page of entries as one batch of state updates (see StateSink.batch). */
  stateBatch<T>(conversationId: ConversationId, open: () => Promise<T>): Promise<T>;
  /** A message row changed (opened later, or filled from history). */
  messageChanged(message: Message): void;
  /** A conversation's MLS group changed (created, joined, new epoch). */
  groupChanged(conversationId: ConversationId, epoch: bigint): void;
  /** This device's KeyPackage stock on the server, after a check or an upload. */
  keyPackageStock(stock: number): void;
  /** The E2EE layer refuses to run (the server's MLS ciphersuite is not this device's): tell the app. */
  failed(error: TidingsError): void;
  /** A peer's identity keys changed after they were first seen. */
  identityChanged(conversationId: ConversationId, userId: UserId): void;
}
