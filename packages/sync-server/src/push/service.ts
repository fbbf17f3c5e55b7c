/**
 * The push service: turns committed entries for users with no online device
 * into coalesced, durable, retried pushes.
 *
 *   committed batch -> presence check -> push_pending (one window per user and
 *   conversation, counting messages) -> when the window closes, one push_outbox
 *   row per subscription -> provider.send -> done / retry with backoff / remove
 *   the subscription (404, 410) / drop.
 *
 * Everything queued lives in the store, so a restart (or another node) picks
 * up where this one stopped. One timer per node drives it.
 */
import { createHmac } from 'node:crypto';
import { EntryType, type UserId } from '@tidings/shared';
import type { Logger } from 'pino';
import type { CommittedBatch } from '../log/writer.js';
import type { Switchboard } from '../switchboard/port.js';
import type { PushConfig } from './config.js';
import type { PushMetrics } from './metrics.js';
import { SendOutcome, type PushProvider } from './provider.js';
import type { OutboxItem, PushStore } from './store.js';

/** Entry types that are messages a person would be notified of (not CRDT, MLS or system entries). */
const NOTIFY_TYPES: ReadonlySet<number> = new Set([EntryType.Text, EntryType.Media, EntryType.Document]);
/** Most windows closed, and most pushes sent, in one round. */
const ROUND_LIMIT = 256;

export interface PushServiceOptions {
  readonly store: PushStore;
  readonly provider: PushProvider;
  readonly presence: Pick<Switchboard, 'presenceOf'>;
  readonly config: PushConfig;
  readonly metrics: PushMetrics;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Secret for the opaque Topic header (so the push service does not learn conversation ids). */
  readonly topicKey: string;
}

