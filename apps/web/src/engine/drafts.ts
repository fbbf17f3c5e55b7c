/**
 * Drafts that follow the user across devices. The composer's text is saved in
 * this browser's AppStore at once and, after a pause, in the account document
 * (the self conversation, `client.crdt`), so another device of the same user
 * finds it. Reading prefers this device's own draft, and takes the document's
 * when this device has none, or when the document changed elsewhere since this
 * device last wrote or saw it (a draft sent or erased on another device).
 */
import type { ConversationId } from '@tidings/shared';
import { stateLimits } from '@tidings/client';

/** Pause after the last save before a conversation's draft is written to the account document, ms. */
export const DRAFT_SYNC_MS = 1500;

/** This device's drafts (the AppStore). */
export interface LocalDrafts {
  draft(id: ConversationId): Promise<string>;
  saveDraft(id: ConversationId, text: string): Promise<void>;
}

/** The account document's drafts (`client.crdt`). Both calls may throw (self conversation not known yet). */
export interface AccountDrafts {
  chat(id: ConversationId): Promise<{ readonly draft: string }>;
  setDraft(id: ConversationId, text: string): Promise<void>;
}

interface Pending {
  readonly id: ConversationId;
  readonly text: string;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** One signed-in engine's drafts: AppStore at once, account document after DRAFT_SYNC_MS. State lives in memory (per engine run). */
export class DraftSync {
  /** Drafts waiting for the pause to end, by conversation: the latest text wins. */
  private readonly pending = new Map<string, Pending>();
  /** The document's draft as this device last wrote it, or last read it while agreeing with it. */
  private readonly known = new Map<string, string>();
  /** Conversations whose last write failed: saving the same text again retries it. */
  private readonly failed = new Set<string>();
  /** Writes to the document, one at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly local: LocalDrafts,
    private readonly account: AccountDrafts,
    private readonly delayMs = DRAFT_SYNC_MS,
  ) {}

  /** The draft to show: this device's own, else the document's (see the module comment). */
  async load(id: ConversationId): Promise<string> {
    const key = String(id);
    const mine = await this.local.draft(id);
    if (this.pending.has(key)) return mine;
    let theirs: string;
    try {
      theirs = (await this.account.chat(id)).draft;
    } catch {
      return mine; // the document is not readable yet: this device's draft is all there is
    }
    if (mine === '' || mine === theirs) {
      this.known.set(key, theirs);
      return theirs;
    }
    const known = this.known.get(key);
    if (known === undefined || mine !== known || this.pending.has(key)) return mine;
    // This device's draft is what it last synced, and the document moved on since: follow it.
    await this.local.saveDraft(id, theirs);
    this.known.set(key, theirs);
    return theirs;
  }

  /**
   * Saves on this device now, and in the document after DRAFT_SYNC_MS, unless nothing changed: the composer
   * also saves when it closes, and an untouched draft must not undo a change another device made meanwhile.
   */
  async save(id: ConversationId, text: string): Promise<void> {
    const key = String(id);
    const local = await this.local.draft(id);
    // What the composer showed: this device's draft, else the document's as last read (see load).
    const before = local !== '' ? local : (this.known.get(key) ?? '');
    await this.local.saveDraft(id, text);
    const waiting = this.pending.get(key);
    if (waiting?.text === text) return;
    if (waiting) clearTimeout(waiting.timer);
    this.pending.delete(key);
    if (this.known.get(key) === text) return;
    if (!waiting && text === before && !this.failed.has(key)) return;
    const timer = setTimeout(() => void this.write(key), this.delayMs);
    this.pending.set(key, { id, text, timer });
  }

  /** Writes every waiting draft now (the engine is stopping or signing out). */
  async flush(): Promise<void> {
    for (const key of [...this.pending.keys()]) {
      clearTimeout(this.pending.get(key)!.timer);
      void this.write(key);
    }
    await this.writing;
  }

  private write(key: string): Promise<void> {
    const next = this.pending.get(key);
    if (!next) return this.writing;
    this.pending.delete(key);
    this.writing = this.writing.then(async () => {
      // A draft over the document's limit stays on this device only.
      if (next.text.length > stateLimits.MAX_DRAFT_CHARS) return;
      try {
        if ((await this.account.chat(next.id)).draft !== next.text) await this.account.setDraft(next.id, next.text);
        this.known.set(key, next.text);
        this.failed.delete(key);
      } catch {
        // Not synced (e.g. the self conversation is not known yet): the local draft stays, and the next save tries again.
        this.failed.add(key);
      }
    });
    return this.writing;
  }
}
