/**
 * Verification: the safety number with a contact (60 digits from both users'
 * device identity keys; both sides see the same number, compare it in person
 * or over another channel), and the warning a conversation shows when a
 * member's identity keys changed since they were first seen (a new or removed
 * device, a reinstall, or someone in the middle) until the user acknowledges it.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConversationId, UserId } from '@tidings/shared';
import { useEngineEvent, useLink, useName } from './engine-context.js';

/** Digits per group when a safety number is shown. */
const GROUP_DIGITS = 5;

export function SafetyNumber({ userId }: { userId: UserId }) {
  const link = useLink();
  const name = useName(userId);
  const [number, setNumber] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    setError('');
    link.engine.safetyNumber(userId).then(
      (n) => live && setNumber(n),
      (err: unknown) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [link, userId, version]);
  // Keys changed (new device, reinstall): the number changes too.
  useEngineEvent((e) => {
    if (e.type === 'identity' && e.userId === userId) setVersion((v) => v + 1);
  });
  const digits = number?.replace(/\D/g, '') ?? '';
  const groups = digits.match(new RegExp(`.{1,${GROUP_DIGITS}}`, 'g')) ?? [];
  return (
    <div class="safety" data-testid="safety-number">
      <h4>Safety number with {name}</h4>
      {number !== null ? (
        <>
          <p class="safety-number" aria-label={`Safety number with ${name}: ${groups.join(' ')}`} data-digits={digits}>
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          <p class="hint">
            Compare it with the number on {name}’s screen (in person, or over a call you trust). If they match, nobody is in the middle of
            your conversation.
          </p>
        </>
      ) : error ? (
        <p class="hint">
          No safety number yet: it exists once you and {name} share an encrypted conversation (send a message first). ({error})
        </p>
      ) : (
        <p class="hint">Computing…</p>
      )}
    </div>
  );
}

/** A visible warning while a conversation's identity warning is set, with a way to acknowledge it. */
export function IdentityWarning({ id, inConversation }: { id: ConversationId; inConversation?: boolean }) {
  const link = useLink();
  const [warn, setWarn] = useState(false);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    link.engine.identityWarning(id).then(
      (w) => live && setWarn(w),
      () => live && setWarn(false),
    );
    return () => {
      live = false;
    };
  }, [link, id, version]);
  useEngineEvent((e) => {
    if ((e.type === 'identity' && e.conversationId === id) || e.type === 'chats') setVersion((v) => v + 1);
  });
  if (!warn) return null;
  return (
    <div class={inConversation ? 'warning in-conversation' : 'warning'} role="alert" data-testid="identity-warning">
      <span>
        Someone’s security keys changed in this conversation: they added or removed a device, or reinstalled — or someone may be in the
        middle. Compare safety numbers again before you share anything sensitive.
      </span>
      {inConversation ? (
        <a href={`#/c/${id.toString()}/info`}>Check the safety numbers</a>
      ) : (
        <button type="button" onClick={() => void link.engine.acknowledgeIdentity(id).then(() => setWarn(false))}>
          I compared the numbers again
        </button>
      )}
    </div>
  );
}
