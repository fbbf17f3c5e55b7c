/** How message content reads in a bubble or a preview. */
import type { UserId } from '@tidings/shared';
import type { MessageView } from '../engine/api.js';
import type { EngineLink } from './engine-context.js';

const nameOf = (link: EngineLink, id: UserId | null, self: UserId): string =>
  id === null ? 'someone' : id === self ? 'you' : (link.name(id) ?? `user ${id.toString().slice(-4)}`);

export function messageText(m: MessageView, self: UserId, link: EngineLink): string {
  const c = m.content;
  switch (c.kind) {
    case 'text':
      return c.text;
    case 'system': {
      const by = nameOf(link, c.event.by, self);
      const who = c.event.userIds.map((u) => nameOf(link, u, self)).join(', ');
      if (c.event.op === 'created') return `${by} created the group${c.event.name ? ` “${c.event.name}”` : ''}`;
      if (c.event.op === 'members_added') return `${by} added ${who}`;
      if (c.event.op === 'members_removed') return c.event.by !== null && c.event.userIds.length === 1 && c.event.userIds[0] === c.event.by ? `${by} left` : `${by} removed ${who}`;
      return `Group changed (${c.event.op})`;
    }
    case 'media':
      return c.caption || `📎 ${c.media.fileName}`;
    case 'unreadable':
      return 'This message could not be opened.';
    case 'unsupported':
      return 'This message needs a newer version of Tidings.';
    default: {
      const never: never = c;
      return String(never);
    }
  }
}

export function preview(m: MessageView, self: UserId, link: EngineLink): string {
  if (m.annotations?.deleted) return 'This message was deleted';
  const text = messageText(m, self, link);
  return m.content.kind === 'text' && m.senderUserId === self ? `You: ${text}` : text;
}
