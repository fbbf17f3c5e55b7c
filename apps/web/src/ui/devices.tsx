/**
 * Your devices: every device signed in to this account (the server's list),
 * and how to link a new one. Each device has its own identity keys, so a new
 * device changes your safety numbers with everyone (they see a warning).
 */
import { useEffect, useState } from 'preact/hooks';
import type { DeviceView, SessionInfo } from '../engine/api.js';
import { useLink } from './engine-context.js';

export function DevicesScreen({ session }: { session: SessionInfo }) {
  const link = useLink();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    link.engine.devices().then(setDevices, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [link]);

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
                {/* TODO(issue #9): a "Remove" button once TidingsClient has removeDevice (the MLS helper is adding it): revoke on the server, then remove its leaves from every group. */}
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
            Removing a device from here is not available yet. Signing out on a device deletes its copy of your messages and keys there, but
            the server keeps listing it until device removal lands.
          </p>
        </div>
      </div>
    </section>
  );
}
