/** Per-device inboxes: device-addressed payloads (Welcomes, history), deleted when the device acks them. */
import type { DeviceId, InboxItem, InboxKind, UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';

export interface NewInboxItem {
  readonly deviceId: DeviceId;
  readonly id: bigint;
  readonly senderUserId: UserId;
  readonly senderDeviceId: DeviceId;
  readonly kind: InboxKind;
  readonly body: Uint8Array;
  readonly createdAt: number;
}

export async function postInbox(db: SqlExecutor, items: readonly NewInboxItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `INSERT INTO inbox (device_id, id, sender_user_id, sender_device_id, kind, body, created_at)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::smallint[], $6::bytea[], $7::bigint[])`,
    [
      items.map((i) => str(i.deviceId)),
      items.map((i) => str(i.id)),
      items.map((i) => str(i.senderUserId)),
      items.map((i) => str(i.senderDeviceId)),
      items.map((i) => i.kind),
      items.map((i) => Buffer.from(i.body)),
      items.map((i) => i.createdAt),
    ],
  );
}

export async function inboxCounts(db: SqlExecutor, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, number>> {
  const { rows } = await db.query<{ device_id: unknown; n: unknown }>(
    'SELECT device_id, count(*) AS n FROM inbox WHERE device_id = ANY($1::bigint[]) GROUP BY device_id',
    [deviceIds.map(str)],
  );
  return new Map(rows.map((r) => [big(r.device_id) as DeviceId, Number(r.n)]));
}

/** A device's items above `after`, oldest first. */
export async function readInbox(db: SqlExecutor, deviceId: DeviceId, after: bigint, limit: number): Promise<InboxItem[]> {
  const { rows } = await db.query<{ id: unknown; sender_user_id: unknown; sender_device_id: unknown; kind: number; body: Uint8Array; created_at: unknown }>(
    'SELECT id, sender_user_id, sender_device_id, kind, body, created_at FROM inbox WHERE device_id = $1 AND id > $2 ORDER BY id LIMIT $3',
    [str(deviceId), str(after), limit],
  );
  return rows.map((r) => ({
    id: big(r.id),
    senderUserId: big(r.sender_user_id) as UserId,
    senderDeviceId: big(r.sender_device_id) as DeviceId,
    kind: Number(r.kind) as InboxKind,
    createdAt: Number(r.created_at),
    body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
  }));
}

export async function ackInbox(db: SqlExecutor, deviceId: DeviceId, upto: bigint): Promise<void> {
  await db.query('DELETE FROM inbox WHERE device_id = $1 AND id <= $2', [str(deviceId), str(upto)]);
}
