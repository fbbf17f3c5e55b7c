/**
 * What sits under a conversation's header: the disappearing-messages note
 * ("Messages disappear after 1 day") and the pinned-messages bar, which shows
 * the latest pinned message's excerpt (with "1 of N" to step through older
 * pins when there are more) and an Unpin button. Both read the conversation's
 * convergent state, so a pin or timer set by any member shows on every device.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId } from '@tidings/shared';
import type { SessionInfo } from '../engine/api.js';
import { useLink } from './engine-context.js';
import { messageText } from './message-text.js';
import { timerLabel, useConversationState } from './conversation-settings.js';

/** Longest excerpt of a pinned message shown in the bar, in characters. */
const EXCERPT_CHARS = 120;

export function ConversationBanners({ id, session }: { id: ConversationId; session: SessionInfo }) {
  const state = useConversationState(id);
  if (!state) return null;
  return (
    <>
      {state.disappearingSeconds > 0 && (
        <p class="disappearing-note" role="note" data-timer={state.disappearingSeconds}>
          <span aria-hidden="true">⏱ </span>Messages disappear after {timerLabel(state.disappearingSeconds)}
        </p>
      )}
      {state.pinned.length > 0 && <PinnedBar id={id} session={session} pinned={state.pinned} />}
    </>
  );
}

function PinnedBar({ id, session, pinned }: { id: ConversationId; session: SessionInfo; pinned: NonNullable<ReturnType<typeof useConversationState>>['pinned'] }) {
  const link = useLink();
  const [error, setError] = useState('');
  // Steps back from the latest pin (0); reset when the pins change.
  const [back, setBack] = useState(0);
  const key = pinned.map((p) => p.message.uid).join(',');
  useEffect(() => setBack(0), [key]);
  const index = pinned.length - 1 - (back % pinned.length);
  const shown = pinned[index]!;
  const text = messageText(shown.message, session.userId, link);
  const excerpt = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
  return (
    <div class="pinned-bar" role="region" aria-label="Pinned messages" data-count={pinned.length}>
      <span aria-hidden="true">📌</span>
      <span class="pinned-text" data-uid={shown.message.uid}>
        {excerpt}
      </span>
      {pinned.length > 1 && (
        <button
          type="button"
          class="link pinned-count"
          aria-label={`Pinned message ${index + 1} of ${pinned.length}: show the previous one`}
          onClick={() => setBack((b) => b + 1)}
        >
          {index + 1} of {pinned.length}
        </button>
      )}
      <button
        type="button"
        class="icon-button"
        aria-label="Unpin this message"
        title="Unpin"
        onClick={() => {
          setError('');
          link.engine.messageAction(id, shown.message.uid, { type: 'pin', on: false }).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
        }}
      >
        ✕
      </button>
      {error && (
        <span class="msg-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
