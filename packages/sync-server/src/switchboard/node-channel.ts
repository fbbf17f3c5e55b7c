/**
 * The payload on a node's own channel: a device filter (0 = every device of the
 * users), the target users, then one encoded server frame for all of them.
 * A close order (the top bit of the user count set) instead carries one user,
 * a device and a WebSocket close code with its reason: that node closes the
 * device's sockets (a revoked device is cut off on every node).
 */
import type { DeviceId, UserId } from '@tidings/shared';

const HEAD = 12;
const CLOSE_FLAG = 0x8000_0000;
const CLOSE_COUNT = (CLOSE_FLAG | 1) >>> 0;
/** Longest close reason carried (WebSocket close reasons are at most 123 bytes). */
const MAX_REASON_BYTES = 123;

export type NodeMessage =
  | { readonly kind: 'deliver'; readonly userIds: UserId[]; readonly frame: Uint8Array; readonly onlyDevice?: DeviceId }
  | { readonly kind: 'close'; readonly userId: UserId; readonly deviceId: DeviceId; readonly code: number; readonly reason: string };

export function encodeNodeMessage(userIds: readonly UserId[], frame: Uint8Array, onlyDevice?: DeviceId): Buffer {
  const buf = Buffer.allocUnsafe(HEAD + userIds.length * 8 + frame.length);
  buf.writeBigUInt64BE(onlyDevice ?? 0n, 0);
  buf.writeUInt32BE(userIds.length, 8);
  userIds.forEach((u, i) => buf.writeBigUInt64BE(u, HEAD + i * 8));
  buf.set(frame, HEAD + userIds.length * 8);
  return buf;
}

export function encodeNodeClose(userId: UserId, deviceId: DeviceId, code: number, reason: string): Buffer {
  const why = Buffer.from(reason, 'utf8').subarray(0, MAX_REASON_BYTES);
  const buf = Buffer.allocUnsafe(HEAD + 8 + 2 + why.length);
  buf.writeBigUInt64BE(deviceId, 0);
  buf.writeUInt32BE(CLOSE_COUNT, 8);
  buf.writeBigUInt64BE(userId, HEAD);
  buf.writeUInt16BE(code, HEAD + 8);
  buf.set(why, HEAD + 10);
  return buf;
}

/** Decode a node message; undefined when malformed (it came from Redis, still checked). */
export function decodeNodeMessage(buf: Buffer): NodeMessage | undefined {
  if (buf.length < HEAD) return undefined;
  const device = buf.readBigUInt64BE(0);
  const count = buf.readUInt32BE(8);
  if ((count & CLOSE_FLAG) !== 0) {
    if (count !== CLOSE_COUNT || device === 0n || buf.length < HEAD + 10) return undefined;
    const userId = buf.readBigUInt64BE(HEAD) as UserId;
    const code = buf.readUInt16BE(HEAD + 8);
    return { kind: 'close', userId, deviceId: device as DeviceId, code, reason: buf.subarray(HEAD + 10).toString('utf8') };
  }
  if (buf.length < HEAD + count * 8) return undefined;
  const userIds: UserId[] = [];
  for (let i = 0; i < count; i++) userIds.push(buf.readBigUInt64BE(HEAD + i * 8) as UserId);
  const frame = new Uint8Array(buf.buffer, buf.byteOffset + HEAD + count * 8, buf.length - HEAD - count * 8);
  return device === 0n ? { kind: 'deliver', userIds, frame } : { kind: 'deliver', userIds, frame, onlyDevice: device as DeviceId };
}
