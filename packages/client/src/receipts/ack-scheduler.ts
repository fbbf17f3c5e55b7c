/**
 * Coalesces receipt acks: whatever positions are waiting go out as ONE `ack`
 * frame per conversation, after a short debounce (never later than a maximum
 * wait, so a long stream still acks now and then), or at once on `flush`
 * (catch-up complete). Acking 10,000 stored messages is one frame.
 * Positions only move forward; a position already sent on this socket is not
 * sent again.
 */
import type { AckFrame, ConversationId, EntryId } from '@tidings/shared';
import type { Clock, TimerHandle } from '../runtime/clock.js';

export interface AckSchedulerOptions {
  /** Quiet time after the last new position before acks go out, in ms. */
  readonly delayMs: number;
  /** Longest an ack waits while new positions keep arriving, in ms. */
  readonly maxDelayMs: number;
}

interface Positions {
  delivered: bigint;
  read: bigint;
}

export class AckScheduler {
  /** Highest positions wanted, per conversation. */
  private readonly wanted = new Map<ConversationId, Positions>();
  /** Highest positions sent on the current socket. */
  private readonly sent = new Map<ConversationId, Positions>();
  private timer: TimerHandle | null = null;
  private firstPendingAt: number | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly options: AckSchedulerOptions,
    /** Sends a frame; returns false when it cannot be sent now (no welcomed socket). */
    private readonly send: (frame: AckFrame) => boolean,
  ) {}

  /** Entries up to `upto` are durably stored (call only after the replica transaction committed). */
  delivered(conversationId: ConversationId, upto: EntryId): void {
    this.want(conversationId, upto, 0n);
  }

  /** The user has read up to `upto`. */
  read(conversationId: ConversationId, upto: EntryId): void {
    this.want(conversationId, 0n, upto);
  }

  /** Sends everything waiting now (catch-up complete, or a socket was just welcomed). */
  flush(): void {
    this.cancelTimer();
    for (const [conversationId, wanted] of this.wanted) {
      const sent = this.sentFor(conversationId);
      const delivered = wanted.delivered > sent.delivered ? wanted.delivered : 0n;
      const read = wanted.read > sent.read ? wanted.read : 0n;
      if (delivered === 0n && read === 0n) continue;
      const ok = this.send({ t: 'ack', conversationId, delivered: delivered as EntryId, read: read as EntryId });
      if (!ok) return; // no socket: everything stays wanted for the next one
      if (delivered) sent.delivered = delivered;
      if (read) sent.read = read;
    }
    this.wanted.clear();
  }

  /** A new socket: nothing has been sent on it. Wanted positions stay and go out after its welcome. */
  reset(): void {
    this.cancelTimer();
    this.sent.clear();
  }

  /** Whether anything is waiting to be sent. */
  get idle(): boolean {
    return this.wanted.size === 0;
  }

  private want(conversationId: ConversationId, delivered: bigint, read: bigint): void {
    const sent = this.sentFor(conversationId);
    const wanted = this.wanted.get(conversationId) ?? { delivered: 0n, read: 0n };
    let more = false;
    if (delivered > sent.delivered && delivered > wanted.delivered) {
      wanted.delivered = delivered;
      more = true;
    }
    if (read > sent.read && read > wanted.read) {
      wanted.read = read;
      more = true;
    }
    if (!more) return;
    this.wanted.set(conversationId, wanted);
    this.schedule();
  }

  private schedule(): void {
    const now = this.clock.now();
    this.firstPendingAt ??= now;
    const wait = Math.min(this.options.delayMs, Math.max(0, this.firstPendingAt + this.options.maxDelayMs - now));
    this.cancelTimer(false);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private cancelTimer(resetWindow = true): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (resetWindow) this.firstPendingAt = null;
  }

  private sentFor(conversationId: ConversationId): Positions {
    let sent = this.sent.get(conversationId);
    if (!sent) {
      sent = { delivered: 0n, read: 0n };
      this.sent.set(conversationId, sent);
    }
    return sent;
  }
}
