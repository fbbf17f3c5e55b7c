/** How the CLI prints messages, one line each. */
import type { Conversation } from '../model/conversation.js';
import type { Message } from '../model/message.js';

export function conversationLabel(conversation: Conversation | undefined, id: bigint): string {
  if (!conversation) return `#${id}`;
  switch (conversation.kind) {
    case 'group':
      return `group:${id} ${conversation.name}`;
    case 'dm':
      return `dm:${id}`;
    case 'self':
      return 'self';
    case 'unknown':
      return `#${id}`;
    default: {
      const never: never = conversation.kind;
      return String(never);
    }
  }
}

function body(message: Message): string {
  const content = message.content;
  switch (content.kind) {
    case 'text':
      return content.text;
    case 'system': {
      const users = content.event.userIds.map((u) => `user:${u}`).join(', ');
      const by = content.event.by === null ? '' : ` by user:${content.event.by}`;
      return `* ${content.event.op.replaceAll('_', ' ')}${users ? ` ${users}` : ''}${by}`;
    }
    case 'media': {
      const caption = content.caption ? ` ${content.caption}` : '';
      return `[file ${content.media.fileName} ${content.media.mediaType} ${content.media.size} bytes blob ${content.media.blobId.slice(0, 12)}]${caption}`;
    }
    case 'unreadable':
      return `[unreadable: ${content.reason}]`;
    case 'unsupported':
      return `[unsupported entry type ${content.entryType}]`;
    default: {
      const never: never = content;
      return String(never);
    }
  }
}

/** `2026-05-01T10:00:00.000Z dm:42 user:7: hello` (usernames are not resolvable by id yet). */
export function formatMessage(message: Message, label: string, me: bigint): string {
  const who = message.senderUserId === me ? 'me' : `user:${message.senderUserId}`;
  const state = message.state === 'sent' ? '' : ` (${message.state})`;
  return `${new Date(message.createdAt).toISOString()} ${label} ${who}: ${body(message)}${state}`;
}
