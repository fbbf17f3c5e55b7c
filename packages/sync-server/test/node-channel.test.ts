/** The per-node channel payload: frames for users' devices, and close orders for one device, each decoded back exactly; malformed input decodes to nothing. */
import { describe, expect, it } from 'vitest';
import type { DeviceId, UserId } from '@tidings/shared';
import { decodeNodeMessage, encodeNodeClose, encodeNodeMessage } from '../src/switchboard/node-channel.js';

const U = (n: bigint) => n as UserId;
const D = (n: bigint) => n as DeviceId;

describe('node channel payload', () => {
  it('round-trips a frame for users, with and without a device filter', () => {
    const frame = new Uint8Array([1, 2, 3]);
    const all = decodeNodeMessage(encodeNodeMessage([U(1n), U(2n ** 63n - 1n)], frame));
    expect(all).toEqual({ kind: 'deliver', userIds: [1n, 2n ** 63n - 1n], frame });
    expect(decodeNodeMessage(encodeNodeMessage([U(5n)], frame, D(9n)))).toEqual({ kind: 'deliver', userIds: [5n], frame, onlyDevice: 9n });
  });

  it('round-trips a close order, cutting the reason to what a WebSocket close carries', () => {
    expect(decodeNodeMessage(encodeNodeClose(U(7n), D(71n), 4010, 'device revoked'))).toEqual({ kind: 'close', userId: 7n, deviceId: 71n, code: 4010, reason: 'device revoked' });
    const long = decodeNodeMessage(encodeNodeClose(U(7n), D(71n), 4010, 'x'.repeat(500)));
    expect(long?.kind === 'close' && long.reason.length).toBe(123);
  });

  it('decodes truncated or inconsistent payloads to nothing', () => {
    const close = encodeNodeClose(U(7n), D(71n), 4010, 'r');
    expect(decodeNodeMessage(close.subarray(0, 21))).toBeUndefined(); // cut inside the close code
    const noDevice = Buffer.from(close);
    noDevice.writeBigUInt64BE(0n, 0);
    expect(decodeNodeMessage(noDevice)).toBeUndefined(); // a close order names a device
    const twoUsers = Buffer.from(close);
    twoUsers.writeUInt32BE((0x8000_0000 | 2) >>> 0, 8);
    expect(decodeNodeMessage(twoUsers)).toBeUndefined(); // a close order names one user
    expect(decodeNodeMessage(encodeNodeMessage([U(1n), U(2n)], new Uint8Array(0)).subarray(0, 15))).toBeUndefined();
    expect(decodeNodeMessage(Buffer.alloc(5))).toBeUndefined();
  });
});
