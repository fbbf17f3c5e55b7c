/**
 * The convergent state of one conversation over a Y.Doc: message edits (with
 * history), delete for everyone, reactions, pins, the group profile and the
 * disappearing-messages timer. Pure: no I/O; the state layer moves its
 * updates. Records live in flat top-level maps and one array (never nested
 * types created under a key, which concurrent creators would overwrite).
 */
import * as Y from 'yjs';
import { ErrorCode, MAX_GROUP_NAME_CHARS, TidingsError } from '@tidings/shared';
import type { ActRecord, EditRecord, MessageAnnotations } from '../model/annotations.js';
import { MAX_DISAPPEARING_SECONDS, MAX_EDIT_CHARS, MAX_GROUP_DESCRIPTION_CHARS, MAX_REACTION_CHARS, MIN_DISAPPEARING_SECONDS } from './limits.js';

/** Group name, description and avatar (a media descriptor as JSON, or null). */
export interface GroupProfile {
  readonly name: string | null;
  readonly description: string | null;
  readonly avatar: unknown;
}

/** The disappearing-messages timer: 0 is off; messages created at or after `since` expire `seconds` after creation. */
export interface DisappearingTimer {
  readonly seconds: number;
  readonly since: number;
}

const SEP = '\u0001';
const reactionKey = (uid: string, userId: string, emoji: string): string => `${uid}${SEP}${userId}${SEP}${emoji}`;

const invalid = (message: string): TidingsError => new TidingsError(ErrorCode.InvalidArgument, message);

function checkUid(uid: string): void {
  if (uid.length === 0 || uid.length > 256 || uid.includes(SEP)) throw invalid('bad message uid');
}

export class ConversationState {
  readonly doc: Y.Doc;
  private readonly edits: Y.Array<EditRecord>;
  private readonly deleted: Y.Map<ActRecord>;
  private readonly reactions: Y.Map<true>;
  private readonly pins: Y.Map<ActRecord>;
  private readonly profileMap: Y.Map<unknown>;
  private readonly timerMap: Y.Map<number>;

  constructor(doc: Y.Doc = new Y.Doc()) {
    this.doc = doc;
    this.edits = doc.getArray('edits');
    this.deleted = doc.getMap('deleted');
    this.reactions = doc.getMap('reactions');
    this.pins = doc.getMap('pins');
    this.profileMap = doc.getMap('profile');
    this.timerMap = doc.getMap('timer');
  }

  // ---- changes (each one Yjs transaction with `origin`) ----

  edit(uid: string, text: string, by: string, at: number, origin?: unknown): void {
    checkUid(uid);
    if (text.length === 0 || text.length > MAX_EDIT_CHARS) throw invalid(`edited text must be 1..${MAX_EDIT_CHARS} characters`);
    if (this.deleted.has(uid)) throw new TidingsError(ErrorCode.Conflict, 'message was deleted for everyone');
    this.doc.transact(() => this.edits.push([{ uid, text, by, at }]), origin);
  }

  /** Marks the message deleted and removes its edits, reactions and pin (Yjs gc drops their content). */
  deleteForEveryone(uid: string, by: string, at: number, origin?: unknown): void {
    checkUid(uid);
    this.doc.transact(() => {
      if (!this.deleted.has(uid)) this.deleted.set(uid, { by, at });
      this.purge(uid);
    }, origin);
  }

  /** Removes what a deleted message still has (also run when a concurrent edit or reaction arrives after the delete). */
  purge(uid: string, origin?: unknown): void {
    this.doc.transact(() => {
      for (let i = this.edits.length - 1; i >= 0; i--) if (this.edits.get(i).uid === uid) this.edits.delete(i, 1);
      for (const key of [...this.reactions.keys()]) if (key.startsWith(uid + SEP)) this.reactions.delete(key);
      this.pins.delete(uid);
    }, origin);
  }

