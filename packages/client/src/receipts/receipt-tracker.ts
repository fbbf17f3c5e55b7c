/**
 * The engine's receipts subsystem: stores the server's receipt positions,
 * acks what this device stored and read (coalesced by AckScheduler), derives
 * delivery states and unread counts from the replica, and re-acks whatever the
 * server turns out not to have (an ack lost with its socket).
 */
import {
  ErrorCode,
  TidingsError,
  type ConversationId,
  type EntryId,
  type ReceiptItem,
  type UserId,
} from '@tidings/shared';
import { isCountable, type Message } from '../model/message.js';
import type { MemberReceipt, ReceiptsChange, UnreadChange } from '../model/receipt.js';
import type { Replica } from '../replica/replica.js';
import type { AckScheduler } from './ack-scheduler.js';
import { deliveryState, memberReceipts, summarize, type ReceiptInputs, type ReceiptSummary } from './delivery.js';

export interface ReceiptSink {
  receipts(change: ReceiptsChange): void;
  unread(change: UnreadChange): void;
}

export class ReceiptTracker {
  /** Per conversation: members and positions, loaded once and dropped whenever either changes. */
  private readonly inputs = new Map<ConversationId, Promise<ReceiptInputs>>();

  constructor(
    private readonly replica: Replica,
    private readonly self: UserId,
    private readonly acks: AckScheduler,
    private readonly sink: ReceiptSink,
    /** False while the user's own read receipts are off. */
    private readonly readVisible: () => boolean,
  ) {}

  /** A `receipts` frame: store it, re-ack what the server lacks, tell the app. */
  async received(conversationId: ConversationId, items: readonly ReceiptItem[]): Promise<void> {
    const own = items.find((i) => i.userId === this.self);
    if (own) await this.reackIfBehind(conversationId, own);
    const changed = await this.replica.applyReceipts(conversationId, items, this.self);
    if (changed.length === 0) return;
    this.inputs.delete(conversationId);
    this.sink.receipts({ conversationId, items: changed });
    if (changed.some((i) => i.userId === this.self)) await this.emitUnread(conversationId);
  }

  /** Entries up to `upto` are durably stored; `messages` are the rows that changed. */
  async stored(conversationId: ConversationId, upto: EntryId, messages: readonly Message[]): Promise<void> {
    this.acks.delivered(conversationId, upto);
    if (messages.some((m) => m.senderUserId !== this.self && isCountable(m.type))) await this.emitUnread(conversationId);
  }

  /** Advances the user's read position (default: the newest stored message) and acks it. */
  async markRead(conversationId: ConversationId, upto?: EntryId): Promise<void> {
    const conversation = await this.replica.conversation(conversationId);
    if (!conversation) throw new TidingsError(ErrorCode.NotFound, `unknown conversation ${conversationId}`);
    const newest = upto ?? (await this.replica.newestMessageId(conversationId));
    if (newest === null) return;
    // Nothing can be read that is not stored here.
    const position = (newest < conversation.cursor ? newest : conversation.cursor) as EntryId;
    if (position === 0n) return;
    const changed = await this.replica.applyReceipts(conversationId, [{ userId: this.self, delivered: position, read: position }], this.self);
    if (!changed.some((i) => i.userId === this.self)) return;
    this.acks.read(conversationId, position);
    this.inputs.delete(conversationId);
    this.sink.receipts({ conversationId, items: changed });
    await this.emitUnread(conversationId);
  }

  /** The conversation's members changed. */
  membersChanged(conversationId: ConversationId): void {
    this.inputs.delete(conversationId);
  }

  /** The user's privacy settings changed. */
  settingsChanged(): void {
    this.inputs.clear();
  }

  /** Sets the derived state of one's own committed messages. */
  async decorate(messages: readonly Message[]): Promise<Message[]> {
    const summaries = new Map<ConversationId, ReceiptSummary>();
    const out: Message[] = [];
    for (const m of messages) {
      if (m.senderUserId !== this.self || m.id === null) {
        out.push(m);
        continue;
      }
      let summary = summaries.get(m.conversationId);
      if (!summary) {
        summary = summarize(this.self, await this.inputsOf(m.conversationId));
        summaries.set(m.conversationId, summary);
      }
      const state = deliveryState(m, this.self, summary);
      out.push(state === m.state ? m : { ...m, state });
    }
    return out;
  }

  /** Each other member's positions relative to one message. */
  async detail(conversationId: ConversationId, messageId: EntryId): Promise<MemberReceipt[]> {
    return memberReceipts(this.self, await this.inputsOf(conversationId), messageId);
  }

  unread(conversationId: ConversationId): Promise<number> {
    return this.replica.unreadCount(conversationId, this.self);
  }

  private async emitUnread(conversationId: ConversationId): Promise<void> {
    this.sink.unread({ conversationId, count: await this.unread(conversationId) });
  }

  /** The server's view of our own positions is behind what this device has: ack again. */
  private async reackIfBehind(conversationId: ConversationId, server: ReceiptItem): Promise<void> {
    const conversation = await this.replica.conversation(conversationId);
    if (conversation && conversation.cursor > server.delivered) this.acks.delivered(conversationId, conversation.cursor);
    const local = (await this.replica.receipts(conversationId)).find((i) => i.userId === this.self);
    if (local && local.read > server.read) this.acks.read(conversationId, local.read);
  }

  private inputsOf(conversationId: ConversationId): Promise<ReceiptInputs> {
    let inputs = this.inputs.get(conversationId);
    if (!inputs) {
      const readVisible = this.readVisible();
      inputs = Promise.all([this.replica.conversation(conversationId), this.replica.receipts(conversationId)]).then(
        ([conversation, positions]) => ({ members: conversation?.members ?? [], positions, readVisible }),
      );
      this.inputs.set(conversationId, inputs);
      void inputs.catch(() => this.inputs.delete(conversationId));
    }
    return inputs;
  }
}
