/** The chat list: every conversation from the replica, pinned first then newest activity first; archived ones behind a toggle. */
import { useEffect, useState } from 'preact/hooks';
import type { ChatSummary, SessionInfo } from '../engine/api.js';
import { shortTime } from '../lib/rows.js';
import { useEngineEvent, useFrameCoalesced, useLink, usePresence } from './engine-context.js';
import { preview } from './message-text.js';
import { ChatFlagMarkers } from './chat-flags.js';

export function ChatList({ session, selected }: { session: SessionInfo; selected: string | null }) {
  const link = useLink();
  const [chats, setChats] = useState<ChatSummary[] | null>(null);
  const [showArchived, setShowArchived] = useState(false);
  const reload = useFrameCoalesced(() => {
    void link.engine.chats().then(setChats, () => setChats([]));
  });
  useEffect(reload, [link, session.userId]);
  useEngineEvent((e) => {
    if (e.type === 'chats' || e.type === 'names' || e.type === 'session') reload();
  });
  const now = Date.now();

  if (chats === null) return <p class="empty">Loading…</p>;
  if (chats.length === 0)
    return (
      <p class="empty">
        No conversations yet. <a href="#/new">Start one</a>.
      </p>
    );
  const archived = chats.filter((c) => c.archived).length;
  return (
    <ul class="chats" aria-label="Conversations">
      {archived > 0 && (
        <li>
          <button type="button" class="archived-toggle" aria-expanded={showArchived} onClick={() => setShowArchived(!showArchived)}>
            {showArchived ? 'Hide archived' : `Archived (${archived})`}
          </button>
        </li>
      )}
      {chats.filter((c) => showArchived || !c.archived).map((c) => (
        <li key={c.id.toString()}>
          <a
            class="chat"
            href={`#/c/${c.id.toString()}`}
            aria-current={selected === c.id.toString() ? 'page' : undefined}
            data-chat={c.title}
            data-unread={c.unread}
          >
            <Avatar title={c.title} peer={c} />
            <span class="chat-main">
              <span class="chat-top">
                <span class="chat-title">{c.title}</span>
                <ChatFlagMarkers chat={c} />
                {c.last && <time class="chat-time">{shortTime(c.last.createdAt, now)}</time>}
              </span>
              <span class="chat-bottom">
                <span class="chat-preview">{c.last ? preview(c.last, session.userId, link) : c.left ? 'You left' : 'No messages yet'}</span>
                {c.unread > 0 && (
                  <span class="badge" aria-label={`${c.unread} unread`}>
                    {c.unread}
                  </span>
                )}
              </span>
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function Avatar({ title, peer }: { title: string; peer: ChatSummary }) {
  const presence = usePresence(peer.peer);
  const online = presence?.status === 1;
  return (
    <span class="avatar" aria-hidden="true">
      {(title[0] ?? '?').toUpperCase()}
      {peer.peer !== null && <span class={online ? 'dot online' : 'dot'} />}
      {peer.peer !== null && online && <span class="sr-only">online</span>}
    </span>
  );
}
