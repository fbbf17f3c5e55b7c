/**
 * Sends the outbox over the current socket, in order, each item at most once
 * per socket (the server dedupes retries across sockets by clientMsgId).
 * Retryable failures are sent again after a delay; everything is sent again
 * on the next connection.
 */
import type { SendFrame } from '@tidings/shared';
import type { Outbox } from '../replica/replica.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';

export class OutboxSender {
  private readonly inFlight = new Set<string>();
  private retryTimer: TimerHandle | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    /** Delay before re-sending after the n-th retryable failure, in ms. */
    private readonly retryDelay: (attempts: number) => number,
    /** Asks the engine to call `flush` again (on its serial queue). */
    private readonly requestFlush: () => void,
  ) {}

  /** Sends every outbox item not already in flight on this socket, oldest first. */
  async flush(send: (frame: SendFrame) => void): Promise<number> {
    let sent = 0;
    for (const item of await this.outbox.pending()) {
      if (this.inFlight.has(item.clientMsgId)) continue;
      this.inFlight.add(item.clientMsgId);
      const { conversationId, clientMsgId, type, body } = item;
      send({ t: 'send', conversationId, clientMsgId, type, body });
      sent += 1;
    }
    return sent;
  }

  /** The server answered (ack or permanent failure): the item is no longer in flight. */
  settled(clientMsgId: string): void {
    this.inFlight.delete(clientMsgId);
  }

  /** The server answered with a retryable error: count it and send again later. */
  async retryLater(clientMsgId: string): Promise<void> {
    this.inFlight.delete(clientMsgId);
    await this.outbox.recordAttempt(clientMsgId);
    if (this.retryTimer !== null) return;
    const attempts = (await this.outbox.pending()).find((i) => i.clientMsgId === clientMsgId)?.attempts ?? 1;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.requestFlush();
    }, this.retryDelay(attempts));
  }

  /** The socket is gone: nothing is in flight any more. */
  reset(): void {
    this.inFlight.clear();
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
