/**
 * Per-message actions on a conversation's convergent (CRDT) state, and the
 * re-read a view does when that state changes: kept out of host.ts so the host
 * stays a host. Every action goes through `client.crdt`, which checks
 * ownership and membership and throws a typed error otherwise.
 */
import type { ConversationId } from '@tidings/shared';
import type { Message, TidingsClient } from '@tidings/client';
import { MAX_REFRESH, type ChatAction, type MessageAction, type MessageView } from './api.js';
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
  }
}

/** Sets or clears one chat-list flag (account state). */
export async function applyChatAction(client: TidingsClient, id: ConversationId, action: ChatAction): Promise<void> {
  switch (action.type) {
    case 'archive':
      return client.crdt.archive(id, action.on);
    case 'mute':
      return client.crdt.mute(id, action.on ? Infinity : 0);
    case 'pin':
      return client.crdt.pinChat(id, action.on);
  }
}

/**
 * The current views of these messages (edited text, reactions, deleted flag);
 * rows removed from this device (deleted for me, expired) are absent.
 */
export async function refreshMessages(client: TidingsClient, replica: { message(uid: string): Promise<Message | null> }, id: ConversationId, uids: readonly string[]): Promise<MessageView[]> {
  const rows = await Promise.all(uids.slice(-MAX_REFRESH).map((uid) => replica.message(uid)));
  const found = rows.filter((m): m is Message => m !== null && m.conversationId === id);
  return (await client.crdt.decorate(found)).map(toView);
}
