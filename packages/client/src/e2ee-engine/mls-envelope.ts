/**
 * The MLS envelope: pass it as `envelope` and the engine encrypts every
 * conversation end to end with MLS (RFC 9420). Unlike the placeholder it is
 * not a pure function of the content: sealing needs the conversation's group
 * at the epoch the server will append at, so the engine seals at flush time
 * and opens entries in log order itself (see e2ee-engine/session.ts). Keys
 * live in the replica (the KeyStore port) and never leave the engine.
 */
import type { ConversationId, Entry } from '@tidings/shared';
import type { Content, Envelope } from '../envelope/envelope.js';
import { E2eeError } from '../e2ee/errors.js';
import { DEFAULT_SUITE, type SuiteName } from '../e2ee/suite.js';

export interface MlsEnvelopeOptions {
  /** Ciphersuite of this device's identity and of the groups it creates. Default MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
  readonly suite?: SuiteName;
  /** KeyPackages kept on the server: refilled up to this many when the stock is at or below the server's low water. Default 50. */
  readonly keyPackageTarget?: number;
}

export const DEFAULT_KEY_PACKAGE_TARGET = 50;

export class MlsEnvelope implements Envelope {
  /** True: a reminder, checkable at runtime, that content is end-to-end encrypted. */
  readonly encrypts = true;
  readonly suite: SuiteName;
  readonly keyPackageTarget: number;

  constructor(options: MlsEnvelopeOptions = {}) {
    this.suite = options.suite ?? DEFAULT_SUITE;
    this.keyPackageTarget = options.keyPackageTarget ?? DEFAULT_KEY_PACKAGE_TARGET;
  }

  seal(_conversationId: ConversationId, _content: Content): Promise<Uint8Array> {
    return Promise.reject(new E2eeError('invalid_message', 'the MLS envelope seals inside TidingsClient only (at flush time)'));
  }

  open(_conversationId: ConversationId, _entry: Entry): Promise<Content> {
    return Promise.reject(new E2eeError('invalid_message', 'the MLS envelope opens inside TidingsClient only (in log order)'));
  }
}
