/** Where opened state updates (Crdt and Snapshot entries) go: the convergent-state layer. */
import type { ConversationId, Entry } from '@tidings/shared';

export interface StateSink {
  /**
   * A committed Crdt or Snapshot entry was opened, in log order per
   * conversation. `data` is what the sending device passed to `sendState`.
   * Entries this device sent itself are not passed (MLS cannot open them, and
   * the local state applied them when they were made). Delivery is at least
   * once: applying one twice must be harmless.
   */
  received(conversationId: ConversationId, entry: Entry, data: Uint8Array): Promise<void>;
  /**
   * Runs `open` (which opens a page of the conversation's entries and calls
   * `received` for its state updates) as one batch: the sink may hold the
   * updates and apply them together before `batch` resolves — e.g. the
   * page's latest snapshot first, and the work that follows a change once.
   * Optional; without it every update is applied as it is received.
   */
  batch?<T>(conversationId: ConversationId, open: () => Promise<T>): Promise<T>;
}

/** Runs `open` as one batch of `sink`, or plainly when the sink does not batch. */
export const inBatch = <T>(sink: StateSink, conversationId: ConversationId, open: () => Promise<T>): Promise<T> =>
  sink.batch ? sink.batch(conversationId, open) : open();

/** The sink used until a state layer is attached: drops updates. */
export const ignoreState: StateSink = { received: () => Promise.resolve() };
