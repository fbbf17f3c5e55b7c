/**
 * The composer: a draft per conversation (saved as you type), Enter to send,
 * typing signals, and attachments (images are re-encoded, every file is
 * encrypted and uploaded by the engine before the message goes out).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationId } from '@tidings/shared';
import type { MessageView } from '../engine/api.js';
import { useLink, useName } from './engine-context.js';

/** Characters of the quoted message the reply bar shows. */
const REPLY_BAR_CHARS = 80;

/** How long after the last keystroke the draft is saved, ms. */
const DRAFT_SAVE_MS = 300;

export function Composer({ id, replyTo, onReplyDone }: { id: ConversationId; replyTo: MessageView | null; onReplyDone: () => void }) {
  const link = useLink();
  const replyName = useName(replyTo?.senderUserId ?? null);
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [uploads, setUploads] = useState<readonly string[]>([]);
  const [uploadError, setUploadError] = useState('');
  const latest = useRef({ id, text });
  latest.current = { id, text };
  /** Set once the person types in this conversation: a draft that loads later must not wipe it. */
  const typed = useRef(false);

  useEffect(() => {
    let live = true;
    typed.current = false;
    setText('');
    void link.engine.draft(id).then((d) => {
      if (live && !typed.current) setText(d);
    });
    input.current?.focus();
    return () => {
      live = false;
      // Leaving the conversation: keep what was typed.
      if (saveTimer.current !== null) clearTimeout(saveTimer.current);
      saveTimer.current = null;
      void link.engine.saveDraft(id, latest.current.text);
      void link.engine.setTyping(id, false);
    };
  }, [link, id]);

  const change = (value: string) => {
    typed.current = true;
    setText(value);
    void link.engine.setTyping(id, value.trim() !== '');
    if (saveTimer.current !== null) clearTimeout(saveTimer.current);
    saveTimer.current = setTimeout(() => {
      saveTimer.current = null;
      void link.engine.saveDraft(id, value);
    }, DRAFT_SAVE_MS);
  };

  const send = () => {
    const value = text.trim();
    if (value === '') return;
    typed.current = true;
    setText('');
    if (saveTimer.current !== null) clearTimeout(saveTimer.current);
    saveTimer.current = null;
    void link.engine.sendText(id, value, replyTo?.uid);
    onReplyDone();
  };

  useEffect(() => {
    if (replyTo !== null) input.current?.focus();
  }, [replyTo]);

  const attach = (files: FileList | null) => {
    for (const file of files ?? []) {
      setUploadError('');
      setUploads((u) => [...u, file.name]);
      link.engine
        .sendFile(id, file, file.name, '')
        .catch((err: unknown) => setUploadError(`${file.name} was not sent: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => setUploads((u) => u.filter((n, i) => n !== file.name || i !== u.indexOf(file.name))));
    }
  };

  return (
    <>
      {(uploads.length > 0 || uploadError !== '') && (
        <p class={uploadError ? 'upload-note error' : 'upload-note'} role={uploadError ? 'alert' : 'status'}>
          {uploadError || `Encrypting and sending ${uploads.join(', ')}…`}
        </p>
      )}
      {replyTo !== null && (
        <div class="replying" role="status">
          <span class="replying-text">
            Replying to <strong>{replyName}</strong>: {replyExcerpt(replyTo)}
          </span>
          <button type="button" class="icon-button" aria-label="Cancel reply" onClick={onReplyDone}>
            ✕
          </button>
        </div>
      )}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <input
          id="composer-file"
          class="file-input sr-only"
          type="file"
          multiple
          onChange={(e) => {
            const el = e.currentTarget as HTMLInputElement;
            attach(el.files);
            el.value = '';
          }}
        />
        <label class="attach icon-button" for="composer-file" title="Attach a photo or file">
          <span aria-hidden="true">📎</span>
          <span class="sr-only">Attach a photo or file</span>
        </label>
        <label class="sr-only" for="composer-input">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={input}
          rows={1}
          placeholder="Message"
          value={text}
          onInput={(e) => change((e.currentTarget as HTMLTextAreaElement).value)}
          onBlur={() => void link.engine.setTyping(id, false)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
          aria-describedby="composer-hint"
        />
        <span id="composer-hint" class="sr-only">
          Enter sends; Shift+Enter adds a line.
        </span>
        <button type="submit" class="send primary" aria-label="Send" disabled={text.trim() === ''}>
          ➤
        </button>
      </form>
    </>
  );
}

/** What the reply bar shows of the quoted message (the reply itself carries the same excerpt). */
function replyExcerpt(m: MessageView): string {
  const c = m.content;
  const full = c.kind === 'text' ? c.text : c.kind === 'media' ? c.caption || c.media.fileName : '';
  return full.length > REPLY_BAR_CHARS ? `${full.slice(0, REPLY_BAR_CHARS)}…` : full;
}
