/** Entry: connect to the origin's engine, register the service worker, render. */
import { render } from 'preact';
import { connectEngine } from './engine/connect.js';
import { App } from './ui/app.js';
import { EngineLink, LinkContext } from './ui/engine-context.js';
import { applyTheme } from './ui/theme.js';
import { answerPushPreviews, subscribePush } from './push.js';
import './styles.css';

applyTheme();

// Not under the dev server (which has no precache list); always in a build.
if ('serviceWorker' in navigator && !import.meta.hot) {
  void navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    // No service worker (e.g. a private window): the app still runs, just not offline-first.
  });
}

const { engine, mode } = connectEngine();
const link = new EngineLink(engine, mode);
// Test builds only: the browser tests reach the engine's test hooks through this (dropped from production builds).
if (__TIDINGS_TEST_HOOKS__) (window as unknown as { tidingsEngine: typeof engine }).tidingsEngine = engine;
answerPushPreviews(engine);
const root = document.getElementById('app')!;
void link.start().then((session) => {
  // Signed in and notifications allowed: keep this device's push subscription registered.
  if (session) void subscribePush(engine, false).catch(() => undefined);
  document.documentElement.dataset.engine = mode;
  render(
    <LinkContext.Provider value={link}>
      <App initial={session} />
    </LinkContext.Provider>,
    root,
  );
});
