/**
 * The envelope the engine seals messages with. PLACEHOLDER: UnencryptedEnvelope
 * does not encrypt; the MLS envelope from @tidings/client replaces it here, and
 * nowhere else in the app needs to change.
 */
import { UnencryptedEnvelope, type Credentials, type Envelope } from '@tidings/client';

export function makeEnvelope(_credentials: Credentials): Envelope {
  // TODO(MLS): return the MLS envelope for this device once @tidings/client exports it.
  return new UnencryptedEnvelope();
}
