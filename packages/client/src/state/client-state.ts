/**
 * The app's face of convergent state (`client.crdt`): edit, delete, react,
 * pin, group profile and disappearing timer per conversation; archive, mute,
 * pin, drafts and privacy preferences in the account document (the self
 * conversation). Checks who may do what against the replica, then changes the
 * document through the StateLayer. Also decorates messages as the app reads them.
 */
import { ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import type { MessageAnnotations } from '../model/annotations.js';
import type { Conversation } from '../model/conversation.js';
import type { Message } from '../model/message.js';
import type { PrivacySettings } from '../model/settings.js';
import type { Clock } from '../runtime/clock.js';
import type { AccountState, ChatPrefs } from './account-state.js';
import type { DisappearingTimer, GroupProfile } from './conversation-state.js';
import { LOCAL, type StateLayer, type StateLayerEvents } from './state-layer.js';
import type { Listener } from '../events/emitter.js';

export interface ClientStateDeps {
  readonly layer: StateLayer;
  readonly self: string;
  readonly clock: Clock;
  readonly lookup: {
    message(uid: string): Promise<Message | null>;
    conversation(id: ConversationId): Promise<Conversation | null>;
    conversations(): Promise<Conversation[]>;
  };
  /** Tells the server the conversation's retention (it cannot read the encrypted timer). */
  readonly setRetention: (conversationId: ConversationId, seconds: number) => Promise<void>;
}

const notFound = (what: string): TidingsError => new TidingsError(ErrorCode.NotFound, what);

export class ClientState {
  constructor(private readonly deps: ClientStateDeps) {}

  on<K extends keyof StateLayerEvents>(event: K, listener: Listener<StateLayerEvents[K]>): () => void {
    return this.deps.layer.on(event, listener);
  }

  // ---- messages ----

  /** Replaces the text of one's own text message (or the caption of one's media); the history is kept. */
  async editMessage(conversationId: ConversationId, uid: string, text: string): Promise<void> {
    await this.ownMessage(conversationId, uid);
    await this.deps.layer.mutate(conversationId, (d) => d.conversation.edit(uid, text, this.deps.self, this.deps.clock.now(), LOCAL));
  }

  /** Deletes one's own message on every device: its content, edits, reactions and pin are removed. */
  async deleteForEveryone(conversationId: ConversationId, uid: string): Promise<void> {
    await this.ownMessage(conversationId, uid);
    await this.deps.layer.mutate(conversationId, (d) => d.conversation.deleteForEveryone(uid, this.deps.self, this.deps.clock.now(), LOCAL));
  }

  /** Removes messages from this device only. */
  async deleteForMe(conversationId: ConversationId, uids: readonly string[]): Promise<void> {
    for (const uid of uids) await this.messageIn(conversationId, uid);
    await this.deps.layer.removeForMe(conversationId, uids);
  }

  async react(conversationId: ConversationId, uid: string, emoji: string, on = true): Promise<void> {
    await this.messageIn(conversationId, uid);
    await this.deps.layer.mutate(conversationId, (d) => d.conversation.react(uid, this.deps.self, emoji, on, LOCAL));
  }

  async pin(conversationId: ConversationId, uid: string, on = true): Promise<void> {
    await this.messageIn(conversationId, uid);
    await this.deps.layer.mutate(conversationId, (d) => d.conversation.pin(uid, this.deps.self, this.deps.clock.now(), on, LOCAL));
  }

  // ---- conversation ----

  renameGroup(groupId: ConversationId, name: string): Promise<void> {
    return this.setGroupProfile(groupId, { name });
  }

  async setGroupProfile(groupId: ConversationId, patch: Partial<GroupProfile>): Promise<void> {
    const c = await this.member(groupId);
    if (c.kind !== 'group') throw new TidingsError(ErrorCode.InvalidArgument, 'only groups have a name, description and avatar');
    await this.deps.layer.mutate(groupId, (d) => d.conversation.setProfile(patch, LOCAL));
  }

  /** Sets the disappearing-messages timer (0 turns it off) for every device, and tells the server to drop ciphertext after it. */
  async setDisappearingTimer(conversationId: ConversationId, seconds: number): Promise<void> {
    await this.member(conversationId);
    await this.deps.layer.mutate(conversationId, (d) => d.conversation.setTimer(seconds, this.deps.clock.now(), LOCAL));
    await this.deps.setRetention(conversationId, seconds);
  }

  profile(conversationId: ConversationId): Promise<GroupProfile> {
    return this.deps.layer.read(conversationId, (d) => d.conversation.profile());
  }

  timer(conversationId: ConversationId): Promise<DisappearingTimer> {
    return this.deps.layer.read(conversationId, (d) => d.conversation.timer());
  }

  pinnedMessages(conversationId: ConversationId): Promise<string[]> {
    return this.deps.layer.read(conversationId, (d) => d.conversation.pinnedUids());
  }

  annotations(message: Message): Promise<MessageAnnotations> {
    return this.deps.layer.read(message.conversationId, (d) => d.conversation.annotations(message.uid, String(message.senderUserId)));
  }

  /** Messages as the app shows them: current edited text, and annotations when the state says anything. */
  async decorate(messages: readonly Message[]): Promise<Message[]> {
    const byConversation = new Map<ConversationId, Map<string, string | null>>();
    for (const m of messages) (byConversation.get(m.conversationId) ?? byConversation.set(m.conversationId, new Map()).get(m.conversationId)!).set(m.uid, String(m.senderUserId));
    const found = new Map<string, MessageAnnotations>();
    for (const [conversationId, senders] of byConversation) {
      for (const [uid, a] of await this.deps.layer.read(conversationId, (d) => d.conversation.annotationsOf(senders))) found.set(uid, a);
    }
    return messages.map((m) => {
      const a = found.get(m.uid);
      const said = a && (a.edits.length > 0 || a.deleted !== null || a.pinned !== null || Object.keys(a.reactions).length > 0);
      if (!a || !said) return m;
      const last = a.edits.at(-1);
      const content = last && m.content.kind === 'text' ? { kind: 'text' as const, text: last.text } : last && m.content.kind === 'media' ? { ...m.content, caption: last.text } : m.content;
      return { ...m, content, annotations: a };
    });
  }

  // ---- account (self conversation) ----

  archive(conversationId: ConversationId, on = true): Promise<void> {
    return this.account(conversationId, (a, id) => a.archive(id, on, LOCAL));
  }

  /** Mutes until a time (ms), for ever (Infinity), or unmutes (0). */
  mute(conversationId: ConversationId, until = Infinity): Promise<void> {
    return this.account(conversationId, (a, id) => a.mute(id, until, LOCAL));
  }

  pinChat(conversationId: ConversationId, on = true): Promise<void> {
    return this.account(conversationId, (a, id) => a.pinChat(id, on ? this.deps.clock.now() : null, LOCAL));
  }

  setDraft(conversationId: ConversationId, text: string): Promise<void> {
    return this.account(conversationId, (a, id) => a.setDraft(id, text, LOCAL));
  }

  async setPrivacy(patch: Partial<PrivacySettings>): Promise<void> {
    await this.deps.layer.mutate(await this.selfConversation(), (d) => d.account.setPrivacy(patch, LOCAL));
  }

  async chat(conversationId: ConversationId): Promise<ChatPrefs> {
    return this.deps.layer.read(await this.selfConversation(), (d) => d.account.chat(String(conversationId)));
  }

  async pinnedChats(): Promise<string[]> {
    return this.deps.layer.read(await this.selfConversation(), (d) => d.account.pinnedChats());
  }

  async archivedChats(): Promise<string[]> {
    return this.deps.layer.read(await this.selfConversation(), (d) => d.account.archivedChats());
  }

  async privacy(): Promise<Partial<PrivacySettings>> {
    return this.deps.layer.read(await this.selfConversation(), (d) => d.account.privacy());
  }

  // ---- checks ----

  private async account(conversationId: ConversationId, change: (a: AccountState, id: string) => void): Promise<void> {
    if (!(await this.deps.lookup.conversation(conversationId))) throw notFound('no such conversation');
    await this.deps.layer.mutate(await this.selfConversation(), (d) => change(d.account, String(conversationId)));
  }

  private async selfConversation(): Promise<ConversationId> {
    const self = (await this.deps.lookup.conversations()).find((c) => c.kind === 'self');
    if (!self) throw new TidingsError(ErrorCode.Unavailable, 'the self conversation is not known yet (connect once)');
    return self.id;
  }

  private async member(conversationId: ConversationId): Promise<Conversation> {
    const c = await this.deps.lookup.conversation(conversationId);
    if (!c) throw notFound('no such conversation');
    if (c.left) throw new TidingsError(ErrorCode.NotAMember, 'no longer a member of this conversation');
    return c;
  }

  private async messageIn(conversationId: ConversationId, uid: string): Promise<Message> {
    await this.member(conversationId);
    const m = await this.deps.lookup.message(uid);
    if (!m || m.conversationId !== conversationId) throw notFound('no such message in this conversation');
    return m;
  }

  private async ownMessage(conversationId: ConversationId, uid: string): Promise<Message> {
    const m = await this.messageIn(conversationId, uid);
    if (String(m.senderUserId) !== this.deps.self) throw new TidingsError(ErrorCode.Forbidden, 'only the sender may edit or delete a message for everyone');
    if (m.content.kind !== 'text' && m.content.kind !== 'media') throw new TidingsError(ErrorCode.InvalidArgument, 'only text and media messages can be edited or deleted');
    return m;
  }
}
