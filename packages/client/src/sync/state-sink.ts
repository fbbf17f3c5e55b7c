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
}

/** The sink used until a state layer is attached: drops updates. */
export const ignoreState: StateSink = { received: () => Promise.resolve() };
