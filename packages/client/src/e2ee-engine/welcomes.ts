/**
 * Welcomes go to each added device's inbox, one POST /v1/inbox per batch of
 * devices. A batch must fit the server's JSON body limit and its item count:
 * the Welcome grows with the group (about 225 KB for 1,000 devices), so one
 * request for every added device fails for groups of more than a few dozen.
 */
import { ErrorCode, MAX_HTTP_JSON_BYTES, MAX_INBOX_ITEM_BYTES, MAX_INBOX_ITEMS_PER_POST, TidingsError } from '@tidings/shared';

/** JSON around one inbox item's base64 body (keys, device id, kind) and around the items array, bytes; generous. */
export const INBOX_ITEM_JSON_OVERHEAD = 96;

/**
 * Splits `devices` into batches whose POST bodies carrying a Welcome of
 * `welcomeBytes` each stay within the server's limits. Throws
 * `payload_too_large` when one Welcome alone is over the inbox item limit.
 */
export function welcomeBatches<T>(devices: readonly T[], welcomeBytes: number): T[][] {
  if (welcomeBytes > MAX_INBOX_ITEM_BYTES) {
    throw new TidingsError(ErrorCode.PayloadTooLarge, `a Welcome of ${welcomeBytes} bytes is over the inbox item limit of ${MAX_INBOX_ITEM_BYTES}`);
  }
  const perItem = Math.ceil(welcomeBytes / 3) * 4 + INBOX_ITEM_JSON_OVERHEAD;
  const size = Math.max(1, Math.min(MAX_INBOX_ITEMS_PER_POST, Math.floor((MAX_HTTP_JSON_BYTES - INBOX_ITEM_JSON_OVERHEAD) / perItem)));
  const out: T[][] = [];
  for (let i = 0; i < devices.length; i += size) out.push(devices.slice(i, i + size));
  return out;
}
