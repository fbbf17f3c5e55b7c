/**
 * A user's devices: listing them and revoking one. Revoking is how a lost or
 * retired device is cut off: its token stops authenticating, its unclaimed
 * KeyPackages, inbox and push subscriptions are deleted, and (by the caller)
 * its sockets are closed on every node. Removing its MLS leaves is the
 * clients' part: members' devices see it missing from the device list and
 * Commit its removal (packages/client/src/e2ee-engine/membership.ts).
 */
import { ErrorCode, TidingsError, type DeviceId, type UserId } from '@tidings/shared';
import { big, str, type SqlClient } from '../storage/sql.js';

export interface DeviceInfo {
  readonly deviceId: DeviceId;
  readonly name: string;
  readonly createdAt: number;
}

/** A user's active (not revoked) devices, oldest first. */
export async function activeDevices(db: SqlClient, userId: UserId): Promise<DeviceInfo[]> {
  const { rows } = await db.query<{ id: unknown; name: string; created_at: unknown }>(
    'SELECT id, name, created_at FROM devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id',
    [str(userId)],
  );
  return rows.map((r) => ({ deviceId: big(r.id) as DeviceId, name: r.name, createdAt: Number(r.created_at) }));
}

/**
 * Revokes one of the user's own devices. Typed errors, nothing changed:
 * NotFound (no such device, or already revoked), Forbidden (another user's
 * device), Conflict (it is the user's last active device: sign-in would be
 * the only way back, and their groups would lose every leaf).
 */
export async function revokeDevice(db: SqlClient, userId: UserId, deviceId: DeviceId, now: number): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ user_id: unknown; revoked_at: unknown }>('SELECT user_id, revoked_at FROM devices WHERE id = $1', [str(deviceId)]);
    const row = rows[0];
    if (row === undefined || row.revoked_at !== null) throw new TidingsError(ErrorCode.NotFound, 'no such device');
    if (big(row.user_id) !== userId) throw new TidingsError(ErrorCode.Forbidden, 'that device belongs to another user');
    // Lock the user's active devices so two concurrent revocations cannot leave none.
    const active = await tx.query<{ id: unknown }>('SELECT id FROM devices WHERE user_id = $1 AND revoked_at IS NULL FOR UPDATE', [str(userId)]);
    if (active.rows.length <= 1) throw new TidingsError(ErrorCode.Conflict, 'that is your last device; sign in elsewhere before removing it');
    if (!active.rows.some((r) => big(r.id) === deviceId)) throw new TidingsError(ErrorCode.NotFound, 'no such device');
    await tx.query('UPDATE devices SET revoked_at = $2 WHERE id = $1', [str(deviceId), now]);
    await tx.query('DELETE FROM key_packages WHERE device_id = $1', [str(deviceId)]);
    await tx.query('DELETE FROM inbox WHERE device_id = $1', [str(deviceId)]);
    await tx.query('DELETE FROM push_subscriptions WHERE device_id = $1', [str(deviceId)]);
  });
}
