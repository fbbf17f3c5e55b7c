/**
 * The push provider port: how one wake-up reaches one registered device.
 * Web Push (web-push-provider.ts) is the implementation today; a native
 * provider (APNs, FCM) implements the same two methods and the queue, the
 * coalescing and the log stay untouched.
 */

/** Where a push goes: one device's subscription, as it registered it. */
export interface PushTarget {
  /** The push service's URL for this subscription (the subscription's id). */
  readonly endpoint: string;
  /** The subscription's P-256 public key, base64url (RFC 8291 `p256dh`). */
  readonly p256dh: string;
  /** The subscription's 16-byte auth secret, base64url. */
  readonly auth: string;
}

/** What a push says: which conversation, how many new messages. Never content. */
export interface PushMessage {
  readonly conversationId: bigint;
  readonly count: number;
  /** Opaque collapse key: a newer push with the same topic replaces an undelivered older one. */
  readonly topic: string;
  /** Seconds the push service may hold it for an unreachable device. */
  readonly ttlSeconds: number;
}

/** The outcome of one send, named by what the queue does next. */
export const SendOutcome = {
  /** Accepted by the push service: done. */
  Delivered: 'delivered',
  /** The subscription is gone (404/410): remove it, never retry. */
  Gone: 'gone',
  /** A temporary failure (5xx, 429, network, timeout): retry with backoff. */
  Retry: 'retry',
  /** Refused for good (another 4xx: bad request, payload too large, auth): drop this push. */
  Rejected: 'rejected',
} as const;
export type SendOutcome = (typeof SendOutcome)[keyof typeof SendOutcome];

export interface SendResult {
  readonly outcome: SendOutcome;
  /** HTTP status of the push service's answer; undefined for a network error. */
  readonly status?: number | undefined;
  /** The push service's Retry-After, in ms, when it gave one. */
  readonly retryAfterMs?: number | undefined;
  /** A short reason for logs. */
  readonly detail?: string | undefined;
}

export interface PushProvider {
  /** Names the provider in logs and metrics. */
  readonly kind: string;
  /** Send one push; never throws (failures are results). */
  send(target: PushTarget, message: PushMessage): Promise<SendResult>;
}

/** The push's plaintext, before RFC 8291 encryption: `{"c":"<conversation id>","n":<count>}`. */
export const encodePushPayload = (m: Pick<PushMessage, 'conversationId' | 'count'>): string =>
  JSON.stringify({ c: m.conversationId.toString(), n: m.count });
