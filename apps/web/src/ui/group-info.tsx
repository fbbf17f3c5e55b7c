/** Group info: members, add by username, remove (admins) or leave. */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId, UserId } from '@tidings/shared';
import type { ChatSummary, SessionInfo } from '../engine/api.js';
import { useEngineEvent, useFrameCoalesced, useLink, useName, usePresence } from './engine-context.js';

export function GroupInfo({ id, session }: { id: ConversationId; session: SessionInfo }) {
  const link = useLink();
  const [chat, setChat] = useState<ChatSummary | null>(null);
  const [error, setError] = useState('');
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
      </div>
    </section>
  );
}

function Member({ userId, self, onRemove }: { userId: UserId; self: UserId; onRemove: () => void }) {
  const name = useName(userId);
  const presence = usePresence(userId);
  const me = userId === self;
  return (
    <li class="member">
      <span class={presence?.status === 1 ? 'dot online' : 'dot'} aria-hidden="true" />
      <span class="member-name">{me ? `${name} (you)` : name}</span>
      <button type="button" class="link danger" onClick={onRemove} aria-label={me ? 'Leave the group' : `Remove ${name}`}>
        {me ? 'Leave' : 'Remove'}
      </button>
    </li>
  );
}
