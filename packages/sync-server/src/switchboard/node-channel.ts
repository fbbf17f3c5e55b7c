/** The payload on a node's own channel: the target users, then one encoded server frame for all of them. */
import type { UserId } from '@tidings/shared';

export function encodeNodeMessage(userIds: readonly UserId[], frame: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(4 + userIds.length * 8 + frame.length);
  buf.writeUInt32BE(userIds.length, 0);
  userIds.forEach((u, i) => buf.writeBigUInt64BE(u, 4 + i * 8));
  buf.set(frame, 4 + userIds.length * 8);
  return buf;
}

/** Decode a node message; undefined when malformed (it came from Redis, still checked). */
export function decodeNodeMessage(buf: Buffer): { userIds: UserId[]; frame: Uint8Array } | undefined {
  if (buf.length < 4) return undefined;
  const n = buf.readUInt32BE(0);
  if (buf.length < 4 + n * 8) return undefined;
  const userIds: UserId[] = [];
  for (let i = 0; i < n; i++) userIds.push(buf.readBigUInt64BE(4 + i * 8) as UserId);
  return { userIds, frame: new Uint8Array(buf.buffer, buf.byteOffset + 4 + n * 8, buf.length - 4 - n * 8) };
}
