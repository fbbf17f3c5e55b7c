/**
 * The state layer's core: one Y.Doc per conversation, loaded from the
 * device's storage on first use and saved compacted after every change. Local
 * changes go out as Crdt entries (through `send`, i.e. the durable outbox);
 * other devices' Crdt and Snapshot entries come in through `received` (it is
 * the client's StateSink). Every `SNAPSHOT_EVERY_UPDATES` updates, and when a
 * group's membership changes, the device posts a Snapshot so new and lagging
 * devices can start from it. Side effects on message rows (erasing content
 * deleted for everyone, disappearing messages) run after each change.
 */
import * as Y from 'yjs';
import type { ConversationId, Entry } from '@tidings/shared';
import { EntryType, ErrorCode, TidingsError } from '@tidings/shared';
import { Emitter, type Listener } from '../events/emitter.js';
import type { Message } from '../model/message.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { StateSink } from '../sync/state-sink.js';
import { AccountState } from './account-state.js';
import { ConversationState } from './conversation-state.js';
import { MAX_EXPIRY_SWEEP_MS, MIN_EXPIRY_SWEEP_MS, SNAPSHOT_EVERY_UPDATES } from './limits.js';
import type { DocStore, MessageEraser } from './ports.js';

/** Transaction origin of changes made on this device (only these are sent). */
export const LOCAL = Symbol('local');
const REMOTE = Symbol('remote');

export interface StateLayerEvents {
  /** A conversation's state changed (local or remote); re-read its messages, profile or chat preferences. */
  changed: { readonly conversationId: ConversationId };
  /** Rows were erased or removed on this device (deleted for everyone or for me, or expired). */
  removed: { readonly conversationId: ConversationId; readonly uids: readonly string[] };
}

export interface StateLayerConfig {
  readonly store: DocStore & MessageEraser;
  /** Queues a Crdt (or Snapshot) entry for the conversation; TidingsClient.sendState. */
  readonly send: (conversationId: ConversationId, data: Uint8Array, snapshot: boolean) => Promise<unknown>;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Updates between snapshots; SNAPSHOT_EVERY_UPDATES unless given. */
  readonly snapshotEvery?: number;
  /** Yjs garbage collection of deleted content (default true; false only to measure what it saves). */
  readonly gc?: boolean;
  /** Fixes Y.Doc client ids (seeded simulations); random otherwise. */
  readonly newClientId?: () => number;
}

/** A loaded document and its two views (the self conversation's document holds the account state). */
export interface LoadedDoc {
  readonly doc: Y.Doc;
  readonly conversation: ConversationState;
  readonly account: AccountState;
  sinceSnapshot: number;
  /** Changed since last saved; saved when the conversation's queue drains (a burst of catch-up updates is saved once). */
  dirty: boolean;
  /** Deleted uids whose rows this device already erased. */
  readonly erased: Set<string>;
  expiry: TimerHandle | null;
}

/**
 * Marks state data in Yjs update format v2. Snapshots are sent in v2: its
 * run-length encoding keeps the tombstones of 10,000 reaction toggles in a few
 * hundred bytes, where v1 spends about 4.5 bytes on each. A v1 update starts
 * with a canonical varuint (its client count), and Yjs never writes 0xff 0x00
 * (a non-canonical 127), so data without this prefix is v1: Crdt updates, and
 * snapshots posted before v2.
 */
export const STATE_V2_MAGIC = Uint8Array.of(0xff, 0x00, 0x59, 0x32);

/** A snapshot of the document as Snapshot entry data (format v2, marked). */
export function snapshotData(doc: Y.Doc): Uint8Array {
  const v2 = Y.encodeStateAsUpdateV2(doc);
  const out = new Uint8Array(STATE_V2_MAGIC.length + v2.length);
  out.set(STATE_V2_MAGIC, 0);
  out.set(v2, STATE_V2_MAGIC.length);
  return out;
}

/** The update in Crdt or Snapshot entry data, and its format. */
export function readStateData(data: Uint8Array): { format: 1 | 2; bytes: Uint8Array } {
  const marked = data.length >= STATE_V2_MAGIC.length && STATE_V2_MAGIC.every((b, i) => data[i] === b);
  return marked ? { format: 2, bytes: data.subarray(STATE_V2_MAGIC.length) } : { format: 1, bytes: data };
}

/** Applies an update in its format, as a change from another device. */
function applyTo(doc: Y.Doc, update: { format: 1 | 2; bytes: Uint8Array }): void {
  if (update.format === 2) Y.applyUpdateV2(doc, update.bytes, REMOTE);
  else Y.applyUpdate(doc, update.bytes, REMOTE);
}

