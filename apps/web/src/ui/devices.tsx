/**
 * Your devices: every device signed in to this account (the server's list,
 * with each one's identity-key fingerprint), removing a lost one, and how to
 * link a new one. Each device has its own identity keys, so a new device
 * changes your safety numbers with everyone (they see a warning).
 */
import { useEffect, useState } from 'preact/hooks';
import type { DeviceView, SessionInfo } from '../engine/api.js';
import { useLink } from './engine-context.js';

export function DevicesScreen({ session }: { session: SessionInfo }) {
  const link = useLink();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  const fail = (err: unknown) => setError(err instanceof Error ? err.message : String(err));
  useEffect(() => {
    link.engine.devices().then(setDevices, fail);
  }, [link, version]);
  const remove = (d: DeviceView) => {
    if (!confirm(`Remove “${d.name || 'Unnamed device'}”? It is signed out and can no longer read new messages.`)) return;
    setError('');
    link.engine.removeDevice(d.deviceId).then(() => setVersion((v) => v + 1), fail);
  };

  return (
    <section class="panel" aria-labelledby="devices-title">
      <header class="conv-header">
        <a class="icon-button" href="#/settings" aria-label="Back to settings">
          ←
        </a>
        <h2 id="devices-title">Your devices</h2>
      </header>
      <div class="panel-body">
        {devices === null && !error && <p class="hint">Loading… (the list comes from the server, so Tidings must be online)</p>}
        {error && (
          <p class="error" role="alert">
            Devices could not be loaded: {error}
          </p>
        )}
        {devices && (
          <ul class="devices" aria-label="Devices">
            {devices.map((d) => (
              <li class="device" key={d.deviceId.toString()} data-current={d.current ? 'true' : undefined}>
                <strong>
                  {d.name || 'Unnamed device'}
                  {d.current ? ' (this device)' : ''}
                </strong>
                <span class="hint">
                  Signed in {new Date(d.createdAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
                </span>
                <span class="hint">{d.fingerprint ? `Key fingerprint ${d.fingerprint}` : 'Not yet in your encrypted device group'}</span>
                {!d.current && (
                  <button type="button" class="link danger" onClick={() => remove(d)} aria-label={`Remove ${d.name || 'Unnamed device'}`}>
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        <div class="card">
          <h3>Link a new device</h3>
          <ol>
            <li>
              On the new phone or computer, open Tidings and choose <strong>Sign in</strong> with your username (
              <strong>{session.username}</strong>) and password.
            </li>
            <li>
              It becomes a new device of your account. The next time one of your existing devices is online, it adds the new device to each
              of your encrypted conversations and sends it the history it has, end-to-end encrypted; the server cannot read either.
            </li>
            <li>Your contacts will see that your security keys changed, and your safety numbers with them change. Compare them again.</li>
          </ol>
          <p class="hint">
            Lost a device? Remove it here: the server signs it out, and this device removes it from every encrypted conversation, so it cannot
            read anything sent afterwards (what it already has stays on it).
          </p>
        </div>
      </div>
    </section>
  );
}
