/**
 * Sends the outbox over the current socket, in order, each item at most once
 * per socket (the server dedupes retries across sockets by clientMsgId).
 * Retryable failures are sent again after a delay; everything is sent again
 * on the next connection.
 */
import { EntryType, type ConversationId, type SendFrame } from '@tidings/shared';
import type { Prepared } from '../e2ee-engine/session.js';
import type { Outbox, OutboxItem } from '../replica/replica.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';

export class OutboxSender {
  private readonly inFlight = new Set<string>();
  private retryTimer: TimerHandle | null = null;
  /** Bumped by `reset`: a flush begun on an earlier socket stops at its next step. */
  private socket = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    /** Delay before re-sending after the n-th retryable failure, in ms. */
    private readonly retryDelay: (attempts: number) => number,
    /** Asks the engine to call `flush` again (on its serial queue). */
    private readonly requestFlush: () => void,
  ) {}

  /**
   * Sends every outbox item not already in flight on this socket, oldest first.
   * `prepare` seals an item at send time (MLS); an item it says to wait holds
   * back its conversation's later items too, as does an item whose file is
   * still a pending upload (`awaitingUpload`: a photo sent offline keeps its
   * place ahead of later texts). MLS Commits go first: a message waiting for
   * its group's Commit must not hold that Commit back.
   */
  async flush(send: (frame: SendFrame) => void, prepare?: (item: OutboxItem) => Promise<Prepared>, fail?: (item: OutboxItem, failure: Extract<Prepared, { kind: 'fail' }>) => Promise<void>): Promise<number> {
    let sent = 0;
    const socket = this.socket;
    const items = await this.outbox.pending();
    const ordered = prepare ? [...items.filter((i) => i.type === EntryType.Mls), ...items.filter((i) => i.type !== EntryType.Mls)] : items;
    const blocked = new Set<ConversationId>();
    for (const item of ordered) {
      // The socket went while this flush was reading or sealing: what it would mark in flight now
      // was never sent on the new socket, and the new socket's own flush would skip it for good.
      if (socket !== this.socket) return sent;
      if (this.inFlight.has(item.clientMsgId) || blocked.has(item.conversationId)) continue;
      if (item.awaitingUpload === true) {
        blocked.add(item.conversationId);
        continue;
      }
      const prepared: Prepared = prepare ? await prepare(item) : { kind: 'send', body: item.body };
      if (socket !== this.socket) return sent;
      if (prepared.kind === 'wait') {
        blocked.add(item.conversationId);
        continue;
      }
      if (prepared.kind === 'fail') {
        await fail?.(item, prepared);
        continue;
      }
      this.inFlight.add(item.clientMsgId);
      const { conversationId, clientMsgId, type } = item;
      send({ t: 'send', conversationId, clientMsgId, type, body: prepared.body });
      sent += 1;
      if (prepare && type === EntryType.Mls) blocked.add(conversationId); // its messages wait for the new epoch
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
    this.socket += 1;
    this.inFlight.clear();
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
