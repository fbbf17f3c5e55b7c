/** Local id helpers. */
import { MAX_CLIENT_MSG_ID_BYTES } from '@tidings/shared';

/**
 * A fresh idempotency key for a send: a random UUID without dashes (32 hex
 * characters, well under MAX_CLIENT_MSG_ID_BYTES).
 */
export function randomClientMsgId(): string {
  const id = globalThis.crypto.randomUUID().replaceAll('-', '');
  if (id.length > MAX_CLIENT_MSG_ID_BYTES) throw new RangeError('client message id too long');
  return id;
}