/** A state update as received, before it is applied. */
interface Received {
  readonly entry: Entry;
  readonly data: Uint8Array;
}

export class StateLayer implements StateSink {
  private readonly docs = new Map<ConversationId, LoadedDoc>();
  /** Updates held for the batch open on each conversation (see batch). */
  private readonly batches = new Map<ConversationId, Received[]>();
  private readonly queues = new Map<ConversationId, Promise<unknown>>();
  /** Tasks queued per conversation (the last one to finish saves a dirty document). */
  private readonly waiting = new Map<ConversationId, number>();
  private readonly events: Emitter<StateLayerEvents>;
  private readonly logger: Logger;
  private readonly snapshotEvery: number;
  private stopped = false;

  constructor(private readonly config: StateLayerConfig) {
    this.logger = config.logger ?? silentLogger;
    this.events = new Emitter((event, error) => this.logger.error('state listener threw', { event, error: String(error) }));
    this.snapshotEvery = config.snapshotEvery ?? SNAPSHOT_EVERY_UPDATES;
  }

  on<K extends keyof StateLayerEvents>(event: K, listener: Listener<StateLayerEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  /** Loads the given conversations' documents (so their timers run) and applies what they say to the rows. */
  async start(conversationIds: readonly ConversationId[]): Promise<void> {
    this.stopped = false;
    await Promise.all(conversationIds.map((id) => this.serial(id, async () => this.afterChange(id, await this.load(id), false))));
  }

  /** Cancels expiry timers and waits for queued work. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.docs.values()) if (d.expiry !== null) this.config.clock.clearTimeout(d.expiry);
    await Promise.all([...this.queues.values()]);
  }

  /** Runs `read` over the loaded document (serialized with changes). */
  read<T>(conversationId: ConversationId, read: (d: LoadedDoc) => T): Promise<T> {
    return this.serial(conversationId, async () => read(await this.load(conversationId)));
  }

  /** Applies a local change and sends it; a change that changes nothing sends nothing. Throws the change's typed error untouched. */
  mutate(conversationId: ConversationId, change: (d: LoadedDoc) => void): Promise<void> {
    return this.serial(conversationId, async () => {
      const d = await this.load(conversationId);
      if (await this.change(conversationId, d, change)) await this.afterChange(conversationId, d, true);
    });
  }

  /** StateSink: another device's Crdt or Snapshot entry, at least once (held while a batch of its conversation is open). */
  received(conversationId: ConversationId, entry: Entry, data: Uint8Array): Promise<void> {
    const held = this.batches.get(conversationId);
    if (held) {
      held.push({ entry, data });
      return Promise.resolve();
    }
    return this.serial(conversationId, () => this.apply(conversationId, [{ entry, data }]));
  }

  /**
   * StateSink: a page of entries opened as one batch. The updates it brings
   * are applied when `open` is done (before this resolves, so before the
   * page is stored and the cursor moves): the page's latest snapshot first,
   * then the other updates, which it mostly already contains (Yjs skips
   * what a document has, and updates commute), and the work that follows a
   * change — erasing, expiry, saving, one `changed` event — runs once.
   */
  async batch<T>(conversationId: ConversationId, open: () => Promise<T>): Promise<T> {
    if (this.batches.has(conversationId)) return open();
    const held: Received[] = [];
    this.batches.set(conversationId, held);
    try {
      return await open();
    } finally {
      this.batches.delete(conversationId);
      if (held.length > 0) await this.serial(conversationId, () => this.apply(conversationId, held));
    }
  }

    /** Posts a snapshot now (membership changed: new members and devices can only read entries from after they joined). */
  postSnapshot(conversationId: ConversationId): Promise<void> {
    return this.serial(conversationId, async () => {
      const d = await this.load(conversationId);
      if (d.doc.store.clients.size === 0) return;
      await this.snapshot(conversationId, d);
      await this.save(conversationId, d);
    });
  }

  /** A message row arrived or changed: erase it if it was deleted for everyone, remove it if it already expired. */
  async messageArrived(message: Message): Promise<void> {
    const { conversationId, uid } = message;
    const d = this.docs.get(conversationId);
    if (!d) return;
    if (d.conversation.isDeleted(uid) && !(message.content.kind === 'text' && message.content.text === '' && message.body.length === 0)) {
      d.erased.delete(uid);
      await this.serial(conversationId, () => this.eraseDeleted(conversationId, d));
    }
    const { seconds, since } = d.conversation.timer();
    if (seconds > 0 && message.createdAt >= since && message.createdAt + seconds * 1000 <= this.config.clock.now()) {
      await this.serial(conversationId, () => this.expire(conversationId, d));
    }
  }

  /** Delete for me: removes rows on this device only (nothing is sent). */
  async removeForMe(conversationId: ConversationId, uids: readonly string[]): Promise<void> {
    const removed = await this.config.store.removeMessages(uids);
    if (removed.length > 0) this.events.emit('removed', { conversationId, uids: removed });
  }

  // ---- internals ----

  /**
   * Applies received updates (the latest snapshot among them first).
   * Malformed ones are dropped, and so is a Crdt update that adds a record in
   * another user's name (an edit, deletion, pin or reaction whose author is
   * not the entry's MLS-authenticated sender): every device checks the same
   * update against the same sender, so they all drop it alike. The check
   * watches the document while the updates apply; a batch with a forged one
   * is undone by reloading the stored document, then applied without it.
   */
  private async apply(conversationId: ConversationId, items: readonly Received[]): Promise<void> {
    let d = await this.load(conversationId);
    let last = -1;
    items.forEach((item, i) => {
      if (item.entry.type === EntryType.Snapshot) last = i;
    });
    const order = last < 0 ? items : [items[last]!, ...items.filter((_, i) => i !== last)];
    const parsed: { entry: Entry; update: { format: 1 | 2; bytes: Uint8Array }; clients: Set<number> }[] = [];
    for (const { entry, data } of order) {
      try {
        const update = readStateData(data);
        // Decoded first: a malformed update must not touch the document. Its Yjs clients are whose records it adds.
        const { structs } = update.format === 2 ? Y.decodeUpdateV2(update.bytes) : Y.decodeUpdate(update.bytes);
        parsed.push({ entry, update, clients: new Set(structs.map((s) => s.id.client)) });
      } catch (error) {
        this.logger.warn('dropped a malformed state update', { conversationId: String(conversationId), entry: String(entry.id), error: String(error) });
      }
    }
    if (parsed.length === 0) return;
    // The document as stored is the state before this batch (saved first if it was not), so a
    // batch with a forged update can be undone by loading it again.
    if (d.dirty) await this.save(conversationId, d);
    const forged = new Set<number>();
    for (const [i, { entry, update, clients }] of parsed.entries()) {
      const claims = d.conversation.claimsDuring(clients, () => applyTo(d.doc, update));
      // Snapshots are whole documents, vouched for by their poster as a member; only updates are checked.
      if (entry.type === EntryType.Crdt && [...claims].some((user) => user !== String(entry.senderUserId))) forged.add(i);
    }
    if (forged.size > 0) {
      for (const i of forged) {
        const { entry } = parsed[i]!;
        this.logger.warn("dropped a state update with records in another member's name", { conversationId: String(conversationId), entry: String(entry.id), sender: String(entry.senderUserId) });
      }
      d = await this.reload(conversationId, d);
      for (const [i, { update }] of parsed.entries()) if (!forged.has(i)) applyTo(d.doc, update);
      if (forged.size === parsed.length) return;
    }
    // Updates since the last snapshot: those logged after the batch's latest snapshot, or all of them on top of the count.
    d.sinceSnapshot = last < 0 ? d.sinceSnapshot + items.length : items.length - 1 - last;
    await this.afterChange(conversationId, d, true);
  }

  /** Drops the loaded document and loads it again as stored (what this device erased carries over). */
  private async reload(conversationId: ConversationId, old: LoadedDoc): Promise<LoadedDoc> {
    if (old.expiry !== null) this.config.clock.clearTimeout(old.expiry);
    this.docs.delete(conversationId);
    old.doc.destroy();
    const d = await this.load(conversationId);
    for (const uid of old.erased) d.erased.add(uid);
    return d;
  }

  private async change(conversationId: ConversationId, d: LoadedDoc, change: (d: LoadedDoc) => void): Promise<boolean> {
    const updates: Uint8Array[] = [];
    const collect = (update: Uint8Array, origin: unknown): void => {
      if (origin === LOCAL) updates.push(update);
    };
    d.doc.on('update', collect);
    try {
      change(d);
    } finally {
      d.doc.off('update', collect);
    }
    if (updates.length === 0) return false;
    d.sinceSnapshot += 1;
    // Saved before it is queued: after a crash in between, the next snapshot still carries it.
    await this.save(conversationId, d);
    await this.config.send(conversationId, updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), false);
    return true;
  }

