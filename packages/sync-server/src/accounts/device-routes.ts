/**
 * A user's own devices over HTTP: `GET /v1/devices` lists them (with names, for
 * the devices view) and `DELETE /v1/devices/:id` revokes one and closes its
 * sockets on every node (close code DeviceRevoked, so it stops reconnecting).
 */
import { CloseCode, parseDeviceId, type DeviceId } from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from './service.js';
import { activeDevices, revokeDevice, type DeviceInfo } from './devices.js';
import type { SqlClient } from '../storage/sql.js';
import type { Switchboard } from '../switchboard/port.js';
import { authOf } from '../http/auth.js';
import { parse } from '../http/validate.js';

export interface DeviceRouteDeps {
  readonly accounts: Accounts;
  readonly db: SqlClient;
  readonly switchboard: Switchboard;
  readonly clock: () => number;
}

const deviceIdSchema = z.string().transform((v, ctx): DeviceId => {
  try {
    return parseDeviceId(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a device id (a decimal string)' });
    return z.NEVER;
  }
});

/** The JSON shape of a device in lists (also used by GET /v1/users/:id/devices). */
export const deviceInfoJson = (d: DeviceInfo) => ({ device_id: String(d.deviceId), name: d.name, created_at: new Date(d.createdAt).toISOString() });

export function deviceRoutes(app: FastifyInstance, d: DeviceRouteDeps): void {
  app.get('/v1/devices', async (req) => {
    const auth = await authOf(d.accounts, req);
    const devices = await activeDevices(d.db, auth.userId);
    return { devices: devices.map((x) => ({ ...deviceInfoJson(x), current: x.deviceId === auth.deviceId })) };
  });

  app.delete('/v1/devices/:id', async (req, reply) => {
    const auth = await authOf(d.accounts, req);
    const { id } = parse(z.strictObject({ id: deviceIdSchema }), req.params, 'id');
    await revokeDevice(d.db, auth.userId, id, d.clock());
    d.switchboard.disconnect(auth.userId, id, CloseCode.DeviceRevoked, 'device revoked');
    return reply.status(204).send();
  });
}