  react(uid: string, userId: string, emoji: string, on: boolean, origin?: unknown): void {
    checkUid(uid);
    if (emoji.length === 0 || emoji.length > MAX_REACTION_CHARS || emoji.includes(SEP)) throw invalid('bad reaction');
    if (on && this.deleted.has(uid)) throw new TidingsError(ErrorCode.Conflict, 'message was deleted for everyone');
    const key = reactionKey(uid, userId, emoji);
    this.doc.transact(() => {
      if (on) this.reactions.set(key, true);
      else this.reactions.delete(key);
    }, origin);
  }

  pin(uid: string, by: string, at: number, on: boolean, origin?: unknown): void {
    checkUid(uid);
    if (on && this.deleted.has(uid)) throw new TidingsError(ErrorCode.Conflict, 'message was deleted for everyone');
    this.doc.transact(() => {
      if (on) this.pins.set(uid, { by, at });
      else this.pins.delete(uid);
    }, origin);
  }

  setProfile(patch: Partial<GroupProfile>, origin?: unknown): void {
    if (patch.name !== undefined && patch.name !== null && (patch.name.length === 0 || patch.name.length > MAX_GROUP_NAME_CHARS)) {
      throw invalid(`group name must be 1..${MAX_GROUP_NAME_CHARS} characters`);
    }
    if (typeof patch.description === 'string' && patch.description.length > MAX_GROUP_DESCRIPTION_CHARS) {
      throw invalid(`group description is over ${MAX_GROUP_DESCRIPTION_CHARS} characters`);
    }
    this.doc.transact(() => {
      for (const key of ['name', 'description', 'avatar'] as const) if (patch[key] !== undefined) this.profileMap.set(key, patch[key]);
    }, origin);
  }

  setTimer(seconds: number, since: number, origin?: unknown): void {
    if (!Number.isInteger(seconds) || (seconds !== 0 && (seconds < MIN_DISAPPEARING_SECONDS || seconds > MAX_DISAPPEARING_SECONDS))) {
      throw invalid(`disappearing timer must be 0 or ${MIN_DISAPPEARING_SECONDS}..${MAX_DISAPPEARING_SECONDS} seconds`);
    }
    this.doc.transact(() => {
      this.timerMap.set('seconds', seconds);
      this.timerMap.set('since', since);
    }, origin);
  }

  /**
   * Runs `apply` (which applies an update to this document) and returns the
   * users that the records it adds claim to be by: the `by` of new edits,
   * deletions and pins, and the user in the key of each reaction it sets.
   * Only items of the update's own Yjs clients (`clients`) count — not
   * another device's items that were waiting for this update and integrate
   * with it — whether or not they win their key; removals claim nothing (any
   * member purges what a deleted message left).
   */
  claimsDuring(clients: ReadonlySet<number>, apply: () => void): Set<string> {
    const claims = new Set<string>();
    const byOf = (value: unknown): void => {
      const by = (value as { by?: unknown } | undefined)?.by;
      claims.add(typeof by === 'string' ? by : '');
    };
    /** The items of `key` (newest first, overwritten ones too) that this event added. */
    const added = <T,>(map: Y.Map<T>, e: Y.YEvent<Y.Map<T>>, key: string): Y.Item[] => {
      const out: Y.Item[] = [];
      for (let item: Y.Item | null = map._map.get(key) ?? null; item !== null; item = item.left) if (e.adds(item) && clients.has(item.id.client)) out.push(item);
      return out;
    };
    const onEdits = (e: Y.YArrayEvent<EditRecord>): void => {
      for (const item of e.changes.added) if (clients.has(item.id.client)) for (const record of item.content.getContent()) byOf(record);
    };
    const onActs =
      (map: Y.Map<ActRecord>) =>
      (e: Y.YMapEvent<ActRecord>): void => {
        for (const key of e.keysChanged) for (const item of added(map, e, key)) for (const value of item.content.getContent()) byOf(value);
      };
    const onReactions = (e: Y.YMapEvent<true>): void => {
      for (const key of e.keysChanged) if (added(this.reactions, e, key).length > 0) claims.add(key.split(SEP)[1] ?? '');
    };
    const onDeleted = onActs(this.deleted);
    const onPins = onActs(this.pins);
    this.edits.observe(onEdits);
    this.deleted.observe(onDeleted);
    this.pins.observe(onPins);
    this.reactions.observe(onReactions);
    try {
      apply();
    } finally {
      this.edits.unobserve(onEdits);
      this.deleted.unobserve(onDeleted);
      this.pins.unobserve(onPins);
      this.reactions.unobserve(onReactions);
    }
    return claims;
  }

