/**
 * The per-user account document, synced through the user's "self"
 * conversation across their devices: archived, muted and pinned chats,
 * drafts, and privacy preferences. Pure, like ConversationState.
 */
import * as Y from 'yjs';
import { ErrorCode, TidingsError } from '@tidings/shared';
import type { PrivacySettings } from '../model/settings.js';
import { MAX_DRAFT_CHARS } from './limits.js';

/** A chat's place in the user's list, as every device of the user shows it. */
export interface ChatPrefs {
  readonly archived: boolean;
  /** 0 when not muted; ms since the epoch until which it is muted, or Infinity for always. */
  readonly mutedUntil: number;
  /** When it was pinned (ms), or null. */
  readonly pinnedAt: number | null;
  readonly draft: string;
}

const invalid = (message: string): TidingsError => new TidingsError(ErrorCode.InvalidArgument, message);
const checkId = (id: string): void => {
  if (!/^[0-9]{1,20}$/.test(id)) throw invalid('bad conversation id');
};
/** JSON cannot hold Infinity: "muted forever" is stored as -1. */
const FOREVER = -1;

export class AccountState {
  readonly doc: Y.Doc;
  private readonly archived: Y.Map<true>;
  private readonly muted: Y.Map<number>;
  private readonly pinned: Y.Map<number>;
  private readonly drafts: Y.Map<string>;
  private readonly privacyMap: Y.Map<boolean>;

  constructor(doc: Y.Doc = new Y.Doc()) {
    this.doc = doc;
    this.archived = doc.getMap('archived');
    this.muted = doc.getMap('muted');
    this.pinned = doc.getMap('pinned');
    this.drafts = doc.getMap('drafts');
    this.privacyMap = doc.getMap('privacy');
  }

  archive(conversationId: string, on: boolean, origin?: unknown): void {
    checkId(conversationId);
    this.doc.transact(() => (on ? this.archived.set(conversationId, true) : this.archived.delete(conversationId)), origin);
  }

  /** Mutes until `until` (ms; Infinity for always), or unmutes with 0. */
  mute(conversationId: string, until: number, origin?: unknown): void {
    checkId(conversationId);
    if (Number.isNaN(until) || until < 0) throw invalid('mute until must be 0, a time, or Infinity');
    this.doc.transact(() => {
      if (until === 0) this.muted.delete(conversationId);
      else this.muted.set(conversationId, until === Infinity ? FOREVER : until);
    }, origin);
  }

  pinChat(conversationId: string, at: number | null, origin?: unknown): void {
    checkId(conversationId);
    this.doc.transact(() => (at === null ? this.pinned.delete(conversationId) : this.pinned.set(conversationId, at)), origin);
  }

  setDraft(conversationId: string, text: string, origin?: unknown): void {
    checkId(conversationId);
    if (text.length > MAX_DRAFT_CHARS) throw invalid(`draft is over ${MAX_DRAFT_CHARS} characters`);
    this.doc.transact(() => (text === '' ? this.drafts.delete(conversationId) : this.drafts.set(conversationId, text)), origin);
  }

  setPrivacy(patch: Partial<PrivacySettings>, origin?: unknown): void {
    this.doc.transact(() => {
      for (const key of ['readReceipts', 'showLastSeen'] as const) {
        const v = patch[key];
        if (v !== undefined) this.privacyMap.set(key, v);
      }
    }, origin);
  }

  chat(conversationId: string): ChatPrefs {
    const muted = this.muted.get(conversationId) ?? 0;
    return {
      archived: this.archived.has(conversationId),
      mutedUntil: muted === FOREVER ? Infinity : muted,
      pinnedAt: this.pinned.get(conversationId) ?? null,
      draft: this.drafts.get(conversationId) ?? '',
    };
  }

  /** Pinned chats, most recently pinned first. */
  pinnedChats(): string[] {
    return [...this.pinned.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
  }

  archivedChats(): string[] {
    return [...this.archived.keys()].sort();
  }

  /** Privacy preferences set on any of the user's devices (unset fields are absent). */
  privacy(): Partial<PrivacySettings> {
    return Object.fromEntries(this.privacyMap.entries()) as Partial<PrivacySettings>;
  }

  view(): unknown {
    const sorted = <T,>(m: Y.Map<T>): [string, T][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return { archived: sorted(this.archived), muted: sorted(this.muted), pinned: sorted(this.pinned), drafts: sorted(this.drafts), privacy: sorted(this.privacyMap) };
  }
}
