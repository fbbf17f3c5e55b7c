/**
 * The payload on a node's own channel: a device filter (0 = every device of the
 * users), the target users, then one encoded server frame for all of them.
 */
import type { DeviceId, UserId } from '@tidings/shared';

const HEAD = 12;

export function encodeNodeMessage(userIds: readonly UserId[], frame: Uint8Array, onlyDevice?: DeviceId): Buffer {
  const buf = Buffer.allocUnsafe(HEAD + userIds.length * 8 + frame.length);
  buf.writeBigUInt64BE(onlyDevice ?? 0n, 0);
  buf.writeUInt32BE(userIds.length, 8);
  userIds.forEach((u, i) => buf.writeBigUInt64BE(u, HEAD + i * 8));
  buf.set(frame, HEAD + userIds.length * 8);
  return buf;
}

/** Decode a node message; undefined when malformed (it came from Redis, still checked). */
export function decodeNodeMessage(buf: Buffer): { userIds: UserId[]; frame: Uint8Array; onlyDevice?: DeviceId } | undefined {
  if (buf.length < HEAD) return undefined;
  const device = buf.readBigUInt64BE(0);
  const n = buf.readUInt32BE(8);
  if (buf.length < HEAD + n * 8) return undefined;
  const userIds: UserId[] = [];
  for (let i = 0; i < n; i++) userIds.push(buf.readBigUInt64BE(HEAD + i * 8) as UserId);
  const frame = new Uint8Array(buf.buffer, buf.byteOffset + HEAD + n * 8, buf.length - HEAD - n * 8);
  return device === 0n ? { userIds, frame } : { userIds, frame, onlyDevice: device as DeviceId };
}
