/**
 * The Web Push provider: web-push builds the request (RFC 8291 aes128gcm
 * payload encryption, RFC 8292 VAPID JWT and headers); we deliver it with
 * fetch (RFC 8030), which gives us one timeout and plain status handling, and
 * reaches http://127.0.0.1 push services in tests (web-push's own sender
 * speaks https only).
 */
import webpush from 'web-push';
import { SendOutcome, encodePushPayload, type PushMessage, type PushProvider, type PushTarget, type SendResult } from './provider.js';
import type { VapidKeys } from './vapid.js';

export interface WebPushProviderOptions {
  readonly vapid: VapidKeys;
  readonly subject: string;
  readonly timeoutMs: number;
}

export class WebPushProvider implements PushProvider {
  readonly kind = 'webpush';

  constructor(private readonly opts: WebPushProviderOptions) {}

  async send(target: PushTarget, message: PushMessage): Promise<SendResult> {
    let req: webpush.RequestDetails;
    try {
      req = webpush.generateRequestDetails(
        { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
        encodePushPayload(message),
        {
          vapidDetails: { subject: this.opts.subject, publicKey: this.opts.vapid.publicKey, privateKey: this.opts.vapid.privateKey },
          contentEncoding: 'aes128gcm',
          TTL: message.ttlSeconds,
          topic: message.topic,
          urgency: 'normal',
        },
      );
    } catch (err) {
      // A subscription whose keys web-push refuses can never be sent to.
      return { outcome: SendOutcome.Rejected, detail: (err as Error).message };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k.toLowerCase() !== 'content-length') headers[k] = String(v);
    let res: Response;
    try {
      res = await fetch(req.endpoint, {
        method: req.method,
        headers,
        body: req.body ? new Uint8Array(req.body) : null,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      return { outcome: SendOutcome.Retry, detail: (err as Error).message };
    }
    return classify(res.status, res.headers.get('retry-after'));
  }
}

/** RFC 8030 answers: 201 (or any 2xx) accepted; 404/410 gone; 429 and 5xx retry; other 4xx refused. */
export function classify(status: number, retryAfter: string | null): SendResult {
  if (status >= 200 && status < 300) return { outcome: SendOutcome.Delivered, status };
  if (status === 404 || status === 410) return { outcome: SendOutcome.Gone, status };
  if (status === 429 || status >= 500) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return { outcome: SendOutcome.Retry, status, retryAfterMs: seconds === undefined ? undefined : seconds * 1000 };
  }
  return { outcome: SendOutcome.Rejected, status };
}
