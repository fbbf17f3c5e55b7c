/**
 * The envelope the engine seals messages with: MLS (RFC 9420) through
 * @tidings/client's MlsEnvelope. The engine, and with it every private key,
 * runs in the worker; the page never sees a key.
 */
import { MlsEnvelope, type Credentials, type Envelope } from '@tidings/client';

export function makeEnvelope(_credentials: Credentials): Envelope {
  return new MlsEnvelope();
}