  private async afterChange(conversationId: ConversationId, d: LoadedDoc, changed: boolean): Promise<void> {
    // A concurrent edit, reaction or pin that merged in after a delete for everyone is purged, by whichever device sees it.
    const leftovers = d.conversation.leftovers();
    if (leftovers.length > 0) await this.change(conversationId, d, () => leftovers.forEach((uid) => d.conversation.purge(uid, LOCAL)));
    if (d.sinceSnapshot >= this.snapshotEvery) await this.snapshot(conversationId, d);
    if (changed) d.dirty = true;
    await this.eraseDeleted(conversationId, d);
    await this.expire(conversationId, d);
    if (changed) this.events.emit('changed', { conversationId });
  }

  /**
   * Posts the whole document as a Snapshot entry. A document too large for one
   * entry (payload_too_large) is not snapshotted; the change that triggered it
   * stands, and devices that can read the updates still converge.
   */
  private async snapshot(conversationId: ConversationId, d: LoadedDoc): Promise<void> {
    d.sinceSnapshot = 0;
    try {
      await this.config.send(conversationId, snapshotData(d.doc), true);
    } catch (error) {
      if (!(error instanceof TidingsError) || error.code !== ErrorCode.PayloadTooLarge) throw error;
      this.logger.warn('state document too large for a snapshot entry', { conversationId: String(conversationId), error: error.message });
    }
  }

