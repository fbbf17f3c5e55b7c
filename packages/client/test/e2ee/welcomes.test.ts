/** Welcomes are posted in batches that fit the server's request limits. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, MAX_HTTP_JSON_BYTES, MAX_INBOX_ITEM_BYTES, MAX_INBOX_ITEMS_PER_POST } from '@tidings/shared';
import { welcomeBatches } from '../../src/e2ee-engine/welcomes.js';

/** The POST /v1/inbox body for a batch, as HttpApi.postInbox writes it. */
const body = (batch: readonly string[], welcomeBytes: number): number =>
  JSON.stringify({ items: batch.map((d) => ({ device_id: d, kind: 'welcome', body: Buffer.alloc(welcomeBytes, 7).toString('base64') })) }).length;

describe('welcome batches', () => {
  it('cover every added device once, each request under the JSON limit and the item count', () => {
    const devices = Array.from({ length: 999 }, (_, i) => String(120500000000000000n + BigInt(i)));
    // A 1,000-device group's Welcome (BENCHMARKS §6: 225 KB), a 100-device one, a small one.
    for (const welcome of [224_866, 22_824, 2_780]) {
      const batches = welcomeBatches(devices, welcome);
      expect(batches.flat()).toEqual(devices);
      for (const b of batches) {
        expect(b.length).toBeGreaterThan(0);
        expect(b.length).toBeLessThanOrEqual(MAX_INBOX_ITEMS_PER_POST);
        expect(body(b, welcome)).toBeLessThanOrEqual(MAX_HTTP_JSON_BYTES);
      }
    }
    // One request was what went out before: for 100 devices and a 22.8 KB Welcome it is over the limit.
    expect(body(devices.slice(0, 100), 22_824)).toBeGreaterThan(MAX_HTTP_JSON_BYTES);
    expect(welcomeBatches(devices.slice(0, 100), 22_824).length).toBeGreaterThan(1);
    expect(welcomeBatches([], 1000)).toEqual([]);
  });

  it('refuses a Welcome over the inbox item limit with payload_too_large', () => {
    expect(() => welcomeBatches(['1'], MAX_INBOX_ITEM_BYTES + 1)).toThrow(expect.objectContaining({ code: ErrorCode.PayloadTooLarge }));
  });
});
