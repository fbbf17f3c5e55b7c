/**
 * The service worker: precaches the app shell (the list is written in at build
 * time by build/pwa-plugin.ts) so the app opens with no network, serves it
 * cache-first, and leaves the API and the socket to the network. Messages are
 * never cached here: they live in the engine's IndexedDB replica.
 */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: { text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
}
interface SwClient {
  readonly url: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
  focus?(): Promise<unknown>;
  navigate?(url: string): Promise<unknown>;
}
interface SwScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  addEventListener(type: 'push', listener: (event: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', listener: (event: NotificationEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: {
    claim(): Promise<void>;
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<SwClient[]>;
    openWindow(url: string): Promise<unknown>;
  };
  readonly registration: ServiceWorkerRegistration;
  readonly location: Location;
}

const sw = globalThis as unknown as SwScope;
const MANIFEST = JSON.parse('__TIDINGS_PRECACHE_MANIFEST__') as { version: string; files: string[] };
const PREFIX = 'tidings-shell-';
const CACHE = `${PREFIX}${MANIFEST.version}`;
/** Paths that belong to the server, never to the shell cache. */
const NETWORK_ONLY = /^\/(v1\/|sendMessage|getMessages|healthz|metrics)/;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(MANIFEST.files))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin || NETWORK_ONLY.test(url.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(fromCache('/index.html').then((hit) => hit ?? fetch(request)));
    return;
  }
  event.respondWith(fromCache(url.pathname).then((hit) => hit ?? fetch(request)));
});

async function fromCache(path: string): Promise<Response | undefined> {
  const cache = await caches.open(CACHE);
  return cache.match(path);
}

// ---- push ----
// The server's push says only which conversation and how many new messages
// ({"c": "<conversation id>", "n": 3}), never content. The engine (which a
// tab reaches) syncs, decrypts and answers with the newest message; the
// notification shows that. With no tab to ask, a generic line is shown.

/** How long a push waits for a tab's engine to answer, ms (browsers allow a push handler some 30 s). */
const PREVIEW_TIMEOUT_MS = 8000;
const PUSH_PREVIEW = 'tidings:push-preview';

interface PushPayload {
  readonly c: string;
  readonly n: number;
}
interface Preview {
  readonly title: string;
  readonly text: string;
}

function parsePush(data: PushEvent['data']): PushPayload | null {
  try {
    const p = JSON.parse(data?.text() ?? '') as { c?: unknown; n?: unknown };
    if (typeof p.c === 'string' && /^\d{1,20}$/.test(p.c) && typeof p.n === 'number' && Number.isInteger(p.n) && p.n > 0)
      return { c: p.c, n: p.n };
  } catch {
    // not ours
  }
  return null;
}

/** Ask each open tab in turn (its engine syncs and reads the replica); the first answer wins. */
async function previewFromEngine(conversationId: string): Promise<Preview | null> {
  const tabs = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const tab of tabs) {
    const channel = new MessageChannel();
    const answer = new Promise<Preview | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), PREVIEW_TIMEOUT_MS);
      channel.port1.onmessage = (e: MessageEvent<Preview | null>) => {
        clearTimeout(timer);
        resolve(e.data);
      };
    });
    tab.postMessage({ type: PUSH_PREVIEW, conversationId }, [channel.port2]);
    const preview = await answer;
    channel.port1.close();
    if (preview) return preview;
  }
  return null;
}

async function showPush(payload: PushPayload): Promise<void> {
  const preview = await previewFromEngine(payload.c);
  await sw.registration.showNotification(preview?.title ?? 'Tidings', {
    body: preview?.text ?? (payload.n === 1 ? 'New message' : `${payload.n} new messages`),
    // One notification per conversation: a newer push replaces it.
    tag: `conversation-${payload.c}`,
    icon: '/icons/icon-192.png',
    data: { conversationId: payload.c },
  });
}

sw.addEventListener('push', (event) => {
  const payload = parsePush(event.data);
  if (payload) event.waitUntil(showPush(payload));
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = (event.notification.data as { conversationId?: string } | null)?.conversationId;
  const url = `${sw.location.origin}/#/${id ? `c/${id}` : ''}`;
  event.waitUntil(
    sw.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(async (tabs) => {
      const tab = tabs[0];
      if (tab?.focus) {
        await tab.focus();
        return;
      }
      await sw.clients.openWindow(url);
    }),
  );
});