  private async eraseDeleted(conversationId: ConversationId, d: LoadedDoc): Promise<void> {
    const uids: string[] = [];
    for (const uid of d.conversation.deletedUids()) {
      if (d.erased.has(uid)) continue;
      d.erased.add(uid);
      if (await this.config.store.eraseMessage(uid, d.conversation.deletedBy(uid) ?? '')) uids.push(uid);
    }
    if (uids.length > 0) this.events.emit('removed', { conversationId, uids });
  }

  /** Removes expired rows and schedules the next sweep while the timer is on. */
  private async expire(conversationId: ConversationId, d: LoadedDoc): Promise<void> {
    const { clock } = this.config;
    if (d.expiry !== null) clock.clearTimeout(d.expiry);
    d.expiry = null;
    const { seconds, since } = d.conversation.timer();
    if (seconds === 0 || this.stopped) return;
    const uids = await this.config.store.expireMessages(conversationId, since, clock.now() - seconds * 1000);
    if (uids.length > 0) this.events.emit('removed', { conversationId, uids });
    const every = Math.min(MAX_EXPIRY_SWEEP_MS, Math.max(MIN_EXPIRY_SWEEP_MS, (seconds * 1000) / 4));
    d.expiry = clock.setTimeout(() => void this.serial(conversationId, () => this.expire(conversationId, d)).catch((error: unknown) => this.logger.warn('expiry sweep failed', { error: String(error) })), every);
  }

  private async save(conversationId: ConversationId, d: LoadedDoc): Promise<void> {
    d.dirty = false;
    await this.config.store.saveDoc(conversationId, { state: Y.encodeStateAsUpdateV2(d.doc), format: 2, sinceSnapshot: d.sinceSnapshot });
  }

  private async load(conversationId: ConversationId): Promise<LoadedDoc> {
    const existing = this.docs.get(conversationId);
    if (existing) return existing;
    const doc = new Y.Doc({ gc: this.config.gc ?? true });
    if (this.config.newClientId) doc.clientID = this.config.newClientId();
    const stored = await this.config.store.loadDoc(conversationId);
    if (stored?.format === 2) Y.applyUpdateV2(doc, stored.state, REMOTE);
    else if (stored) Y.applyUpdate(doc, stored.state, REMOTE);
    const d: LoadedDoc = {
      doc,
      conversation: new ConversationState(doc),
      account: new AccountState(doc),
      sinceSnapshot: stored?.sinceSnapshot ?? 0,
      dirty: false,
      erased: new Set(),
      expiry: null,
    };
    this.docs.set(conversationId, d);
    return d;
  }

  /** One task at a time per conversation, in call order. */
  private serial<T>(conversationId: ConversationId, task: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(conversationId) ?? Promise.resolve();
    this.waiting.set(conversationId, (this.waiting.get(conversationId) ?? 0) + 1);
    const run = async (): Promise<T> => {
      try {
        return await task();
      } finally {
        const left = (this.waiting.get(conversationId) ?? 1) - 1;
        this.waiting.set(conversationId, left);
        const d = this.docs.get(conversationId);
        if (left === 0 && d?.dirty) await this.save(conversationId, d);
      }
    };
    const next = prev.then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(conversationId, settled);
    return next;
  }
}
