/**
 * The envelope the engine seals messages with: MLS (RFC 9420) through
 * @tidings/client's MlsEnvelope, in the deployment's ciphersuite (GET
 * /v1/config; X-Wing where the server is set up for it). The suite last read
 * is kept, so the app still starts offline. The engine, and with it every
 * private key, runs in the worker; the page never sees a key.
 */
import { HttpApi, MlsEnvelope, parseSuiteName, type Credentials, type Envelope, type SuiteName } from '@tidings/client';
import type { AppStore } from './app-store.js';

/** `store` is the engine's own app database (the suite last read is kept there). */
export async function makeEnvelope(_credentials: Credentials, store: AppStore, serverUrl: string = globalThis.location.origin): Promise<Envelope> {
  let suite: SuiteName | undefined;
  try {
    const saved = await store.suite();
    if (saved !== undefined) suite = parseSuiteName(saved);
  } catch {
    suite = undefined; // a suite this build no longer knows: ask the server
  }
  try {
    suite = parseSuiteName((await new HttpApi({ serverUrl }).serverConfig()).mlsSuite);
    await store.saveSuite(suite);
  } catch {
    // Offline, or a suite this build cannot run: start with what we have; the engine's own
    // check against the server then reports unsupported_suite instead of making keys.
  }
  return new MlsEnvelope(suite === undefined ? {} : { suite });
}
