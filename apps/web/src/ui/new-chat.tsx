/** New direct message (by username) or new group (name + usernames). Needs the network. */
import { useState } from 'preact/hooks';
import { useLink } from './engine-context.js';

const splitNames = (s: string): string[] =>
  s
    .split(/[\s,]+/)
    .map((n) => n.trim().replace(/^@/, ''))
    .filter((n) => n !== '');

export function NewChat() {
  const link = useLink();
  const [kind, setKind] = useState<'dm' | 'group'>('dm');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      const id =
        kind === 'dm'
          ? await link.engine.openDm(String(form.get('username') ?? '').replace(/^@/, '').trim())
          : await link.engine.createGroup(String(form.get('name') ?? '').trim(), splitNames(String(form.get('members') ?? '')));
      location.hash = `#/c/${id.toString()}`;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="new-title">
      <header class="conv-header">
        <a class="back icon-button" href="#/" aria-label="Back to conversations">
          ←
        </a>
        <h2 id="new-title">New conversation</h2>
      </header>
      <div class="panel-body">
        <div class="segmented" role="tablist" aria-label="Kind of conversation">
          <button type="button" role="tab" aria-selected={kind === 'dm'} onClick={() => setKind('dm')}>
            Direct message
          </button>
          <button type="button" role="tab" aria-selected={kind === 'group'} onClick={() => setKind('group')}>
            Group
          </button>
        </div>
        <form class="card" onSubmit={submit}>
          {kind === 'dm' ? (
            <label>
              Username
              <input name="username" required autoComplete="off" autoFocus />
            </label>
          ) : (
            <>
              <label>
                Group name
                <input name="name" required maxLength={100} autoFocus />
              </label>
              <label>
                Members (usernames, separated by commas or spaces)
                <input name="members" required autoComplete="off" />
              </label>
            </>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy}>
            {kind === 'dm' ? 'Start chat' : 'Create group'}
          </button>
        </form>
      </div>
    </section>
  );
}
