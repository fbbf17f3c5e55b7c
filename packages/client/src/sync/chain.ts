/**
 * The gap rule, as pure bookkeeping over the vector cursor. It decides which
 * incoming entries to apply, holds entries that arrived ahead of a gap, and says
 * when to pull. It advances its view of a cursor when it hands entries out to
 * be applied; if applying fails, the caller must `reset` it from the replica.
 */
import { ZERO_ENTRY, type ConversationId, type Entry, type EntryId, type VectorCursor } from '@tidings/shared';

export interface PullRequest {
  readonly conversationId: ConversationId;
  readonly after: EntryId;
}

export class ChainTracker {
  private cursors: VectorCursor = new Map();
  /** Entries ahead of a gap, per conversation, by id. */
  private readonly held = new Map<ConversationId, Map<EntryId, Entry>>();
  /** Conversations with a pull outstanding, and the cursor it was sent from. */
  private readonly pulling = new Map<ConversationId, EntryId>();

  /** Starts over from a durable cursor (on every new connection). */
  reset(cursor: VectorCursor): void {
    this.cursors = new Map(cursor);
    this.held.clear();
    this.pulling.clear();
  }

  cursorOf(conversationId: ConversationId): EntryId {
    return this.cursors.get(conversationId) ?? ZERO_ENTRY;
  }

  /** The cursor as it will stand once everything handed out is applied. */
  snapshot(): VectorCursor {
    return new Map(this.cursors);
  }

  /** True when no entries are held waiting for a gap to fill. */
  settled(): boolean {
    return this.held.size === 0;
  }

  /**
   * Live entries: duplicates (id <= cursor) are dropped; an entry whose prevId is
   * at or below the cursor is applied; others are held. Returns what to apply now
   * and, when something is held, `allowPull` and no pull is outstanding, where to pull from.
   */
  live(conversationId: ConversationId, entries: readonly Entry[], allowPull: boolean): { apply: Entry[]; pull: PullRequest | null } {
    const apply: Entry[] = [];
    for (const entry of entries) {
      const cursor = this.cursorOf(conversationId);
      if (entry.id <= cursor) continue;
      if (entry.prevId <= cursor) {
        apply.push(entry);
        this.cursors.set(conversationId, entry.id);
      } else {
        this.hold(conversationId, entry);
      }
    }
    apply.push(...this.drain(conversationId));
    const pull = allowPull ? this.pullFor(conversationId) : null;
    return { apply, pull };
  }

  /** Catch-up entries (a contiguous page from the cursor): everything above the cursor is applied, in order. */
  catchUp(conversationId: ConversationId, entries: readonly Entry[]): Entry[] {
    const apply: Entry[] = [];
    for (const entry of entries) {
      if (entry.id <= this.cursorOf(conversationId)) continue;
      apply.push(entry);
      this.cursors.set(conversationId, entry.id);
    }
    apply.push(...this.drain(conversationId));
    return apply;
  }

  /** Pulls for every conversation that holds entries but has no pull outstanding (used once catch-up is done). */
  stalledPulls(): PullRequest[] {
    const pulls: PullRequest[] = [];
    for (const conversationId of this.held.keys()) {
      const pull = this.pullFor(conversationId);
      if (pull) pulls.push(pull);
    }
    return pulls;
  }

  private hold(conversationId: ConversationId, entry: Entry): void {
    let byId = this.held.get(conversationId);
    if (!byId) {
      byId = new Map();
      this.held.set(conversationId, byId);
    }
    byId.set(entry.id, entry);
  }

  private pullFor(conversationId: ConversationId): PullRequest | null {
    if (!this.held.has(conversationId) || this.pulling.has(conversationId)) return null;
    const after = this.cursorOf(conversationId);
    this.pulling.set(conversationId, after);
    return { conversationId, after };
  }

  /** Hands out held entries that now connect to the cursor, in id order. */
  private drain(conversationId: ConversationId): Entry[] {
    const byId = this.held.get(conversationId);
    if (!byId) return [];
    const out: Entry[] = [];
    const sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const entry of sorted) {
      const cursor = this.cursorOf(conversationId);
      if (entry.id <= cursor) {
        byId.delete(entry.id);
      } else if (entry.prevId <= cursor) {
        out.push(entry);
        byId.delete(entry.id);
        this.cursors.set(conversationId, entry.id);
      }
    }
    if (byId.size === 0) {
      this.held.delete(conversationId);
      this.pulling.delete(conversationId);
    }
    return out;
  }
}
