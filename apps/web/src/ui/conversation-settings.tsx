/**
 * Conversation settings every member shares, from the conversation's
 * encrypted convergent state: the disappearing-messages timer (a choice in
 * group / contact info, a note in the conversation) and a group's name and
 * description. Set on one device, they show on every member's devices after
 * the engine's `state` event.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId } from '@tidings/shared';
import type { ChatSummary, ConversationAction, ConversationStateView } from '../engine/api.js';
import { useEngineEvent, useFrameCoalesced, useLink } from './engine-context.js';

const HOUR_S = 3600;
/** The timer choices offered, in seconds (0: off), as Signal and WhatsApp offer them. */
export const TIMER_CHOICES: readonly { label: string; seconds: number }[] = [
  { label: 'Off', seconds: 0 },
  { label: '1 hour', seconds: HOUR_S },
  { label: '1 day', seconds: 24 * HOUR_S },
  { label: '7 days', seconds: 7 * 24 * HOUR_S },
];
/** Longest group description the form accepts (the client's MAX_GROUP_DESCRIPTION_CHARS). */
const DESCRIPTION_MAX = 1024;
/** Longest group name the form accepts (the shared MAX_GROUP_NAME_CHARS; not imported so the view bundle stays free of the protocol code). */
const NAME_MAX = 128;

/** "1 day", "7 days", or a plain count for a timer set elsewhere to another value. */
export function timerLabel(seconds: number): string {
  const preset = TIMER_CHOICES.find((c) => c.seconds === seconds);
  if (preset) return preset.label;
  const units: [number, string][] = [
    [24 * HOUR_S, 'day'],
    [HOUR_S, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, unit] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/** The conversation's description, timer and pins, re-read when its state changes. */
export function useConversationState(id: ConversationId): ConversationStateView | null {
  const link = useLink();
  const [state, setState] = useState<ConversationStateView | null>(null);
  const reload = useFrameCoalesced(() => {
    void link.engine.conversationState(id).then(setState, () => setState(null));
  });
  useEffect(() => {
    setState(null);
    reload();
  }, [link, id]);
  useEngineEvent((e) => {
    if ((e.type === 'state' && e.conversationId === id) || e.type === 'session') reload();
  });
  return state;
}

/** Runs a conversation action and keeps its error for display. */
function useConversationAction(id: ConversationId): { run: (action: ConversationAction) => Promise<boolean>; error: string } {
  const link = useLink();
  const [error, setError] = useState('');
  const run = async (action: ConversationAction): Promise<boolean> => {
    setError('');
    try {
      await link.engine.conversationAction(id, action);
      return true;
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return false;
    }
  };
  return { run, error };
}

/** Off / 1 hour / 1 day / 7 days as a radio group (arrow keys move the choice). */
export function DisappearingSetting({ chat, state }: { chat: ChatSummary; state: ConversationStateView | null }) {
  const { run, error } = useConversationAction(chat.id);
  // The choice just made shows at once and stays until the state is re-read after the engine has
  // it: a re-render from an unrelated state event in between would otherwise flip the radio back.
  const [chosen, setChosen] = useState<{ readonly seconds: number; readonly landed: boolean } | null>(null);
  useEffect(() => {
    if (chosen?.landed) setChosen(null);
  }, [state]);
  const current = chosen?.seconds ?? state?.disappearingSeconds ?? 0;
  const choose = (seconds: number): void => {
    setChosen({ seconds, landed: false });
    void run({ type: 'timer', seconds }).then((ok) => setChosen(ok ? { seconds, landed: true } : null));
  };
  const choices = TIMER_CHOICES.some((c) => c.seconds === current) ? TIMER_CHOICES : [...TIMER_CHOICES, { label: timerLabel(current), seconds: current }];
  return (
    <fieldset class="card timer-setting" disabled={state === null || chat.left}>
      <legend>Disappearing messages</legend>
      <p class="hint">New messages disappear from every member's devices after this time.</p>
      <div class="timer-choices">
        {choices.map((c) => (
          <label key={c.seconds}>
            <input type="radio" name="disappearing" value={c.seconds} checked={current === c.seconds} onChange={() => choose(c.seconds)} />
            {c.label}
          </label>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** The group's name and description, editable by its members. */
export function GroupProfileForm({ chat, state }: { chat: ChatSummary; state: ConversationStateView | null }) {
  const { run, error } = useConversationAction(chat.id);
  const [saved, setSaved] = useState(false);
  const description = state?.description ?? '';
  if (chat.left) {
    return description ? <p class="group-description">{description}</p> : null;
  }
  return (
    // Keyed by the current values: a change from another device shows here (unsaved typing is then replaced).
    <form
      key={`${chat.title}\u0000${description}`}
      class="card group-profile"
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        const name = String(data.get('name') ?? '').trim();
        const text = String(data.get('description') ?? '').trim();
        setSaved(false);
        void run({ type: 'profile', ...(name !== chat.title ? { name } : {}), description: text }).then(setSaved);
      }}
    >
      <label>
        Group name
        <input name="name" required maxLength={NAME_MAX} defaultValue={chat.title} autoComplete="off" />
      </label>
      <label>
        Description
        <textarea name="description" rows={3} maxLength={DESCRIPTION_MAX} defaultValue={description} />
      </label>
      <button type="submit" class="primary">
        Save
      </button>
      {saved && <span class="hint" role="status">Saved</span>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
