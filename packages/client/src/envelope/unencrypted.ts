/**
 * PLACEHOLDER WITHOUT ENCRYPTION. `UnencryptedEnvelope` puts content on the
 * wire as plain UTF-8 JSON (`{"t":"text","text":"..."}`): the server and anyone
 * who can read its database can read every message. It exists for tests of
 * the sync engine without MLS; do not ship it.
 */
import { ErrorCode, TidingsError, type ConversationId, type Entry } from '@tidings/shared';
import { decodeContent, encodeContent, type Content } from './content.js';
import type { Envelope } from './envelope.js';

/** A placeholder Envelope that does NOT encrypt: content travels as plaintext JSON. */
export class UnencryptedEnvelope implements Envelope {
  /** Always false: a reminder, checkable at runtime, that nothing is encrypted. */
  readonly encrypts = false;

  seal(_conversationId: ConversationId, content: Content): Promise<Uint8Array> {
    return Promise.resolve(encodeContent(content));
  }

  open(_conversationId: ConversationId, entry: Entry): Promise<Content> {
    try {
      return Promise.resolve(decodeContent(entry.body));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return Promise.reject(new TidingsError(ErrorCode.InvalidArgument, `unreadable message body: ${reason}`));
    }
  }
}
