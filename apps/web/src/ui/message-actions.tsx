/**
 * What a conversation row offers beyond its text: a small per-message action
 * menu (react, reply, pin, edit, delete for everyone, delete for me), the reactions under
 * a message, and the inline edit box. Actions go to the engine's
 * `messageAction`; the row updates when the engine reports a `state` change.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { MessageAction, MessageView, SessionInfo } from '../engine/api.js';
import { useLink } from './engine-context.js';
import { usePopup } from './popup.js';

/** The emoji offered in the menu (any emoji received from others is still shown). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮'] as const;

function useAct(message: MessageView): { act: (action: MessageAction) => void; error: string } {
  const link = useLink();
  const [error, setError] = useState('');
  const act = (action: MessageAction) => {
    setError('');
    link.engine
      .messageAction(message.conversationId, message.uid, action)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  return { act, error };
}

/** The "⋯" button and its menu. Escape or choosing an item closes it and returns focus to the button. */
export function MessageMenu({
  message,
  session,
  onEdit,
  onReply,
}: {
  message: MessageView;
  session: SessionInfo;
  onEdit: () => void;
  onReply: () => void;
}) {
  const { open, setOpen, button, popup: menu, close, onKeyDown } = usePopup();
  const { act, error } = useAct(message);
  const mine = message.senderUserId === session.userId;
  const deleted = message.annotations?.deleted != null;
  const pinned = message.annotations?.pinned != null;
  const mineReacted = (emoji: string) => message.annotations?.reactions[emoji]?.includes(session.userId.toString()) ?? false;
  const choose = (fn: () => void) => () => {
    close();
    fn();
  };
  return (
    <span class="msg-actions" onKeyDown={onKeyDown}>
      <button
        ref={button}
        type="button"
        class="icon-button msg-menu-button"
        aria-label="Message actions"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        ⋯
      </button>
      {open && (
        <div ref={menu} class="msg-menu" role="menu" aria-label="Message actions">
          {!deleted &&
            QUICK_REACTIONS.map((emoji) => (
              <button
                key={emoji}
                type="button"
                role="menuitem"
                aria-label={mineReacted(emoji) ? `Remove reaction ${emoji}` : `React ${emoji}`}
                onClick={choose(() => act({ type: 'react', emoji, on: !mineReacted(emoji) }))}
              >
                {emoji}
              </button>
            ))}
          {!deleted && message.id !== null && (message.content.kind === 'text' || message.content.kind === 'media') && (
            <button type="button" role="menuitem" onClick={choose(onReply)}>
              Reply
            </button>
          )}
          {!deleted && (message.content.kind === 'text' || message.content.kind === 'media') && (
            <button type="button" role="menuitem" onClick={choose(() => act({ type: 'pin', on: !pinned }))}>
              {pinned ? 'Unpin' : 'Pin'}
            </button>
          )}
          {mine && !deleted && message.content.kind === 'text' && (
            <button type="button" role="menuitem" onClick={choose(onEdit)}>
              Edit
            </button>
          )}
          {mine && !deleted && (
            <button type="button" role="menuitem" onClick={choose(() => act({ type: 'deleteForEveryone' }))}>
              Delete for everyone
            </button>
          )}
          <button type="button" role="menuitem" onClick={choose(() => act({ type: 'deleteForMe' }))}>
            Delete for me
          </button>
        </div>
      )}
      {error && (
        <span class="msg-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** Emoji + count under a message; a chip toggles one's own reaction. */
export function Reactions({ message, session }: { message: MessageView; session: SessionInfo }) {
  const { act } = useAct(message);
  const reactions = Object.entries(message.annotations?.reactions ?? {}).filter(([, by]) => by.length > 0);
  if (reactions.length === 0 || message.annotations?.deleted) return null;
  const self = session.userId.toString();
  return (
    <div class="reactions" role="group" aria-label="Reactions">
      {reactions.map(([emoji, by]) => {
        const mineToo = by.includes(self);
        return (
          <button
            key={emoji}
            type="button"
            class={mineToo ? 'reaction mine' : 'reaction'}
            data-emoji={emoji}
            aria-pressed={mineToo}
            aria-label={`${emoji} ${by.length}`}
            onClick={() => act({ type: 'react', emoji, on: !mineToo })}
          >
            {emoji} <span class="count">{by.length}</span>
          </button>
        );
      })}
    </div>
  );
}

/** Inline editor for one's own text message: Enter saves, Escape cancels. */
export function EditBox({ message, onDone }: { message: MessageView; onDone: () => void }) {
  const initial = message.content.kind === 'text' ? message.content.text : '';
  const [text, setText] = useState(initial);
  const { act } = useAct(message);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const save = () => {
    const next = text.trim();
    if (next !== '' && next !== initial) act({ type: 'edit', text: next });
    onDone();
  };
  return (
    <form
      class="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <input
        ref={input}
        aria-label="Edit message"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onDone();
          }
        }}
      />
      <button type="submit">Save</button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}
