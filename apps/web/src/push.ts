/**
 * Web Push, tab side: subscribe this device through the service worker's
 * PushManager with the server's VAPID public key (the engine registers it,
 * since only the engine holds the token), and answer the service worker's
 * "what does this push say?" by asking the engine to sync and read the newest
 * message. The server's push names only a conversation and a count.
 */
import type { ConversationId } from '@tidings/shared';
import type { Engine } from './engine/connect.js';

/** The message the service worker sends a tab for a push (a MessagePort for the answer rides along). */
export const PUSH_PREVIEW = 'tidings:push-preview';

const fromBase64url = (s: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

/**
 * Subscribe to pushes if notifications are allowed (asking only when `ask`,
 * which must come from a user gesture). Resolves whether a subscription is registered.
 */
export async function subscribePush(engine: Engine, ask: boolean): Promise<boolean> {
  if (!('serviceWorker' in navigator) || !('PushManager' in globalThis) || !('Notification' in globalThis)) return false;
  if (Notification.permission === 'denied') return false;
  if (Notification.permission !== 'granted' && (!ask || (await Notification.requestPermission()) !== 'granted')) return false;
  const registration = await navigator.serviceWorker.ready;
  const res = await fetch('/v1/push/vapid-public-key');
  if (!res.ok) return false;
  const { public_key: key } = (await res.json()) as { public_key: string };
  let sub = await registration.pushManager.getSubscription();
  const current = sub?.options.applicationServerKey;
  if (sub && current && new Uint8Array(current).join() !== fromBase64url(key).join()) {
    // Made against another server key (keys rotated): it can no longer be sent to.
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64url(key) });
  const json = sub.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) return false;
  await engine.registerPush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
  return true;
}

/** Answer the service worker's push previews from this tab's engine. */
export function answerPushPreviews(engine: Engine): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent<{ type?: string; conversationId?: string }>) => {
    const port = event.ports[0];
    if (event.data?.type !== PUSH_PREVIEW || !port || !/^\d+$/.test(event.data.conversationId ?? '')) return;
    const id = BigInt(event.data.conversationId!) as ConversationId;
    engine.pushPreview(id).then(
      (preview) => port.postMessage(preview),
      () => port.postMessage(null),
    );
  });
}
