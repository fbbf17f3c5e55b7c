/**
 * The server call the web app makes itself rather than through TidingsClient
 * (the client library has none for it): registering a Web Push subscription.
 * The bearer token stays in the worker; this runs there.
 */
import type { PushSubscriptionData } from './api.js';

/** POST /v1/push/subscriptions for this device. */
export async function registerPushSubscription(serverUrl: string, token: string, subscription: PushSubscriptionData): Promise<void> {
  const res = await fetch(`${serverUrl}/v1/push/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ endpoint: subscription.endpoint, keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth } }),
  });
  if (!res.ok) throw new Error(`push subscription refused (${res.status})`);
}
