/**
 * Reads a conversation's log through its MLS group, in log order: Commits
 * advance the group (ours are confirmed, others' applied), application
 * messages are decrypted and checked against the entry's sender. Entries that
 * arrive before the group exists are held and replayed once it appears; the
 * cursor never waits for keys.
 */
import { EntryType, peekMlsHeader, type ConversationId, type Entry, type EntryId } from '@tidings/shared';
import { bytesEqual } from '../e2ee/bytes.js';
import { isE2eeError } from '../e2ee/errors.js';
import type { MlsGroup, PendingCommit } from '../e2ee/group.js';
import { isMessageType, type MessageContent } from '../model/message.js';
import { parseSystemEvent } from '../model/system-event.js';
import type { GroupWrite, OpenedEntry } from '../replica/replica.js';
import type { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';
import { decodePayload } from './payload.js';
import { messageContentOf } from '../envelope/content.js';

/** Why a message shows as unreadable (stable strings, shown to users by apps). */
export const Unreadable = {
  /** The group's keys have not arrived yet (the Welcome is on its way); reopened when they do. */
  AwaitingKeys: 'awaiting_keys',
  /** Sent before this device joined the group, and no history covered it. */
  BeforeJoin: 'sent before this device joined',
  /** This device sent it but no longer has the plaintext. */
  OwnMessage: 'sent by this device',
  /** The MLS sender is not the device the server says sent it. */
  SenderMismatch: 'sender mismatch',
} as const;

/** A page of entries opened, and the group states its opening left, to be stored with it in one transaction. */
export interface OpenedPage {
  readonly entries: OpenedEntry[];
  readonly groups: GroupWrite[];
}

/**
 * Splits a page of entries at its Commits: every part but the first starts
 * with one. A Commit saves its group the moment it applies, ratchet steps
 * and all, so the messages before it are stored first, in their own
 * transaction with the group state they left; the ones after it go with it.
 */
export function partsAtCommits(entries: readonly Entry[]): Entry[][] {
  const parts: Entry[][] = [];
  let part: Entry[] = [];
  for (const entry of entries) {
    if (entry.type === EntryType.Mls && part.length > 0) {
      parts.push(part);
      part = [];
    }
    part.push(entry);
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/** What to do after a Commit of ours or another's was processed. */
export interface CommitEvents {
  confirmed(group: MlsGroup, commit: PendingCommit): Promise<void>;
  applied(group: MlsGroup, superseded: PendingCommit | undefined): Promise<void>;
  /** Our epoch-0 group lost to another device's first Commit: it was discarded. */
  lostCreation(conversationId: ConversationId): Promise<void>;
}

const unreadable = (reason: string): MessageContent => ({ kind: 'unreadable', reason });
const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function epochOf(body: Uint8Array): bigint | undefined {
  try {
    return peekMlsHeader(body).epoch;
  } catch {
    return undefined;
  }
}

export class LogReader {
  constructor(
    private readonly host: E2eeHost,
    private readonly groups: GroupCache,
    private readonly events: CommitEvents,
  ) {}

  /**
   * Opens committed entries of one conversation, oldest first. A group that
   * only decrypted is not written here: its state is returned with the page,
   * for the caller to store in the same transaction as the page's rows (one
   * write per batch, not per message: serializing a group and an IndexedDB
   * transaction per message dominated catch-up, issue #11). A decryption's
   * keys are gone once used, so a ratchet step stored without its rows (the
   * write failed, the app closed between two transactions) made those
   * messages unreadable for good. When opening fails part-way, or the caller
   * cannot store the page, the groups go back to their stored state
   * (`GroupCache.forget`) and the entries open again when they come again.
   * Commits still save at once, so the caller splits pages at them
   * (`partsAtCommits`).
   *
   * In a batch of several entries, consecutive messages are opened with their
   * signature checks deferred (`verifyLater`): each check runs off this
   * thread while the next message decrypts, and all of them are awaited
   * before anything else happens (a Commit, a state update, the end of the
   * batch). If one fails, the group goes back to before those messages and
   * they are opened again one by one, checked at once, so the bad one is
   * found and shown as unreadable exactly as without deferral.
   */
  async open(conversationId: ConversationId, entries: readonly Entry[]): Promise<OpenedPage> {
    const out: OpenedEntry[] = [];
    const ratcheted = new Set<MlsGroup>();
    const unchecked = new Set<MlsGroup>();
    const verifyLater = entries.length > 1; // a single entry has nothing to overlap its check with
    try {
      await this.host.stateBatch(conversationId, async () => {
        let runStart = -1; // index of the first entry opened unchecked, if any are
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i]!;
          // A message's opening changes nothing but the group's ratchet, so its check can wait (unlike a Commit or state).
          if (verifyLater && isMessageType(entry.type)) {
            if (runStart < 0) runStart = i;
            out.push({ entry, content: await this.message(conversationId, entry, false, ratcheted, unchecked) });
            continue;
          }
          if (runStart >= 0) await this.settle(conversationId, entries.slice(runStart, i), out, ratcheted, unchecked);
          runStart = -1;
          out.push({ entry, content: await this.openOne(conversationId, entry, false, ratcheted) });
        }
        if (runStart >= 0) await this.settle(conversationId, entries.slice(runStart), out, ratcheted, unchecked);
      });
    } catch (error) {
      for (const group of unchecked) await group.verifyPending(); // its outstanding checks, before the group is dropped
      this.unstored([...ratcheted].map((g) => g.conversationId));
      throw error;
    }
    return { entries: out, groups: [...ratcheted].map((g) => ({ conversationId: g.conversationId, bytes: g.serialize() })) };
  }

  /** The page these groups' states came with was not stored: back to the stored states. */
  unstored(conversationIds: readonly ConversationId[]): void {
    for (const id of conversationIds) this.groups.forget(id);
  }

  /**
   * Waits for the deferred signature checks of `run`, the last entries in
   * `out`. When one failed, the groups are back before the run: it is opened
   * again with each check awaited, replacing its results in `out`.
   */
  private async settle(conversationId: ConversationId, run: readonly Entry[], out: OpenedEntry[], ratcheted: Set<MlsGroup>, unchecked: Set<MlsGroup>): Promise<void> {
    let passed = true;
    for (const group of unchecked) passed = (await group.verifyPending()) && passed;
    unchecked.clear();
    if (passed) return;
    this.host.logger.warn('MLS signature check failed in a batch; opening it again message by message', { conversationId: String(conversationId), entries: run.length });
    out.length -= run.length;
    for (const entry of run) out.push({ entry, content: await this.message(conversationId, entry, false, ratcheted) });
  }

  /**
   * The group appeared: processes held entries in order and updates the rows
   * they made. What the messages opened to, the group state after them and
   * the release of the held entries go in one transaction (`settleHeld`),
   * written before each Commit (which saves the group itself) and at the end;
   * if a write fails the group goes back to its stored state and the held
   * entries stay, to be opened again.
   */
  async replay(conversationId: ConversationId): Promise<void> {
    const { replica } = this.host;
    const held = await replica.held(conversationId);
    const ratcheted = new Set<MlsGroup>();
    let contents: { id: EntryId; content: MessageContent }[] = [];
    let done: EntryId[] = [];
    const settle = async (): Promise<void> => {
      if (done.length === 0) return;
      const groups = [...ratcheted].map((g) => ({ conversationId: g.conversationId, bytes: g.serialize() }));
      const changed = await replica.settleHeld(conversationId, contents, done, groups);
      ratcheted.clear();
      contents = [];
      done = [];
      for (const message of changed) this.host.messageChanged(message);
    };
    try {
      for (const entry of held) {
        if (entry.type === EntryType.Mls) await settle(); // a Commit saves the group: what came before it is stored first
        const content = await this.openOne(conversationId, entry, true, ratcheted);
        done.push(entry.id);
        if (content !== null) contents.push({ id: entry.id, content });
      }
      await settle();
    } catch (error) {
      this.unstored([...ratcheted].map((g) => g.conversationId));
      throw error;
    }
  }

  /** `ratcheted`: collects groups whose decrypts are still unsaved (the caller saves them); without it each decrypt saves. */
  private async openOne(conversationId: ConversationId, entry: Entry, replaying: boolean, ratcheted?: Set<MlsGroup>): Promise<MessageContent | null> {
    switch (entry.type) {
      case EntryType.System:
        try {
          return { kind: 'system', event: parseSystemEvent(entry.body) };
        } catch (error) {
          return unreadable(reasonOf(error));
        }
      case EntryType.Mls:
        await this.commit(conversationId, entry, replaying);
        return null;
      case EntryType.Text:
      case EntryType.Media:
      case EntryType.Document:
        return this.message(conversationId, entry, replaying, ratcheted);
      case EntryType.Crdt:
      case EntryType.Snapshot:
        await this.state(conversationId, entry, replaying, ratcheted);
        return null;
      default: {
        const never: never = entry.type;
        throw new TypeError(`unknown entry type ${String(never)}`);
      }
    }
  }

  private async commit(conversationId: ConversationId, entry: Entry, replaying: boolean): Promise<void> {
    const { logger, replica } = this.host;
    const group = await this.groups.get(conversationId);
    if (group === undefined) {
      if (!replaying) await replica.hold(entry);
      return;
    }
    const epoch = epochOf(entry.body);
    const pending = group.pending;
    if (epoch === undefined || epoch < group.epoch) return; // before we joined, or already applied
    if (group.epoch === 0n && epoch === 0n && pending !== undefined && !bytesEqual(pending.commit, entry.body)) {
      // Another device's group won epoch 0: ours never existed for anyone else. Wait for its Welcome.
      await this.groups.discard(conversationId);
      await replica.hold(entry);
      await this.events.lostCreation(conversationId);
      return;
    }
    if (epoch > group.epoch || !group.active) {
      logger.warn('MLS Commit skipped', { conversationId: String(conversationId), epoch: String(epoch), groupEpoch: String(group.epoch) });
      return;
    }
    let outcome;
    try {
      outcome = await group.processCommit(entry.body);
    } catch (error) {
      logger.warn('MLS Commit rejected', { conversationId: String(conversationId), error: reasonOf(error) });
      return;
    }
    await this.groups.save(group);
    this.host.groupChanged(conversationId, group.epoch);
    if (outcome.kind === 'confirmed' && pending !== undefined) await this.events.confirmed(group, pending);
    else if (outcome.kind === 'applied') await this.events.applied(group, outcome.superseded);
  }

  /** `unchecked`: open with the signature check deferred, collecting the group (see `open`). */
  private async message(conversationId: ConversationId, entry: Entry, replaying: boolean, ratcheted?: Set<MlsGroup>, unchecked?: Set<MlsGroup>): Promise<MessageContent> {
    const { credentials, replica } = this.host;
    if (entry.senderDeviceId === credentials.deviceId) return unreadable(Unreadable.OwnMessage); // the local row keeps its plaintext
    const group = await this.groups.get(conversationId);
    if (group === undefined) {
      if (epochOf(entry.body) === undefined) return unreadable('not an MLS message');
      if (!replaying) await replica.hold(entry);
      return unreadable(Unreadable.AwaitingKeys);
    }
    let decrypted;
    try {
      if (unchecked === undefined) decrypted = await group.decrypt(entry.body);
      else {
        unchecked.add(group);
        decrypted = await group.decrypt(entry.body, { verifyLater: true });
      }
    } catch (error) {
      const fromHistory = await replica.historyContent(conversationId, entry.id);
      if (fromHistory !== null) return fromHistory;
      return unreadable(isE2eeError(error, 'stale_epoch') ? Unreadable.BeforeJoin : reasonOf(error));
    }
    await this.ratcheted(group, ratcheted);
    if (decrypted.sender.userId !== entry.senderUserId || decrypted.sender.deviceId !== entry.senderDeviceId) {
      return unreadable(Unreadable.SenderMismatch);
    }
    try {
      const payload = decodePayload(decrypted.plaintext);
      if (payload.t === 'history') return unreadable('not a chat message');
      return messageContentOf(entry.type, payload) ?? unreadable('not a chat message');
    } catch (error) {
      return unreadable(reasonOf(error));
    }
  }

  /** After a decrypt: save now, or leave it to the batch. */
  private async ratcheted(group: MlsGroup, batch: Set<MlsGroup> | undefined): Promise<void> {
    if (batch === undefined) await this.groups.save(group);
    else batch.add(group);
  }

  /** A state update (Crdt or Snapshot entry) of another device goes to the state layer; never a message row. */
  private async state(conversationId: ConversationId, entry: Entry, replaying: boolean, ratcheted?: Set<MlsGroup>): Promise<void> {
    const { credentials, logger, replica } = this.host;
    if (entry.senderDeviceId === credentials.deviceId) return; // applied locally when it was made
    const group = await this.groups.get(conversationId);
    if (group === undefined) {
      if (!replaying && epochOf(entry.body) !== undefined) await replica.hold(entry);
      return;
    }
    let decrypted;
    try {
      decrypted = await group.decrypt(entry.body);
    } catch (error) {
      logger.warn('state update unreadable', { conversationId: String(conversationId), id: String(entry.id), error: reasonOf(error) });
      return;
    }
    await this.ratcheted(group, ratcheted);
    if (decrypted.sender.userId !== entry.senderUserId || decrypted.sender.deviceId !== entry.senderDeviceId) {
      logger.warn('state update sender mismatch', { conversationId: String(conversationId), id: String(entry.id) });
      return;
    }
    let payload;
    try {
      payload = decodePayload(decrypted.plaintext);
    } catch (error) {
      logger.warn('state update malformed', { conversationId: String(conversationId), id: String(entry.id), error: reasonOf(error) });
      return;
    }
    if (payload.t !== 'state') {
      logger.warn('state entry without state content', { conversationId: String(conversationId), id: String(entry.id) });
      return;
    }
    await this.host.stateReceived(conversationId, entry, payload.data);
  }
}
