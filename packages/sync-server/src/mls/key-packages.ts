/** KeyPackage stock per device: uploaded by the device, each handed out exactly once. */
import type { DeviceId, UserId } from '@tidings/shared';
import { big, str, type SqlClient } from '../storage/sql.js';

export interface ClaimedKeyPackage {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly body: Uint8Array;
}

export async function stockOf(db: SqlClient, deviceId: DeviceId): Promise<number> {
  const { rows } = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM key_packages WHERE device_id = $1', [str(deviceId)]);
  return Number(rows[0]?.n ?? 0);
}

/** Add KeyPackages (ids from the caller's Snowflake generator); returns the new stock. */
export async function addKeyPackages(db: SqlClient, deviceId: DeviceId, items: readonly { id: bigint; body: Uint8Array }[], now: number): Promise<number> {
  await db.query(
    `INSERT INTO key_packages (device_id, id, body, created_at) SELECT $1, x.id, x.body, $2 FROM unnest($3::bigint[], $4::bytea[]) AS x(id, body)`,
    [str(deviceId), now, items.map((i) => str(i.id)), items.map((i) => Buffer.from(i.body))],
  );
  return stockOf(db, deviceId);
}

/**
 * Take one KeyPackage from every active device of these users (except `exceptDevice`),
 * or, with `onlyDevices`, from those of their devices only (adding a new device must
 * not use up the stock of the ones already in the group). Concurrent claimers never
 * get the same one (SKIP LOCKED, then DELETE). Devices with none left are reported as missing.
 */
export async function claimKeyPackages(
  db: SqlClient,
  userIds: readonly UserId[],
  exceptDevice: DeviceId,
  onlyDevices?: readonly DeviceId[],
): Promise<{ claimed: ClaimedKeyPackage[]; missing: { userId: UserId; deviceId: DeviceId }[]; stocks: Map<DeviceId, number> }> {
  return db.transaction(async (tx) => {
    const devices = await tx.query<{ id: unknown; user_id: unknown }>(
      `SELECT id, user_id FROM devices WHERE user_id = ANY($1::bigint[]) AND revoked_at IS NULL AND id <> $2
         AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[])) ORDER BY id`,
      [userIds.map(str), str(exceptDevice), onlyDevices === undefined ? null : onlyDevices.map(str)],
    );
    const ids = devices.rows.map((d) => str(big(d.id)));
    const { rows } = await tx.query<{ device_id: unknown; body: Uint8Array }>(
      `DELETE FROM key_packages k
        USING (SELECT d.id AS device_id, p.id FROM unnest($1::bigint[]) AS d(id)
               CROSS JOIN LATERAL (SELECT id FROM key_packages WHERE device_id = d.id ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) p) x
        WHERE k.device_id = x.device_id AND k.id = x.id
        RETURNING k.device_id, k.body`,
      [ids],
    );
    const bodies = new Map(rows.map((r) => [big(r.device_id), r.body]));
    const counts = await tx.query<{ device_id: unknown; n: unknown }>(
      'SELECT device_id, count(*) AS n FROM key_packages WHERE device_id = ANY($1::bigint[]) GROUP BY device_id',
      [ids],
    );
    const stocks = new Map<DeviceId, number>(ids.map((id) => [BigInt(id) as DeviceId, 0]));
    for (const c of counts.rows) stocks.set(big(c.device_id) as DeviceId, Number(c.n));
    const claimed: ClaimedKeyPackage[] = [];
    const missing: { userId: UserId; deviceId: DeviceId }[] = [];
    for (const d of devices.rows) {
      const deviceId = big(d.id) as DeviceId;
      const userId = big(d.user_id) as UserId;
      const body = bodies.get(deviceId);
      if (body) claimed.push({ userId, deviceId, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
      else missing.push({ userId, deviceId });
    }
    return { claimed, missing, stocks };
  });
}
