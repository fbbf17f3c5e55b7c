/** The one config object of a TidingsClient, each option with its default. */
import type { Credentials } from '../api/http-api.js';
import type { Envelope } from '../envelope/envelope.js';
import type { Replica } from '../replica/replica.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { randomClientMsgId } from '../runtime/ids.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { Transport } from '../transport/transport.js';
import type { BackoffOptions } from './backoff.js';

export interface TidingsClientConfig {
  /** Base URL of the server (`http:` or `https:`); the socket goes to `/v1/ws` on it as `ws:`/`wss:`. HTTP calls go here. */
  readonly serverUrl: string;
  /**
   * More nodes of the same deployment to fail over to, tried in turn after
   * serverUrl whenever a socket is lost. Not needed behind one load-balanced URL.
   */
  readonly fallbackUrls?: readonly string[];
  /** The account and device this client acts as. */
  readonly credentials: Credentials;
  /** The durable local copy; the UI reads only from it. */
  readonly replica: Replica;
  /** How sockets are opened (browser WebSocket, `ws` in Node, or a test fake). */
  readonly transport: Transport;
  /** Seals and opens message bodies. Required on purpose: there is no silent unencrypted default. */
  readonly envelope: Envelope;
  /** Time and timers. Default: the system clock. */
  readonly clock?: Clock;
  /** Default: a silent logger. */
  readonly logger?: Logger;
  /** Uniform in [0, 1), for backoff jitter. Default: Math.random. */
  readonly random?: () => number;
  /**
   * Ping interval in ms. Default 15000. A socket that receives nothing at all for
   * twice this long is treated as dead and replaced.
   */
  readonly heartbeatMs?: number;
  /** Reconnect backoff. Default base 500 ms, max 30000 ms, full jitter. */
  readonly backoff?: BackoffOptions;
  /** fetch for the HTTP helpers. Default: the global fetch. */
  readonly fetch?: typeof globalThis.fetch;
  /** Makes idempotency keys. Default: a random UUID without dashes. */
  readonly newClientMsgId?: () => string;
  /**
   * Receipt acks wait this long (ms) without new positions before going out, so
   * a burst of stored or read messages costs one frame. Default 100. Catch-up
   * completion sends at once.
   */
  readonly ackDelayMs?: number;
  /** Longest an ack waits while positions keep moving, in ms. Default 1000. */
  readonly ackMaxDelayMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_ACK_DELAY_MS = 100;
export const DEFAULT_ACK_MAX_DELAY_MS = 1_000;

export interface ResolvedConfig extends TidingsClientConfig {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly heartbeatMs: number;
  readonly backoff: BackoffOptions;
  readonly newClientMsgId: () => string;
  readonly ackDelayMs: number;
  readonly ackMaxDelayMs: number;
  /** The socket URLs derived from serverUrl then fallbackUrls, in the order they are tried. */
  readonly wsUrls: readonly string[];
}

/** `http://host:port/base` -> `ws://host:port/base/v1/ws`. */
export function socketUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`unsupported server URL ${serverUrl}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/ws`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

export function resolveConfig(config: TidingsClientConfig): ResolvedConfig {
  return {
    ...config,
    clock: config.clock ?? systemClock,
    logger: config.logger ?? silentLogger,
    random: config.random ?? Math.random,
    heartbeatMs: config.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    backoff: config.backoff ?? {},
    newClientMsgId: config.newClientMsgId ?? randomClientMsgId,
    ackDelayMs: config.ackDelayMs ?? DEFAULT_ACK_DELAY_MS,
    ackMaxDelayMs: config.ackMaxDelayMs ?? DEFAULT_ACK_MAX_DELAY_MS,
    wsUrls: [config.serverUrl, ...(config.fallbackUrls ?? [])].map(socketUrl),
  };
}
