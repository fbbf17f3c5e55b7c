/**
 * The MLS Delivery Service over HTTP: KeyPackage upload and claim, device
 * lists, and posting to device inboxes. The server checks shapes and who may
 * address whom; it never holds a key that could open anything.
 */
import {
  ErrorCode,
  InboxKind,
  KEY_PACKAGE_LOW_WATER,
  MAX_INBOX_ITEMS_PER_DEVICE,
  MAX_INBOX_ITEMS_PER_POST,
  MAX_INBOX_ITEM_BYTES,
  MAX_KEY_PACKAGES_PER_DEVICE,
  MAX_KEY_PACKAGES_PER_UPLOAD,
  MAX_KEY_PACKAGE_BYTES,
  MAX_GROUP_MEMBERS,
  TidingsError,
  encodeServerFrame,
  fromBase64,
  keyPackageDevice,
  keyPackageSuite,
  parseDeviceId,
  peekMlsHeader,
  toBase64,
  type DeviceId,
  type MlsSuiteName,
  type SnowflakeGenerator,
  type UserId,
} from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import type { Switchboard } from '../switchboard/port.js';
import { big, str, type SqlClient } from '../storage/sql.js';
import { authOf } from '../http/auth.js';
import { parse, userIdSchema } from '../http/validate.js';
import { watchable } from '../presence/watchable.js';
import { addKeyPackages, claimKeyPackages, stockOf } from './key-packages.js';
import { inboxCounts, postInbox } from './inbox.js';
import { activeDevices } from '../accounts/devices.js';
import { deviceInfoJson } from '../accounts/device-routes.js';

const b64 = (max: number) => z.string().min(1).max(Math.ceil(max / 3) * 4 + 4);
const Upload = z.strictObject({ key_packages: z.array(b64(MAX_KEY_PACKAGE_BYTES)).min(1).max(MAX_KEY_PACKAGES_PER_UPLOAD) });
const deviceIdText = z.string().regex(/^[1-9][0-9]{0,18}$/);
/** `device_ids`, when given, limits the claim to those devices of the users (the ones being added). */
const Claim = z.strictObject({
  user_ids: z.array(userIdSchema).min(1).max(MAX_GROUP_MEMBERS),
  device_ids: z.array(deviceIdText).min(1).max(MAX_GROUP_MEMBERS).optional(),
});
const Post = z.strictObject({
  items: z
    .array(z.strictObject({ device_id: deviceIdText, kind: z.enum(['welcome', 'history']), body: b64(MAX_INBOX_ITEM_BYTES) }))
    .min(1)
    .max(MAX_INBOX_ITEMS_PER_POST),
});
const KINDS = { welcome: InboxKind.Welcome, history: InboxKind.History } as const;

export interface DeliveryDeps {
  readonly accounts: Accounts;
  readonly db: SqlClient;
  readonly ids: SnowflakeGenerator;
  readonly clock: () => number;
  readonly switchboard: Switchboard;
  /** The deployment's MLS ciphersuite: KeyPackages of another suite are refused. */
  readonly suite: MlsSuiteName;
}

/** The users among `candidates` the viewer may address: themself, and anyone they share a conversation with. */
async function addressable(db: SqlClient, viewer: UserId, candidates: readonly UserId[]): Promise<Set<UserId>> {
  const others = candidates.filter((u) => u !== viewer);
  const ok = new Set<UserId>(await watchable(db, viewer, [...new Set(others)]));
  if (candidates.includes(viewer)) ok.add(viewer);
  return ok;
}

