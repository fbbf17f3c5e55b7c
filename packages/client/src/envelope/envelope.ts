/**
 * The envelope port: turns content into the opaque body of a log entry and
 * back. MLS (e2ee-engine/mls-envelope.ts) is the implementation that ships.
 */
import type { ConversationId, Entry } from '@tidings/shared';
import type { Content } from './content.js';

export type { Content } from './content.js';

export interface Envelope {
  /** Seals content for a conversation; the result is the entry body sent to the server. */
  seal(conversationId: ConversationId, content: Content): Promise<Uint8Array>;
  /** Opens a committed entry's body; throws when it cannot. */
  open(conversationId: ConversationId, entry: Entry): Promise<Content>;
}
