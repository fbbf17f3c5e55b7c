/**
 * Chat-list flags (pinned, muted, archived): toggles in the conversation
 * header and the markers a chat-list row shows. The flags live in the user's
 * account state, so they follow the user to their other devices. A mute lasts
 * 8 hours, a week or for ever; a timed one ends by itself when its time passes.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ChatSummary } from '../engine/api.js';
import { useLink } from './engine-context.js';
import { usePopup } from './popup.js';

const HOUR_MS = 3_600_000;
/** How long a person can mute a chat for, as WhatsApp offers (Infinity: always). */
export const MUTE_CHOICES: readonly { label: string; ms: number }[] = [
  { label: 'For 8 hours', ms: 8 * HOUR_MS },
  { label: 'For 1 week', ms: 7 * 24 * HOUR_MS },
  { label: 'Always', ms: Infinity },
];
/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether the chat is muted now; re-renders when a timed mute runs out. */
export function useMuted(chat: ChatSummary): boolean {
  const [, bump] = useState(0);
  const until = chat.mutedUntil;
  const muted = until > Date.now();
  useEffect(() => {
    if (!muted || until === Infinity) return;
    const timer = setTimeout(() => bump((n) => n + 1), Math.min(until - Date.now() + 1, MAX_TIMER_MS));
    return () => clearTimeout(timer);
  });
  return muted;
}

/** "until 21:30" / "until 3 Dec, 21:30" / "" (for ever). */
export function mutedUntilText(until: number): string {
  if (until === Infinity) return '';
  const d = new Date(until);
  const sameDay = d.toDateString() === new Date().toDateString();
  return `until ${sameDay ? d.toLocaleTimeString(undefined, { timeStyle: 'short' }) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}

/** Toggle buttons (aria-pressed) for one chat; the header re-reads the chat on the `chats` event. */
export function ChatFlagToggles({ chat }: { chat: ChatSummary }) {
  return (
    <span class="chat-flags" role="group" aria-label="Chat settings">
      <FlagToggle chat={chat} type="pin" label="Pin chat" glyph="📌" on={chat.pinned} />
      <MuteButton chat={chat} />
      <FlagToggle chat={chat} type="archive" label="Archive" glyph="🗄" on={chat.archived} />
    </span>
  );
}

/** One on/off flag of the chat (pinned, archived). */
function FlagToggle({
  chat,
  type,
  label,
  glyph,
  on,
}: {
  chat: ChatSummary;
  type: 'pin' | 'archive';
  label: string;
  glyph: string;
  on: boolean;
}) {
  const link = useLink();
  return (
    <button
      type="button"
      class="icon-button"
      aria-label={label}
      title={label}
      aria-pressed={on}
      onClick={() => void link.engine.chatAction(chat.id, { type, on: !on })}
    >
      {glyph}
    </button>
  );
}

/** Unmuted: opens a menu of durations. Muted: unmutes. Escape closes the menu and returns focus. */
function MuteButton({ chat }: { chat: ChatSummary }) {
  const link = useLink();
  const muted = useMuted(chat);
  const { open, setOpen, button, popup: menu, close, onKeyDown } = usePopup();
  const mute = (ms: number) => {
    close();
    void link.engine.chatAction(chat.id, ms === Infinity ? { type: 'mute', on: true } : { type: 'mute', on: true, until: Date.now() + ms });
  };
  const title = muted ? `Muted ${mutedUntilText(chat.mutedUntil)}`.trim() + ' (press to unmute)' : 'Mute';
  return (
    <span class="mute-flag" onKeyDown={onKeyDown}>
      <button
        ref={button}
        type="button"
        class="icon-button"
        aria-label="Mute"
        title={title}
        aria-pressed={muted}
        aria-haspopup={muted ? undefined : 'menu'}
        aria-expanded={muted ? undefined : open}
        data-muted-until={muted ? String(chat.mutedUntil) : undefined}
        onClick={() => (muted ? void link.engine.chatAction(chat.id, { type: 'mute', on: false }) : setOpen(!open))}
      >
        🔕
      </button>
      {open && (
        <div ref={menu} class="mute-menu" role="menu" aria-label="Mute notifications">
          {MUTE_CHOICES.map((c) => (
            <button key={c.label} type="button" role="menuitem" onClick={() => mute(c.ms)}>
              {c.label}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

/** Small markers on a chat-list row. */
export function ChatFlagMarkers({ chat }: { chat: ChatSummary }) {
  const muted = useMuted(chat);
  return (
    <>
      {chat.pinned && (
        <span class="chat-flag" role="img" aria-label="pinned" data-flag="pinned">
          📌
        </span>
      )}
      {muted && (
        <span
          class="chat-flag"
          role="img"
          aria-label={`muted ${mutedUntilText(chat.mutedUntil)}`.trim()}
          data-flag="muted"
          data-muted-until={String(chat.mutedUntil)}
        >
          🔕
        </span>
      )}
    </>
  );
}