export function deliveryRoutes(app: FastifyInstance, d: DeliveryDeps): void {
  app.post('/v1/devices/me/key-packages', async (req) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Upload, req.body, 'body');
    const items = b.key_packages.map((text, i) => {
      const body = fromBase64(text, `key_packages.${i}`);
      const who = keyPackageDevice(body, MAX_KEY_PACKAGE_BYTES);
      if (who.userId !== auth.userId || who.deviceId !== auth.deviceId) {
        throw new TidingsError(ErrorCode.Forbidden, `key_packages.${i} is not for this device`);
      }
      const suite = keyPackageSuite(body, MAX_KEY_PACKAGE_BYTES);
      if (suite !== d.suite) throw new TidingsError(ErrorCode.InvalidArgument, `key_packages.${i} uses ciphersuite ${suite}; this server uses ${d.suite}`);
      return { id: d.ids.next(), body };
    });
    if ((await stockOf(d.db, auth.deviceId)) + items.length > MAX_KEY_PACKAGES_PER_DEVICE) {
      throw new TidingsError(ErrorCode.Conflict, `a device keeps at most ${MAX_KEY_PACKAGES_PER_DEVICE} KeyPackages`);
    }
    return { stock: await addKeyPackages(d.db, auth.deviceId, items, d.clock()) };
  });

  /** Public deployment facts a client checks before it makes keys: the MLS ciphersuite. */
  app.get('/v1/config', async () => ({ mls_ciphersuite: d.suite }));

  app.get('/v1/devices/me/key-packages', async (req) => {
    const auth = await authOf(d.accounts, req);
    return { stock: await stockOf(d.db, auth.deviceId), low_water: KEY_PACKAGE_LOW_WATER };
  });

  app.post('/v1/key-packages/claim', async (req) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Claim, req.body, 'body');
    const allowed = await addressable(d.db, auth.userId, b.user_ids);
    const denied = b.user_ids.filter((u) => !allowed.has(u));
    if (denied.length > 0) throw new TidingsError(ErrorCode.Forbidden, `you share no conversation with ${denied.slice(0, 3).join(', ')}`);
    const only = b.device_ids?.map((id) => parseDeviceId(id));
    const { claimed, missing, stocks } = await claimKeyPackages(d.db, [...allowed], auth.deviceId, only);
    for (const c of claimed) {
      const stock = stocks.get(c.deviceId) ?? 0;
      if (stock <= KEY_PACKAGE_LOW_WATER) d.switchboard.toDevice(c.userId, c.deviceId, encodeServerFrame({ t: 'key_packages_low', stock }));
    }
    return {
      key_packages: claimed.map((c) => ({ user_id: String(c.userId), device_id: String(c.deviceId), key_package: toBase64(c.body) })),
      missing: missing.map((m) => ({ user_id: String(m.userId), device_id: String(m.deviceId) })),
    };
  });

  app.get('/v1/users/:id/devices', async (req) => {
    const auth = await authOf(d.accounts, req);
    const { id } = parse(z.strictObject({ id: userIdSchema }), req.params, 'id');
    if (!(await addressable(d.db, auth.userId, [id])).has(id)) throw new TidingsError(ErrorCode.NotFound, 'no such user among your contacts');
    return { devices: (await activeDevices(d.db, id)).map(deviceInfoJson) };
  });

  app.post('/v1/inbox', async (req) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Post, req.body, 'body');
    const deviceIds = [...new Set(b.items.map((i) => parseDeviceId(i.device_id)))];
    const { rows } = await d.db.query<{ id: unknown; user_id: unknown }>(
      'SELECT id, user_id FROM devices WHERE id = ANY($1::bigint[]) AND revoked_at IS NULL',
      [deviceIds.map(str)],
    );
    const owner = new Map(rows.map((r) => [big(r.id) as DeviceId, big(r.user_id) as UserId]));
    const allowed = await addressable(d.db, auth.userId, [...owner.values()]);
    const counts = await inboxCounts(d.db, deviceIds);
    const now = d.clock();
    const items = b.items.map((i, n) => {
      const deviceId = parseDeviceId(i.device_id);
      const userId = owner.get(deviceId);
      if (userId === undefined || !allowed.has(userId)) throw new TidingsError(ErrorCode.NotFound, `items.${n}: no such device among your contacts`);
      const body = fromBase64(i.body, `items.${n}.body`);
      if (body.length > MAX_INBOX_ITEM_BYTES) throw new TidingsError(ErrorCode.PayloadTooLarge, `items.${n}.body exceeds ${MAX_INBOX_ITEM_BYTES} bytes`);
      if (i.kind === 'welcome' && peekMlsHeader(body, MAX_INBOX_ITEM_BYTES).kind !== 'welcome') {
        throw new TidingsError(ErrorCode.InvalidArgument, `items.${n}: a welcome item must be an MLS Welcome`);
      }
      const count = (counts.get(deviceId) ?? 0) + 1;
      if (count > MAX_INBOX_ITEMS_PER_DEVICE) throw new TidingsError(ErrorCode.RateLimited, `device ${deviceId}'s inbox is full`);
      counts.set(deviceId, count);
      return { deviceId, userId, id: d.ids.next(), senderUserId: auth.userId, senderDeviceId: auth.deviceId, kind: KINDS[i.kind], body, createdAt: now };
    });
    await postInbox(d.db, items);
    for (const i of items) {
      d.switchboard.toDevice(i.userId, i.deviceId, encodeServerFrame({ t: 'inbox', items: [{ id: i.id, senderUserId: i.senderUserId, senderDeviceId: i.senderDeviceId, kind: i.kind, createdAt: i.createdAt, body: i.body }] }));
    }
    return { ids: items.map((i) => String(i.id)) };
  });
}
