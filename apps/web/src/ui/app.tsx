/** The app shell: session gate, hash routes, connection indicator, two panes on wide screens. */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId } from '@tidings/shared';
import type { ConnectionState } from '@tidings/client';
import type { SessionInfo } from '../engine/api.js';
import { AuthScreen } from './auth.js';
import { ChatList } from './chat-list.js';
import { ConversationView } from './conversation.js';
import { useEngineEvent, useLink, useStatus } from './engine-context.js';
import { GroupInfo } from './group-info.js';
import { NewChat } from './new-chat.js';
import { Settings } from './settings.js';
import { DevicesScreen } from './devices.js';
import { toggleTheme } from './theme.js';

type Route =
  | { name: 'list' }
  | { name: 'chat'; id: ConversationId }
  | { name: 'info'; id: ConversationId }
  | { name: 'new' }
  | { name: 'settings' }
  | { name: 'devices' };

function parseRoute(hash: string): Route {
  const chat = /^#\/c\/(\d{1,19})(\/info)?$/.exec(hash);
  if (chat) return { name: chat[2] ? 'info' : 'chat', id: BigInt(chat[1]!) as ConversationId };
  if (hash === '#/new') return { name: 'new' };
  if (hash === '#/settings') return { name: 'settings' };
  if (hash === '#/devices') return { name: 'devices' };
  return { name: 'list' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

const STATUS_TEXT: Record<ConnectionState, string> = {
  offline: 'Offline',
  connecting: 'Connecting…',
  syncing: 'Syncing…',
  online: 'Online',
};

function ConnectionIndicator() {
  const status = useStatus();
  return (
    <span
      class={`status ${status}`}
      role="status"
      data-status={status}
      title={status === 'offline' ? 'Messages you send wait and go out when the connection returns' : undefined}
    >
      <span class="status-dot" aria-hidden="true" />
      {STATUS_TEXT[status]}
    </span>
  );
}

export function App({ initial }: { initial: SessionInfo | null }) {
  const link = useLink();
  const [session, setSession] = useState(initial);
  const [error, setError] = useState('');
  const route = useRoute();
  useEngineEvent((e) => {
    if (e.type === 'session') setSession(e.session);
    if (e.type === 'error') setError(e.message);
  });
  // The network is back (or the tab is shown again): reconnect now rather than after backoff.
  useEffect(() => {
    const nudge = () => void link.engine.nudge();
    addEventListener('online', nudge);
    document.addEventListener('visibilitychange', nudge);
    return () => {
      removeEventListener('online', nudge);
      document.removeEventListener('visibilitychange', nudge);
    };
  }, [link]);

  if (!session) return <AuthScreen onSession={setSession} />;

  const selected = route.name === 'chat' || route.name === 'info' ? route.id.toString() : null;
  return (
    <div class={route.name === 'list' ? 'layout show-list' : 'layout show-main'}>
      <aside class="sidebar" aria-label="Chats">
        <header class="app-header">
          <h1 class="brand">Tidings</h1>
          <ConnectionIndicator />
          <nav class="actions" aria-label="App">
            <button type="button" class="icon-button" aria-label="Toggle light or dark theme" onClick={() => toggleTheme()}>
              ◐
            </button>
            <a class="icon-button" href="#/settings" aria-label="Settings">
              ⚙
            </a>
            <a class="icon-button" href="#/new" aria-label="New conversation">
              ✎
            </a>
          </nav>
        </header>
        {error && (
          <p class="banner" role="alert">
            {error}{' '}
            <button type="button" class="link" onClick={() => setError('')}>
              Dismiss
            </button>
          </p>
        )}
        <ChatList session={session} selected={selected} />
      </aside>
      <main class="main">
        {route.name === 'chat' && <ConversationView key={route.id.toString()} id={route.id} session={session} />}
        {route.name === 'info' && <GroupInfo id={route.id} session={session} />}
        {route.name === 'new' && <NewChat />}
        {route.name === 'settings' && <Settings session={session} />}
        {route.name === 'devices' && <DevicesScreen session={session} />}
        {route.name === 'list' && <p class="empty wide-only">Choose a conversation, or start a new one.</p>}
      </main>
    </div>
  );
}
