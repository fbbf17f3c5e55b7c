/**
 * Branded id types. Every id is a Snowflake (`bigint`) inside the system and a
 * decimal string in JSON. Each brand has exactly one parse function, which is
 * the only way to make one from untrusted input.
 */
import { TidingsError, ErrorCode } from './errors.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<bigint, 'UserId'>;
export type DeviceId = Brand<bigint, 'DeviceId'>;
export type ConversationId = Brand<bigint, 'ConversationId'>;
/** A log entry id: a Snowflake, strictly increasing within its conversation. */
export type EntryId = Brand<bigint, 'EntryId'>;

const MAX_U63 = (1n << 63n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]{0,18})$/;

function parseId(input: unknown, what: string, allowZero: boolean): bigint {
  let value: bigint | undefined;
  if (typeof input === 'bigint') value = input;
  else if (typeof input === 'string' && DECIMAL.test(input)) value = BigInt(input);
  else if (typeof input === 'number' && Number.isSafeInteger(input)) value = BigInt(input);
  if (value === undefined || value < 0n || value > MAX_U63 || (!allowZero && value === 0n)) {
    throw new TidingsError(ErrorCode.InvalidArgument, `${what} must be a positive decimal id`);
  }
  return value;
}

export const parseUserId = (input: unknown): UserId => parseId(input, 'user id', false) as UserId;
export const parseDeviceId = (input: unknown): DeviceId => parseId(input, 'device id', false) as DeviceId;
export const parseConversationId = (input: unknown): ConversationId =>
  parseId(input, 'conversation id', false) as ConversationId;
/** Entry ids may be 0, meaning "before the first entry" in a cursor. */
export const parseEntryId = (input: unknown): EntryId => parseId(input, 'entry id', true) as EntryId;

/** The position before any entry of a conversation. */
export const ZERO_ENTRY = 0n as EntryId;

/** A vector cursor: conversation id -> highest entry id durably stored. */
export type VectorCursor = Map<ConversationId, EntryId>;