  // ---- queries ----

  isDeleted(uid: string): boolean {
    return this.deleted.has(uid);
  }

  /** Who deleted the message for everyone (null when it was not). */
  deletedBy(uid: string): string | null {
    return this.deleted.get(uid)?.by ?? null;
  }

  deletedUids(): string[] {
    return [...this.deleted.keys()].sort();
  }

  /** Uids of deleted messages that still have edits, reactions or a pin (a concurrent change that arrived after the delete). */
  leftovers(): string[] {
    if (this.deleted.size === 0) return [];
    const out = new Set<string>();
    for (const e of this.edits) if (this.deleted.has(e.uid)) out.add(e.uid);
    for (const key of this.reactions.keys()) {
      const uid = key.split(SEP)[0] ?? '';
      if (this.deleted.has(uid)) out.add(uid);
    }
    for (const uid of this.pins.keys()) if (this.deleted.has(uid)) out.add(uid);
    return [...out];
  }

  /** Annotations of a message; edits only count when made by `sender` (the message's author). */
  annotations(uid: string, sender: string | null): MessageAnnotations {
    return this.annotationsOf(new Map([[uid, sender]])).get(uid)!;
  }

  /** Annotations of many messages (uid -> sender) in one pass over the document. */
  annotationsOf(senders: ReadonlyMap<string, string | null>): Map<string, MessageAnnotations> {
    const edits = new Map<string, EditRecord[]>();
    for (const e of this.edits) {
      if (!senders.has(e.uid)) continue;
      const sender = senders.get(e.uid);
      if (sender === null || e.by === sender) (edits.get(e.uid) ?? edits.set(e.uid, []).get(e.uid)!).push(e);
    }
    const reactions = new Map<string, Record<string, string[]>>();
    for (const key of this.reactions.keys()) {
      const [u, userId, emoji] = key.split(SEP);
      if (u === undefined || userId === undefined || emoji === undefined || !senders.has(u)) continue;
      const byEmoji = reactions.get(u) ?? reactions.set(u, {}).get(u)!;
      (byEmoji[emoji] ??= []).push(userId);
    }
    const out = new Map<string, MessageAnnotations>();
    for (const uid of senders.keys()) {
      const r = reactions.get(uid) ?? {};
      for (const list of Object.values(r)) list.sort();
      // Like edits, a deletion for everyone only counts when made by the message's author.
      const deleted = this.deleted.get(uid) ?? null;
      const sender = senders.get(uid) ?? null;
      out.set(uid, { edits: edits.get(uid) ?? [], deleted: deleted !== null && (sender === null || deleted.by === sender) ? deleted : null, reactions: r, pinned: this.pins.get(uid) ?? null });
    }
    return out;
  }

  pinnedUids(): string[] {
    return [...this.pins.keys()].sort();
  }

  profile(): GroupProfile {
    const get = (k: string): string | null => {
      const v = this.profileMap.get(k);
      return typeof v === 'string' ? v : null;
    };
    return { name: get('name'), description: get('description'), avatar: this.profileMap.get('avatar') ?? null };
  }

  timer(): DisappearingTimer {
    return { seconds: this.timerMap.get('seconds') ?? 0, since: this.timerMap.get('since') ?? 0 };
  }

  /** The whole state as plain data with sorted keys: equal on two devices exactly when they converged. */
  view(): unknown {
    const sortObj = <T,>(m: Y.Map<T>): [string, T][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      edits: this.edits.toArray(),
      deleted: sortObj(this.deleted),
      reactions: sortObj(this.reactions),
      pins: sortObj(this.pins),
      profile: this.profile(),
      timer: this.timer(),
    };
  }
}
