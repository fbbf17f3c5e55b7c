/**
 * The few server calls the web app makes itself rather than through
 * TidingsClient (the client library has no call for them): listing the user's
 * devices, and registering a Web Push subscription. The bearer token stays in
 * the worker; these run there.
 */
import type { DeviceId } from '@tidings/shared';
import type { Credentials } from '@tidings/client';
import type { DeviceView, PushSubscriptionData } from './api.js';

interface DeviceJson {
  readonly device_id: string;
  readonly name: string;
  readonly created_at: string;
}

/** The user's active devices (GET /v1/users/:id/devices), this one marked current. */
export async function listDevices(serverUrl: string, credentials: Credentials): Promise<DeviceView[]> {
  const { userId, deviceId, token } = credentials;
  const res = await fetch(`${serverUrl}/v1/users/${userId.toString()}/devices`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`devices could not be listed (${res.status})`);
  const body = (await res.json()) as { devices: readonly DeviceJson[] };
  return body.devices.map((d) => {
    const id = BigInt(d.device_id) as DeviceId;
    return { deviceId: id, name: d.name, createdAt: Date.parse(d.created_at), current: id === deviceId };
  });
}

/** POST /v1/push/subscriptions for this device. */
export async function registerPushSubscription(serverUrl: string, token: string, subscription: PushSubscriptionData): Promise<void> {
  const res = await fetch(`${serverUrl}/v1/push/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ endpoint: subscription.endpoint, keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth } }),
  });
  if (!res.ok) throw new Error(`push subscription refused (${res.status})`);
}
