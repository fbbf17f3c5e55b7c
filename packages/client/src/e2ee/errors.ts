/**
 * Typed errors of the E2EE layer. Each carries a `reason` a caller can branch
 * on (rebase on a stale epoch, fetch missing commits on a future one, drop a
 * forged message) and maps onto the shared wire `ErrorCode`.
 */
import { ErrorCode, TidingsError } from '@tidings/shared';

export const E2eeErrorReason = {
  /** The message names an epoch this group has already left (a Commit that lost its race, or a replay). */
  StaleEpoch: 'stale_epoch',
  /** The message names an epoch this group has not reached yet: a Commit was missed. */
  FutureEpoch: 'future_epoch',
  /** The message belongs to a different MLS group than the one asked to handle it. */
  UnknownGroup: 'unknown_group',
  /** Authentication or decryption failed: tampered, forged or not meant for this device. */
  DecryptionFailed: 'decryption_failed',
  /** The bytes are not a well-formed MLS message of the expected kind. */
  InvalidMessage: 'invalid_message',
  /** This device is no longer a member of the group (it was removed). */
  NotAMember: 'not_a_member',
  /** A Commit of ours is already waiting for the server; confirm or abandon it first. */
  PendingCommit: 'pending_commit',
  /** No stored KeyPackage matches the Welcome. */
  UnknownKeyPackage: 'unknown_key_package',
  /** The named device is not a member of the group. */
  UnknownMember: 'unknown_member',
  /** The ciphersuite is unknown or its optional dependency is not installed. */
  UnsupportedSuite: 'unsupported_suite',
} as const;
export type E2eeErrorReason = (typeof E2eeErrorReason)[keyof typeof E2eeErrorReason];

const CODE: Record<E2eeErrorReason, ErrorCode> = {
  stale_epoch: ErrorCode.Conflict,
  future_epoch: ErrorCode.Conflict,
  unknown_group: ErrorCode.NotFound,
  decryption_failed: ErrorCode.InvalidFrame,
  invalid_message: ErrorCode.InvalidFrame,
  not_a_member: ErrorCode.NotAMember,
  pending_commit: ErrorCode.Conflict,
  unknown_key_package: ErrorCode.NotFound,
  unknown_member: ErrorCode.NotFound,
  unsupported_suite: ErrorCode.InvalidArgument,
};

/** Epochs involved in a stale/future-epoch error. */
export interface EpochMismatch {
  readonly messageEpoch: bigint;
  readonly groupEpoch: bigint;
}

export class E2eeError extends TidingsError {
  constructor(
    readonly reason: E2eeErrorReason,
    message: string,
    readonly epochs?: EpochMismatch,
    cause?: unknown,
  ) {
    super(CODE[reason], message);
    if (cause !== undefined) this.cause = cause;
  }
}

export const isE2eeError = (value: unknown, reason?: E2eeErrorReason): value is E2eeError =>
  value instanceof E2eeError && (reason === undefined || value.reason === reason);

/** Rethrows an E2eeError as is; wraps anything else (ts-mls, WebCrypto) as `reason`. */
export function wrapError(reason: E2eeErrorReason, what: string, err: unknown): E2eeError {
  if (err instanceof E2eeError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new E2eeError(reason, `${what}: ${detail}`, undefined, err);
}
