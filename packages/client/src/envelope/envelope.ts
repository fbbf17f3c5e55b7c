/**
 * The envelope port: turns message content into the opaque body of a log entry
 * and back. End-to-end encryption (MLS) will be an implementation of this port.
 */
import type { ConversationId, Entry } from '@tidings/shared';

/** What a text message holds before sealing. */
export interface TextContent {
  readonly text: string;
}

export interface Envelope {
  /** Seals content for a conversation; the result is the entry body sent to the server. */
  seal(conversationId: ConversationId, content: TextContent): Promise<Uint8Array>;
  /** Opens a committed entry's body; throws when it cannot. */
  open(conversationId: ConversationId, entry: Entry): Promise<TextContent>;
}
