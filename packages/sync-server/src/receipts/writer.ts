/**
 * Coalescing receipt writer: acks from every socket are merged per
 * (conversation, user), keeping the highest positions, and written with one
 * statement per flush; positions that moved are published to the members.
 */
import type { ConversationId, EntryId, UserId } from '@tidings/shared';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import { advanceReceipts, type ReceiptUpdate } from './store.js';

export interface ReceiptWriterOptions {
  readonly db: SqlClient;
  readonly clock: () => number;
  readonly logger: Logger;
  /**
   * Called with the positions that moved in one flush, and awaited before the
   * next flush: each flush's positions are published after the previous
   * one's, so a stale frame never lands last (acks meanwhile merge as usual).
   */
  readonly onAdvanced: (moved: readonly ReceiptUpdate[]) => Promise<void>;
  /** Called with how many acks one flush wrote. */
  readonly onFlush?: (merged: number) => void;
}

const max = (a: EntryId, b: EntryId): EntryId => (a > b ? a : b);

/**
 * How long acks gather before a flush, in ms. A message to a group is acked by
 * every online member within moments; merging them makes one write and one
 * publish per conversation instead of one per member (which costs members² frames).
 */
export const RECEIPT_FLUSH_MS = 25;

/** How long a flush that failed to write (the database unreachable) waits before the next try, in ms. */
export const RECEIPT_RETRY_MS = 1000;

export class ReceiptWriter {
  private pending = new Map<string, ReceiptUpdate>();
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly opts: ReceiptWriterOptions) {}

  ack(conversationId: ConversationId, userId: UserId, delivered: EntryId, read: EntryId): void {
    if (this.closed || (delivered === 0n && read === 0n)) return;
    this.merge({ conversationId, userId, delivered, read });
    this.schedule(RECEIPT_FLUSH_MS);
  }

  private merge(u: ReceiptUpdate): void {
    const key = `${u.conversationId}:${u.userId}`;
    const prev = this.pending.get(key);
    this.pending.set(key, prev ? { ...prev, delivered: max(prev.delivered, u.delivered), read: max(prev.read, u.read) } : u);
  }

  /** A flush in `ms` unless one is already due (a retry's longer wait holds back the acks that come meanwhile). */
  private schedule(ms: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, ms);
  }

  /** Write what is pending and stop taking acks. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.start();
    }
    while (this.running) await this.running;
  }

  /**
   * Starts the flush loop unless it runs. `running` is cleared in a promise
   * reaction, never synchronously: with `this.running ??= this.run()` and a
   * `finally` inside run(), a timer that fired with nothing pending (its acks
   * already taken by the running loop) cleared `running` before it was
   * assigned, left a finished promise there, and every later ack waited for
   * ever (a read tick that never came, client.e2e on Postgres under load).
   */
  private start(): void {
    if (this.running || this.pending.size === 0) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  private async run(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.values()];
      this.pending = new Map();
      let moved: ReceiptUpdate[];
      try {
        moved = await advanceReceipts(this.opts.db, batch, this.opts.clock());
      } catch (err) {
        this.opts.logger.warn({ err, size: batch.length }, 'receipt flush failed');
        // Shutting down: the devices re-ack what the server lacks on their next catch-up.
        if (this.closed) return;
        // Kept (merged with what came meanwhile) and written on the next try, so a tick is not lost
        // to a database blip; until then the positions wait here, one per conversation and user.
        for (const u of batch) this.merge(u);
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        this.schedule(RECEIPT_RETRY_MS);
        return;
      }
      this.opts.onFlush?.(batch.length);
      try {
        if (moved.length > 0) await this.opts.onAdvanced(moved);
      } catch (err) {
        // Written, so the positions reach the devices with their next catch-up.
        this.opts.logger.warn({ err }, 'receipt publish failed');
      }
    }
  }
}
