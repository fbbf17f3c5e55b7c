/**
 * PLACEHOLDER WITHOUT ENCRYPTION. `UnencryptedEnvelope` puts message content on
 * the wire as plain UTF-8 JSON (`{"text": "..."}`): the server and anyone who
 * can read its database or the network between TLS endpoints can read every
 * message. It exists only until the MLS envelope lands; do not ship it.
 */
import { ErrorCode, TidingsError, type ConversationId, type Entry } from '@tidings/shared';
import type { Envelope, TextContent } from './envelope.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A placeholder Envelope that does NOT encrypt: content travels as plaintext JSON. */
export class UnencryptedEnvelope implements Envelope {
  /** Always false: a reminder, checkable at runtime, that nothing is encrypted. */
  readonly encrypts = false;

  seal(_conversationId: ConversationId, content: TextContent): Promise<Uint8Array> {
    return Promise.resolve(encoder.encode(JSON.stringify({ text: content.text })));
  }

  open(_conversationId: ConversationId, entry: Entry): Promise<TextContent> {
    try {
      const json: unknown = JSON.parse(decoder.decode(entry.body));
      const text = (json as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') throw new TypeError('no text field');
      return Promise.resolve({ text });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return Promise.reject(new TidingsError(ErrorCode.InvalidArgument, `unreadable message body: ${reason}`));
    }
  }
}