export class PushService {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running: Promise<void> | undefined;
  private readonly intake = new Set<Promise<void>>();
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly o: PushServiceOptions) {
    this.log = o.logger.child({ component: 'push' });
  }

  /** Begin sending (also whatever a previous run left queued). */
  start(): void {
    this.schedule(this.o.clock());
  }

  /** The log's hook: called after each committed batch; never throws, never blocks the writer. */
  onCommitted(batch: CommittedBatch): void {
    if (this.closed) return;
    const p = this.intakeBatch(batch).catch((err: unknown) => this.log.error({ err }, 'push intake failed'));
    this.intake.add(p);
    void p.finally(() => this.intake.delete(p));
  }

  /** Stop the timer, finish the intake and the round in flight. Queued pushes stay in the store. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all(this.intake);
    while (this.running) await this.running;
  }

  private async intakeBatch(batch: CommittedBatch): Promise<void> {
    // Count messages per (recipient, conversation); the sender is never a recipient of their own push.
    const counts = new Map<string, { userId: UserId; conversationId: bigint; count: number }>();
    for (const e of batch.entries) {
      if (!NOTIFY_TYPES.has(e.type)) continue;
      for (const userId of batch.members.get(e.conversationId) ?? []) {
        if (userId === e.senderUserId) continue;
        const key = `${userId}:${e.conversationId}`;
        const c = counts.get(key);
        if (c) c.count++;
        else counts.set(key, { userId, conversationId: e.conversationId, count: 1 });
      }
    }
    if (counts.size === 0) return;
    const users = [...new Set([...counts.values()].map((c) => c.userId))];
    const presence = await this.o.presence.presenceOf(users);
    // 'unknown' means the shared presence store could not be asked (e.g. Redis is down): the user may
    // well be offline, and a missed notification costs more than a redundant one (the service worker
    // syncs first and shows only what is new), so 'unknown' pushes like 'offline'. Only 'online' skips.
    const online = new Set(presence.filter((p) => p.status === 'online').map((p) => p.userId));
    const items = [...counts.values()].filter((c) => !online.has(c.userId));
    if (items.length === 0) return;
    const now = this.o.clock();
    const due = now + this.o.config.coalesceMs;
    const queued = await this.o.store.enqueue(items, due, now);
    if (queued === 0) return;
    this.o.metrics.queued.inc(items.reduce((n, i) => n + i.count, 0));
    this.log.debug({ windows: queued, dueAt: due }, 'push queued');
    this.schedule(due);
  }

  /** Run a round at `at` (or earlier if one is already due sooner). */
  private schedule(at: number): void {
    if (this.closed || this.running || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timerAt = Infinity;
        this.running = this.round().finally(() => {
          this.running = undefined;
          void this.afterRound();
        });
      },
      Math.max(0, at - this.o.clock()),
    );
    this.timer.unref();
  }

  private async afterRound(): Promise<void> {
    if (this.closed) return;
    const now = this.o.clock();
    let next = now + this.o.config.pollMs;
    try {
      const due = await this.o.store.nextDue();
      if (due !== null) next = Math.min(next, Math.max(due, now));
    } catch (err) {
      this.log.warn({ err }, 'push: reading the queue failed');
    }
    this.schedule(next);
  }

  /** Close due windows, then send every due outbox row; repeat while a round was full. */
  private async round(): Promise<void> {
    try {
      for (;;) {
        const now = this.o.clock();
        await this.o.store.closeDueWindows(now, ROUND_LIMIT);
        // A claimed row is leased for two send timeouts: if this node dies mid-send, another retries it.
        const items = await this.o.store.claim(now, now + 2 * this.o.config.sendTimeoutMs + 1000, ROUND_LIMIT);
        await Promise.all(items.map((item) => this.sendOne(item)));
        if (items.length < ROUND_LIMIT || this.closed) return;
      }
    } catch (err) {
      this.log.warn({ err }, 'push round failed; retrying at the next poll');
    }
  }

  private async sendOne(item: OutboxItem): Promise<void> {
    const { provider, store, config, metrics } = this.o;
    const result = await provider.send(item, {
      conversationId: item.conversationId,
      count: item.count,
      topic: this.topic(item.conversationId),
      ttlSeconds: config.ttlSeconds,
    });
    const ctx = {
      provider: provider.kind,
      user: item.userId.toString(),
      conversation: item.conversationId.toString(),
      status: result.status,
      attempt: item.attempts,
    };
    switch (result.outcome) {
      case SendOutcome.Delivered:
        metrics.sent.inc({ provider: provider.kind });
        this.log.info({ ...ctx, count: item.count }, 'push sent');
        await store.delivered(item, this.o.clock());
        return;
      case SendOutcome.Gone:
        metrics.removed.inc();
        this.log.info(ctx, 'push subscription gone; removed');
        await store.removeGone(item.endpoint);
        return;
      case SendOutcome.Rejected:
        metrics.failed.inc({ provider: provider.kind, reason: 'rejected' });
        this.log.warn({ ...ctx, detail: result.detail }, 'push refused by the push service; dropped');
        await store.drop(item);
        return;
      case SendOutcome.Retry: {
        if (item.attempts >= config.maxAttempts) {
          metrics.failed.inc({ provider: provider.kind, reason: 'dropped' });
          this.log.warn({ ...ctx, detail: result.detail }, 'push failed on its last attempt; dropped');
          await store.drop(item);
          return;
        }
        metrics.failed.inc({ provider: provider.kind, reason: 'retry' });
        const backoff = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (item.attempts - 1));
        const delay = Math.max(backoff, Math.min(result.retryAfterMs ?? 0, config.retryMaxMs));
        this.log.warn({ ...ctx, detail: result.detail, retryInMs: delay }, 'push failed; will retry');
        await store.retryAt(item, this.o.clock() + delay);
        return;
      }
      default: {
        const never: never = result.outcome;
        throw new Error(`unknown send outcome ${String(never)}`);
      }
    }
  }

  /** An opaque, stable collapse key per conversation (RFC 8030 Topic: at most 32 base64url characters). */
  private topic(conversationId: bigint): string {
    return createHmac('sha256', this.o.topicKey).update(`topic:${conversationId}`).digest('base64url').slice(0, 22);
  }
}
