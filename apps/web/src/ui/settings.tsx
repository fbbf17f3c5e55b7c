/** Settings: privacy (read receipts, last seen), theme, a link to your devices, sign out. */
import { useEffect, useState } from 'preact/hooks';
import type { PrivacySettings } from '@tidings/client';
import type { SessionInfo } from '../engine/api.js';
import { useEngineEvent, useLink } from './engine-context.js';
import { setTheme, theme, type Theme } from './theme.js';

export function Settings({ session }: { session: SessionInfo }) {
  const link = useLink();
  const [privacy, setPrivacy] = useState<PrivacySettings | null>(null);
  const [error, setError] = useState('');
  const [pref, setPref] = useState<Theme>(theme());
  useEffect(() => void link.engine.settings().then(setPrivacy), [link]);
  useEngineEvent((e) => {
    if (e.type === 'settings') setPrivacy(e.settings);
  });

  const update = async (patch: Partial<PrivacySettings>) => {
    setError('');
    try {
      setPrivacy(await link.engine.updateSettings(patch));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section class="panel" aria-labelledby="settings-title">
      <header class="conv-header">
        <a class="back icon-button" href="#/" aria-label="Back to conversations">
          ←
        </a>
        <h2 id="settings-title">Settings</h2>
      </header>
      <div class="panel-body">
        <p>
          Signed in as <strong>{session.username}</strong>
        </p>
        <p>
          <a href="#/devices">Your devices and linking a new one</a>
        </p>
        <fieldset class="card" disabled={privacy === null}>
          <legend>Privacy</legend>
          {privacy === null && <p class="hint">Privacy settings load once Tidings is online.</p>}
          <label class="switch">
            <input
              type="checkbox"
              checked={privacy?.readReceipts ?? true}
              onChange={(e) => void update({ readReceipts: (e.currentTarget as HTMLInputElement).checked })}
            />
            Read receipts
          </label>
          <p class="hint">Off: others do not see when you read their messages, and you do not see theirs.</p>
          <label class="switch">
            <input
              type="checkbox"
              checked={privacy?.showLastSeen ?? true}
              onChange={(e) => void update({ showLastSeen: (e.currentTarget as HTMLInputElement).checked })}
            />
            Show last seen
          </label>
          <p class="hint">Off: others do not see when you were last online, and you do not see theirs.</p>
        </fieldset>
        <fieldset class="card">
          <legend>Appearance</legend>
          {(['system', 'light', 'dark'] as const).map((t) => (
            <label class="switch" key={t}>
              <input
                type="radio"
                name="theme"
                checked={pref === t}
                onChange={() => {
                  setTheme(t);
                  setPref(t);
                }}
              />
              {t === 'system' ? 'Match the system' : t === 'light' ? 'Light' : 'Dark'}
            </label>
          ))}
        </fieldset>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="button" class="danger" onClick={() => void link.engine.logout()}>
          Sign out
        </button>
      </div>
    </section>
  );
}
