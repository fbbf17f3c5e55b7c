/**
 * Per-message actions on a conversation's convergent (CRDT) state, and the
 * re-read a view does when that state changes: kept out of host.ts so the host
 * stays a host. Every action goes through `client.crdt`, which checks
 * ownership and membership and throws a typed error otherwise.
 */
import { ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import type { Message, TidingsClient } from '@tidings/client';
import {
  MAX_REFRESH,
  type ChatAction,
  type ConversationAction,
  type ConversationStateView,
  type MessageAction,
  type MessageVersion,
  type MessageView,
  type PinnedView,
} from './api.js';
import { toView } from './views.js';

/** Applies one action to one message of a conversation. */
export async function applyMessageAction(client: TidingsClient, id: ConversationId, uid: string, action: MessageAction): Promise<void> {
  switch (action.type) {
    case 'react':
      return client.crdt.react(id, uid, action.emoji, action.on);
    case 'edit':
      return client.crdt.editMessage(id, uid, action.text);
    case 'deleteForEveryone':
      return client.crdt.deleteForEveryone(id, uid);
    case 'deleteForMe':
      return client.crdt.deleteForMe(id, [uid]);
    case 'pin':
      return client.crdt.pin(id, uid, action.on);
  }
}

/** Sets or clears one chat-list flag (account state). */
export async function applyChatAction(client: TidingsClient, id: ConversationId, action: ChatAction): Promise<void> {
  switch (action.type) {
    case 'archive':
      return client.crdt.archive(id, action.on);
    case 'mute':
      return client.crdt.mute(id, action.on ? (action.until ?? Infinity) : 0);
    case 'pin':
      return client.crdt.pinChat(id, action.on);
  }
}

/** Changes a conversation's group profile or disappearing timer (the client checks membership and kind). */
export async function applyConversationAction(client: TidingsClient, id: ConversationId, action: ConversationAction): Promise<void> {
  switch (action.type) {
    case 'profile': {
      const patch = { ...(action.name === undefined ? {} : { name: action.name.trim() }), ...(action.description === undefined ? {} : { description: action.description.trim() }) };
      return client.crdt.setGroupProfile(id, patch);
    }
    case 'timer':
      return client.crdt.setDisappearingTimer(id, action.seconds);
  }
}

type Replica = { message(uid: string): Promise<Message | null> };

/** Description, timer and pinned messages; pins of messages not on this device (expired, deleted for me) are left out. */
export async function conversationState(client: TidingsClient, replica: Replica, id: ConversationId): Promise<ConversationStateView> {
  const [profile, timer, uids] = await Promise.all([client.crdt.profile(id), client.crdt.timer(id), client.crdt.pinnedMessages(id)]);
  const rows = await Promise.all(uids.slice(-MAX_REFRESH).map((uid) => replica.message(uid)));
  const decorated = await client.crdt.decorate(rows.filter((m): m is Message => m !== null && m.conversationId === id));
  const pinned: PinnedView[] = [];
  for (const m of decorated) {
    const at = m.annotations?.pinned?.at;
    if (at !== undefined && m.annotations?.deleted == null) pinned.push({ message: toView(m), at });
  }
  pinned.sort((a, b) => a.at - b.at);
  return { description: profile.description, disappearingSeconds: timer.seconds, pinned };
}

/** The original text of a text message (or a media caption), then every edit by its sender, oldest first. */
export async function editHistory(client: TidingsClient, replica: Replica, id: ConversationId, uid: string): Promise<MessageVersion[]> {
  const m = await replica.message(uid);
  if (!m || m.conversationId !== id) throw new TidingsError(ErrorCode.NotFound, 'no such message in this conversation');
  const original = m.content.kind === 'text' ? m.content.text : m.content.kind === 'media' ? m.content.caption : '';
  const { edits } = await client.crdt.annotations(m);
  return [{ text: original, at: m.createdAt }, ...edits.map((e) => ({ text: e.text, at: e.at }))];
}

/**
 * The current views of these messages (edited text, reactions, deleted flag);
 * rows removed from this device (deleted for me, expired) are absent.
 */
export async function refreshMessages(client: TidingsClient, replica: Replica, id: ConversationId, uids: readonly string[]): Promise<MessageView[]> {
  const rows = await Promise.all(uids.slice(-MAX_REFRESH).map((uid) => replica.message(uid)));
  const found = rows.filter((m): m is Message => m !== null && m.conversationId === id);
  return (await client.crdt.decorate(found)).map(toView);
}
