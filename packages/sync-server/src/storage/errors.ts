import { ErrorCode, TidingsError } from '@tidings/shared';

/** Error codes of node's network layer and of PostgreSQL that mean "the database is not reachable right now". */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '40001', // serialization_failure: retrying is the remedy
  '40P01', // deadlock_detected
]);

/** Map a store failure to a wire error: retryable when the database is down, internal otherwise. */
export function toStoreError(err: unknown): TidingsError {
  if (err instanceof TidingsError) return err;
  const code = (err as { code?: string } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // Class 22 is "data exception" (e.g. a NUL in text, a value out of range): the input was bad, not the server.
  if (code && code.startsWith('22')) return new TidingsError(ErrorCode.InvalidArgument, 'a value in the request cannot be stored as given');
  if ((code && UNAVAILABLE.has(code)) || /Connection terminated|not queryable|Client has encountered a connection error/i.test(message)) {
    return new TidingsError(ErrorCode.Unavailable, 'the database is unavailable; retry shortly');
  }
  return new TidingsError(ErrorCode.Internal, 'internal error');
}
