/**
 * Catch-up pages of different conversations, opened and stored side by side.
 * Opening an MLS page ends with a wait for the signature checks that ran off
 * the engine's thread; while one page waits, the next conversation's page
 * decrypts (issue #11: about 12 ms per page were spent idle). A conversation
 * never has two pages in flight, so each one's pages are stored in log order,
 * and at most `size` pages are in flight at all. Everything that is not a
 * catch-up page `drain`s the window first, so it sees every page stored.
 */
import type { ConversationId } from '@tidings/shared';

/** Catch-up pages in flight at once. Two is enough: one decrypts while the other waits for its checks. */
export const CATCH_UP_PAGES_IN_FLIGHT = 2;

export class PageWindow {
  private readonly running = new Map<ConversationId, Promise<void>>();

  constructor(private readonly size = CATCH_UP_PAGES_IN_FLIGHT) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('a page window holds at least one page');
  }

  /** Resolves once `conversationId` has no page in flight and another page fits. */
  async admit(conversationId: ConversationId): Promise<void> {
    for (;;) {
      const same = this.running.get(conversationId);
      if (same !== undefined) await same;
      else if (this.running.size >= this.size) await Promise.race(this.running.values());
      else return;
    }
  }

  /**
   * Runs `page` in the window (call `admit` first). Its failure goes to
   * `failed` and never to a later caller: the window itself does not reject.
   */
  start(conversationId: ConversationId, page: () => Promise<void>, failed: (error: unknown) => void): void {
    if (this.running.has(conversationId)) throw new Error('a conversation has one catch-up page in flight at most');
    // `page` starts in a microtask, after the entry exists: one that fails at once still leaves the window.
    const done = Promise.resolve()
      .then(page)
      .catch(failed)
      .finally(() => this.running.delete(conversationId));
    this.running.set(conversationId, done);
  }

  /** Resolves once no page is in flight. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }
}
