/**
 * The "edited" label of a message: a button that opens the message's earlier
 * versions with their times (the original, then each edit but the current
 * one), read from the engine when opened. Escape closes it.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MessageVersion, MessageView } from '../engine/api.js';
import { clockTime } from '../lib/rows.js';
import { useLink } from './engine-context.js';
import { usePopup } from './popup.js';

/** "14:05" today, else a short date and time. */
function versionTime(ms: number): string {
  return new Date(ms).toDateString() === new Date().toDateString()
    ? clockTime(ms)
    : new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function EditedLabel({ message }: { message: MessageView }) {
  const link = useLink();
  const { open, setOpen, button, onKeyDown } = usePopup(false);
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  const [error, setError] = useState('');
  const edits = message.annotations?.edits.length ?? 0;
  useEffect(() => {
    if (!open) return;
    let live = true;
    setError('');
    link.engine.editHistory(message.conversationId, message.uid).then(
      (v) => live && setVersions(v),
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [open, link, message.conversationId, message.uid, edits]);
  const listId = `history-${message.uid}`;
  const earlier = versions?.slice(0, -1).reverse() ?? [];
  return (
    <span class="edit-history" onKeyDown={onKeyDown}>
      <button
        ref={button}
        type="button"
        class="edited link"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-label="edited: show earlier versions"
        onClick={() => setOpen(!open)}
      >
        edited
      </button>
      {open && (
        <div id={listId} class="history-popover" role="region" aria-label="Earlier versions">
          {error ? (
            <span class="msg-error" role="alert">
              {error}
            </span>
          ) : versions === null ? (
            <span class="hint">Loading…</span>
          ) : (
            <ol class="versions">
              {earlier.map((v, i) => (
                <li key={i} class="version">
                  <span class="version-text">{v.text}</span>
                  <time dateTime={new Date(v.at).toISOString()}>{versionTime(v.at)}</time>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </span>
  );
}
