/** How the engine's records read to the views: messages without their sealed bodies, and chat-list rows. */
import type { UserId } from '@tidings/shared';
import type { Conversation, Message, TidingsClient } from '@tidings/client';
import type { ChatSummary, MessageView } from './api.js';

export const toView = (m: Message): MessageView => ({
  uid: m.uid,
  conversationId: m.conversationId,
  seq: m.seq,
  id: m.id,
  senderUserId: m.senderUserId,
  content: m.content,
  createdAt: m.createdAt,
  state: m.state,
  annotations: m.annotations ?? null,
});


const fallbackName = (userId: UserId): string => `user ${userId.toString().slice(-4)}`;

/** One chat-list row: title (the group profile's name, else the server's group name, or the DM peer's known username), newest message, unread count. */
export async function summarize(
  client: TidingsClient,
  self: UserId,
  c: Conversation,
  unread: number,
  names: (ids: readonly UserId[]) => Promise<Map<UserId, string>>,
): Promise<ChatSummary> {
  const [last] = await client.messages(c.id, { limit: 1 });
  const peer = c.kind === 'dm' ? (c.members.find((m) => m !== self) ?? null) : null;
  // A name set in the group's encrypted profile wins over the server's (the creation-time name).
  const profileName = c.kind === 'group' ? await client.crdt.profile(c.id).then((p) => p.name, () => null) : null;
  let title = profileName ?? c.name;
  if (c.kind === 'dm') {
    const known = peer ? await names([peer]) : new Map<UserId, string>();
    title = peer ? (known.get(peer) ?? fallbackName(peer)) : 'Direct message';
  } else if (title === '') {
    title = c.kind === 'group' ? 'Group' : 'Conversation';
  }
  // Before the self conversation is known (first connect) there are no flags yet.
  const prefs = await client.crdt.chat(c.id).catch(() => null);
  const mutedUntil = prefs?.mutedUntil ?? 0;
  const flags = { archived: prefs?.archived ?? false, muted: mutedUntil > Date.now(), mutedUntil, pinned: (prefs?.pinnedAt ?? null) !== null };
  return { id: c.id, kind: c.kind, title, members: c.members, peer, left: c.left, unread, last: last ? toView(last) : null, ...flags };
}

/** Chat-list order: pinned chats first, then newest activity first. */
export const listOrder = (a: ChatSummary, b: ChatSummary): number =>
  Number(b.pinned) - Number(a.pinned) || (b.last?.createdAt ?? 0) - (a.last?.createdAt ?? 0);
