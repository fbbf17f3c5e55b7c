/**
 * Conversation info. A group: name and description (editable by members),
 * members (each with their safety number on request), add by username, remove
 * (admins) or leave. A DM: the contact and the safety number with them. Both
 * show the identity-change warning and the disappearing-messages timer.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId, UserId } from '@tidings/shared';
import type { ChatSummary, SessionInfo } from '../engine/api.js';
import { useEngineEvent, useFrameCoalesced, useLink, useName, usePresence } from './engine-context.js';
import { IdentityWarning, SafetyNumber } from './safety.js';
import { DisappearingSetting, GroupProfileForm, useConversationState } from './conversation-settings.js';

export function GroupInfo({ id, session }: { id: ConversationId; session: SessionInfo }) {
  const link = useLink();
  const [chat, setChat] = useState<ChatSummary | null>(null);
  const [error, setError] = useState('');
  const state = useConversationState(id);
  const reload = useFrameCoalesced(() => void link.engine.chat(id).then(setChat));
  useEffect(() => {
    reload();
    void link.engine.focus(link.viewId, id);
    return () => void link.engine.focus(link.viewId, null);
  }, [link, id]);
  useEngineEvent((e) => {
    if (e.type === 'chats') reload();
  });

  const act = async (fn: () => Promise<void>) => {
    setError('');
    try {
      await fn();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const add = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const names = String(new FormData(form).get('usernames') ?? '')
      .split(/[\s,]+/)
      .filter((n) => n !== '');
    void act(async () => {
      await link.engine.addMembers(id, names);
      form.reset();
    });
  };

  return (
    <section class="panel" aria-labelledby="info-title">
      <header class="conv-header">
        <a class="icon-button" href={`#/c/${id.toString()}`} aria-label="Back to the conversation">
          ←
        </a>
        <h2 id="info-title">{chat?.title ?? 'Group'}</h2>
      </header>
      <div class="panel-body">
        <IdentityWarning id={id} />
        {chat?.kind === 'group' && <GroupProfileForm chat={chat} state={state} />}
        {chat?.kind === 'dm' && chat.peer !== null && <SafetyNumber userId={chat.peer} />}
        {(chat?.kind === 'group' || chat?.kind === 'dm') && <DisappearingSetting chat={chat} state={state} />}
        {chat?.kind === 'group' && <GroupMembers chat={chat} session={session} act={act} add={add} error={error} />}
        {chat?.kind === 'dm' && error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </section>
  );
}

function GroupMembers({
  chat,
  session,
  act,
  add,
  error,
}: {
  chat: ChatSummary;
  session: SessionInfo;
  act: (fn: () => Promise<void>) => Promise<void>;
  add: (e: Event) => void;
  error: string;
}) {
  const link = useLink();
  const id = chat.id;
  return (
    <>
      <h3>{chat ? `${chat.members.length} members` : 'Members'}</h3>
      <ul class="members" aria-label="Members">
        {chat?.members.map((m) => (
          <Member key={m.toString()} userId={m} self={session.userId} onRemove={() => void act(() => link.engine.removeMember(id, m))} />
        ))}
      </ul>
      {chat && !chat.left && (
        <form class="card" onSubmit={add}>
          <label>
            Add members (usernames)
            <input name="usernames" required autoComplete="off" />
          </label>
          <button type="submit" class="primary">
            Add
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

function Member({ userId, self, onRemove }: { userId: UserId; self: UserId; onRemove: () => void }) {
  const name = useName(userId);
  const presence = usePresence(userId);
  const [verify, setVerify] = useState(false);
  const me = userId === self;
  return (
    <li class="member">
      <span class={presence?.status === 1 ? 'dot online' : 'dot'} aria-hidden="true" />
      <span class="member-name">{me ? `${name} (you)` : name}</span>
      <button type="button" class="link danger" onClick={onRemove} aria-label={me ? 'Leave the group' : `Remove ${name}`}>
        {me ? 'Leave' : 'Remove'}
      </button>
      {!me && (
        <button
          type="button"
          class="link"
          aria-expanded={verify}
          onClick={() => setVerify((v) => !v)}
          aria-label={`Safety number with ${name}`}
        >
          Safety number
        </button>
      )}
      {verify && (
        <div class="member-safety">
          <SafetyNumber userId={userId} />
        </div>
      )}
    </li>
  );
}
