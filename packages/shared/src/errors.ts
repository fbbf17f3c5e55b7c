/**
 * Error codes shared by server and client. Everything that crosses the wire
 * carries one of these codes and a human message.
 */
export const ErrorCode = {
  /** A field is missing, malformed or out of range. */
  InvalidArgument: 'invalid_argument',
  /** A binary frame could not be decoded (truncated, unknown tag, bad length). */
  InvalidFrame: 'invalid_frame',
  /** The frame or body is larger than the named limit allows. */
  PayloadTooLarge: 'payload_too_large',
  /** The upload would take the user past their media storage quota (it fits the size limit; delete files or ask for more room). */
  QuotaExceeded: 'quota_exceeded',
  /** The peer speaks a protocol version this side does not. */
  UnsupportedVersion: 'unsupported_version',
  /** No valid credentials were presented. */
  Unauthenticated: 'unauthenticated',
  /** Username or password is wrong. */
  InvalidCredentials: 'invalid_credentials',
  /** The caller is authenticated but may not do this. */
  Forbidden: 'forbidden',
  /** The caller is not a member of the conversation. */
  NotAMember: 'not_a_member',
  /** The named thing does not exist (or the caller may not know it does). */
  NotFound: 'not_found',
  /** The request conflicts with existing state (e.g. the username is taken). */
  Conflict: 'conflict',
  /** An MLS message was made for an epoch the conversation has left (or not reached): process the newer Commit, then retry. */
  StaleEpoch: 'stale_epoch',
  /** Too many requests; retry after the given delay. */
  RateLimited: 'rate_limited',
  /** A dependency (database, cache) is down; the request may be retried as is. */
  Unavailable: 'unavailable',
  /** The server is shutting down; reconnect elsewhere or later. */
  ShuttingDown: 'shutting_down',
  /** An unexpected failure on the server. */
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const ALL_CODES = new Set<string>(Object.values(ErrorCode));
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && ALL_CODES.has(value);

/** Codes after which the same request may succeed if simply sent again. */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.RateLimited,
  ErrorCode.Unavailable,
  ErrorCode.ShuttingDown,
  ErrorCode.Internal,
]);

/** The HTTP status that goes with each code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  invalid_frame: 400,
  payload_too_large: 413,
  // 507 Insufficient Storage (RFC 4918 §11.5): the request is fine, the user's space is not; 413 stays for "too big for any user".
  quota_exceeded: 507,
  unsupported_version: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_a_member: 403,
  not_found: 404,
  conflict: 409,
  stale_epoch: 409,
  rate_limited: 429,
  unavailable: 503,
  shutting_down: 503,
  internal: 500,
};

/** The one error class that crosses boundaries: a stable code plus a message. */
export class TidingsError extends Error {
  override readonly name = 'TidingsError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { retryAfterMs?: number },
  ) {
    super(message);
  }
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }
}

/** WebSocket close codes (4xxx, application range), each with its reason. */
export const CloseCode = {
  /** Normal closure requested by either side. */
  Normal: 1000,
  /** The server is going away (shutdown); reconnect. */
  GoingAway: 1001,
  /** The first frame was not a valid hello, or the token was rejected. */
  Unauthenticated: 4001,
  /** The peer sent a frame that could not be decoded; the connection is not trusted further. */
  ProtocolError: 4002,
  /** The client did not read fast enough; it should reconnect and catch up by cursor. */
  TooSlow: 4003,
  /** No hello arrived in time. */
  HelloTimeout: 4008,
  /** The device was revoked. */
  DeviceRevoked: 4010,
  /** The server may have missed pushes for this device (e.g. after a Redis outage): reconnect and catch up by cursor. */
  Resync: 4011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
