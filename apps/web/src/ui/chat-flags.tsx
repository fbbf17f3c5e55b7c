/**
 * Chat-list flags (pinned, muted, archived): toggles in the conversation
 * header and the markers a chat-list row shows. The flags live in the user's
 * account state, so they follow the user to their other devices.
 */
import type { ChatAction, ChatSummary } from '../engine/api.js';
import { useLink } from './engine-context.js';

const TOGGLES: readonly { type: ChatAction['type']; label: string; glyph: string; on: (c: ChatSummary) => boolean }[] = [
  { type: 'pin', label: 'Pin chat', glyph: '📌', on: (c) => c.pinned },
  { type: 'mute', label: 'Mute', glyph: '🔕', on: (c) => c.muted },
  { type: 'archive', label: 'Archive', glyph: '🗄', on: (c) => c.archived },
];

/** Toggle buttons (aria-pressed) for one chat; the header re-reads the chat on the `chats` event. */
export function ChatFlagToggles({ chat }: { chat: ChatSummary }) {
  const link = useLink();
  return (
    <span class="chat-flags" role="group" aria-label="Chat settings">
      {TOGGLES.map((t) => (
        <button
          key={t.type}
          type="button"
          class="icon-button"
          aria-label={t.label}
          title={t.label}
          aria-pressed={t.on(chat)}
          onClick={() => void link.engine.chatAction(chat.id, { type: t.type, on: !t.on(chat) })}
        >
          {t.glyph}
        </button>
      ))}
    </span>
  );
}

/** Small markers on a chat-list row. */
export function ChatFlagMarkers({ chat }: { chat: ChatSummary }) {
  return (
    <>
      {chat.pinned && (
        <span class="chat-flag" role="img" aria-label="pinned" data-flag="pinned">
          📌
        </span>
      )}
      {chat.muted && (
        <span class="chat-flag" role="img" aria-label="muted" data-flag="muted">
          🔕
        </span>
      )}
    </>
  );
}
