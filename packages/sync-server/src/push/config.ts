/**
 * Options of the push subsystem (part of the server's one config object;
 * config.ts reads the environment and fills these in). Each says its default,
 * unit and why.
 */
export interface PushConfig {
  /** VAPID public key (base64url, uncompressed P-256). Unset: generated on first start and kept in DATA_DIR/vapid.json. Env VAPID_PUBLIC_KEY. */
  readonly vapidPublicKey?: string | undefined;
  /** VAPID private key (base64url); set together with the public key. Env VAPID_PRIVATE_KEY. */
  readonly vapidPrivateKey?: string | undefined;
  /** Contact for push services (RFC 8292 `sub`): a mailto: or https: URL. Env VAPID_SUBJECT, default mailto:push@tidings.invalid. */
  readonly vapidSubject: string;
  /** Messages to one user in one conversation within this window make one push, in ms. Env PUSH_COALESCE_MS, default 2000. */
  readonly coalesceMs: number;
  /** How often a node looks for due pushes (its own and ones left by a restart or another node), in ms. Env PUSH_POLL_MS, default 1000. */
  readonly pollMs: number;
  /** First retry delay after a 5xx, 429 or network error, doubled per attempt, in ms. Env PUSH_RETRY_BASE_MS, default 2000. */
  readonly retryBaseMs: number;
  /** Longest retry delay, in ms. Env PUSH_RETRY_MAX_MS, default 300000 (5 min). */
  readonly retryMaxMs: number;
  /** Attempts before a push is dropped (it is only a wake-up; the messages stay in the log). Env PUSH_MAX_ATTEMPTS, default 12. */
  readonly maxAttempts: number;
  /** How long a push service keeps an undelivered push (RFC 8030 TTL), in seconds. Env PUSH_TTL_SECONDS, default 86400. */
  readonly ttlSeconds: number;
  /** One request to a push service may take this long, in ms. Env PUSH_SEND_TIMEOUT_MS, default 10000. */
  readonly sendTimeoutMs: number;
  /** Accept http://127.0.0.1 and http://localhost subscription endpoints (tests and local push services only; production needs https). Env PUSH_ALLOW_INSECURE_ENDPOINTS=1, default off. */
  readonly allowInsecureEndpoints: boolean;
  /**
   * Hosts of the push services subscription endpoints may point at: a name
   * matches itself and its subdomains; `*` allows any https host. The server
   * POSTs to these URLs, so an open list would let any user make it call
   * arbitrary hosts (SSRF). Env PUSH_ENDPOINT_HOSTS (comma-separated),
   * default: the push services of Chrome, Firefox, Safari and Edge.
   */
  readonly endpointHosts: readonly string[];
}

/** The push services browsers subscribe with (Chrome/Android, Firefox, Safari, Edge). */
export const KNOWN_PUSH_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  'push.services.mozilla.com',
  'web.push.apple.com',
  'push.apple.com',
  'notify.windows.com',
];

/** True when `hostname` is one of `hosts` or a subdomain of one (`*` allows any). */
export function pushHostAllowed(hostname: string, hosts: readonly string[]): boolean {
  const name = hostname.toLowerCase();
  return hosts.some((h) => h === '*' || name === h || name.endsWith(`.${h}`));
}

export const PUSH_DEFAULTS: PushConfig = {
  vapidSubject: 'mailto:push@tidings.invalid',
  coalesceMs: 2000,
  pollMs: 1000,
  retryBaseMs: 2000,
  retryMaxMs: 300_000,
  maxAttempts: 12,
  ttlSeconds: 86_400,
  sendTimeoutMs: 10_000,
  allowInsecureEndpoints: false,
  endpointHosts: KNOWN_PUSH_HOSTS,
};
