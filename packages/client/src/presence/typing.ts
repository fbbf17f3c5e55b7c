/**
 * Typing indicators, in memory only. Outgoing: at most one `active` frame per
 * conversation per TYPING_MIN_INTERVAL_MS, refreshed every TYPING_TTL_MS/2
 * while the app keeps saying the user is typing; `active: false` is never
 * throttled. Incoming: each typist is forgotten TYPING_TTL_MS after their
 * last `active`, by the injected clock.
 */
import { TYPING_MIN_INTERVAL_MS, TYPING_TTL_MS, type ConversationId, type TypingFrame, type UserId } from '@tidings/shared';
import type { Clock, TimerHandle } from '../runtime/clock.js';

interface Outgoing {
  /** When the last active frame went out (-Infinity: never on this socket). */
  lastActiveAt: number;
  /** Peers currently show us typing (an active went out and no inactive since). */
  shown: boolean;
  /** An active frame held back by the minimum interval. */
  deferred: TimerHandle | null;
}

export class TypingTracker {
  private readonly outgoing = new Map<ConversationId, Outgoing>();
  private readonly incoming = new Map<ConversationId, Map<UserId, TimerHandle>>();

  constructor(
    private readonly clock: Clock,
    private readonly self: UserId,
    /** Sends a frame; returns false when there is no welcomed socket. */
    private readonly send: (frame: TypingFrame) => boolean,
    private readonly emit: (conversationId: ConversationId, userIds: readonly UserId[]) => void,
  ) {}

  /** The user is (active) or stopped being (inactive) typing in a conversation. Call as often as the app likes. */
  set(conversationId: ConversationId, active: boolean): void {
    const out = this.outgoing.get(conversationId) ?? { lastActiveAt: -Infinity, shown: false, deferred: null };
    this.outgoing.set(conversationId, out);
    if (!active) {
      if (out.deferred !== null) this.clock.clearTimeout(out.deferred);
      out.deferred = null;
      if (out.shown) this.send({ t: 'typing', conversationId, active: false });
      out.shown = false;
      return;
    }
    if (out.deferred !== null) return;
    const now = this.clock.now();
    if (out.shown && now - out.lastActiveAt < TYPING_TTL_MS / 2) return; // still showing at peers
    const wait = out.lastActiveAt + TYPING_MIN_INTERVAL_MS - now;
    if (wait <= 0) {
      this.sendActive(conversationId, out);
      return;
    }
    out.deferred = this.clock.setTimeout(() => {
      out.deferred = null;
      this.sendActive(conversationId, out);
    }, wait);
  }

  /** A `typing` frame from the server. */
  received(conversationId: ConversationId, userId: UserId, active: boolean): void {
    if (userId === this.self) return; // our own other devices
    let typists = this.incoming.get(conversationId);
    const timer = typists?.get(userId);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    if (!active) {
      if (typists?.delete(userId)) this.emit(conversationId, this.typing(conversationId));
      return;
    }
    if (!typists) {
      typists = new Map();
      this.incoming.set(conversationId, typists);
    }
    const isNew = !typists.has(userId);
    typists.set(
      userId,
      this.clock.setTimeout(() => {
        if (this.incoming.get(conversationId)?.delete(userId)) this.emit(conversationId, this.typing(conversationId));
      }, TYPING_TTL_MS),
    );
    if (isNew) this.emit(conversationId, this.typing(conversationId));
  }

  /** Who is typing in a conversation now (never oneself). */
  typing(conversationId: ConversationId): UserId[] {
    return [...(this.incoming.get(conversationId)?.keys() ?? [])];
  }

  /** The socket is gone: no `inactive` can arrive, so forget every typist; outgoing state starts over. */
  reset(): void {
    for (const out of this.outgoing.values()) if (out.deferred !== null) this.clock.clearTimeout(out.deferred);
    this.outgoing.clear();
    for (const [conversationId, typists] of [...this.incoming]) {
      for (const timer of typists.values()) this.clock.clearTimeout(timer);
      this.incoming.delete(conversationId);
      if (typists.size > 0) this.emit(conversationId, []);
    }
  }

  private sendActive(conversationId: ConversationId, out: Outgoing): void {
    if (!this.send({ t: 'typing', conversationId, active: true })) return;
    out.lastActiveAt = this.clock.now();
    out.shown = true;
  }
}
