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
interface SwScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
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
