/**
 * The engine's draft sync (src/engine/drafts.ts) without a browser: two
 * devices' local stores over one shared stand-in for the account document,
 * with fake timers for the sync pause. End to end in drafts.e2e.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationId } from '@tidings/shared';
import { stateLimits } from '@tidings/client';
import { DRAFT_SYNC_MS, DraftSync, type AccountDrafts, type LocalDrafts } from '../src/engine/drafts.js';

const CHAT = 7n as ConversationId;

/** The account document's drafts, shared by every device; counts writes. */
class Document implements AccountDrafts {
  readonly drafts = new Map<string, string>();
  writes = 0;
  unreadable = false;
  chat(id: ConversationId): Promise<{ draft: string }> {
    if (this.unreadable) return Promise.reject(new Error('self conversation not known yet'));
    return Promise.resolve({ draft: this.drafts.get(String(id)) ?? '' });
  }
  setDraft(id: ConversationId, text: string): Promise<void> {
    this.writes++;
    if (text === '') this.drafts.delete(String(id));
    else this.drafts.set(String(id), text);
    return Promise.resolve();
  }
}

class Local implements LocalDrafts {
  readonly drafts = new Map<string, string>();
  draft(id: ConversationId): Promise<string> {
    return Promise.resolve(this.drafts.get(String(id)) ?? '');
  }
  saveDraft(id: ConversationId, text: string): Promise<void> {
    if (text === '') this.drafts.delete(String(id));
    else this.drafts.set(String(id), text);
    return Promise.resolve();
  }
}

let doc: Document;
let phone: { local: Local; sync: DraftSync };
let laptop: { local: Local; sync: DraftSync };

const device = () => {
  const local = new Local();
  return { local, sync: new DraftSync(local, doc) };
};

/** Lets the pause end and the write finish. */
const pause = async () => {
  await vi.advanceTimersByTimeAsync(DRAFT_SYNC_MS);
};

beforeEach(() => {
  vi.useFakeTimers();
  doc = new Document();
  phone = device();
  laptop = device();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('DraftSync', () => {
  it('saves locally at once and in the document only after the pause, latest text winning', async () => {
    await phone.sync.load(CHAT);
    await phone.sync.save(CHAT, 'h');
    await phone.sync.save(CHAT, 'hello');
    expect(phone.local.drafts.get('7')).toBe('hello');
    await vi.advanceTimersByTimeAsync(DRAFT_SYNC_MS - 1);
    expect(doc.drafts.has('7')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(doc.drafts.get('7')).toBe('hello');
    expect(doc.writes).toBe(1);
  });

  it("shows another device's draft when this one has none, and its own when it has one", async () => {
    await phone.sync.save(CHAT, 'from the phone');
    await pause();
    expect(await laptop.sync.load(CHAT)).toBe('from the phone');
    await laptop.local.saveDraft(CHAT, 'typed on the laptop only');
    expect(await laptop.sync.load(CHAT)).toBe('typed on the laptop only');
  });

  it('a draft sent on another device is gone here too, once synced', async () => {
    await phone.sync.save(CHAT, 'hello');
    await pause();
    expect(await laptop.sync.load(CHAT)).toBe('hello');
    await laptop.sync.save(CHAT, 'hello'); // the composer closing: nothing typed, nothing written
    await laptop.sync.save(CHAT, ''); // sent
    await pause();
    expect(doc.drafts.has('7')).toBe(false);
    expect(await phone.sync.load(CHAT)).toBe('');
    expect(phone.local.drafts.has('7')).toBe(false);
  });

  it("sending the draft another device left, straight after opening the chat, clears it everywhere", async () => {
    await phone.sync.save(CHAT, 'hello');
    await pause();
    expect(await laptop.sync.load(CHAT)).toBe('hello');
    await laptop.sync.save(CHAT, ''); // sent: the laptop never held the draft locally
    await pause();
    expect(doc.drafts.has('7')).toBe(false);
    expect(await phone.sync.load(CHAT)).toBe('');
  });

  it('a composer closing unchanged does not undo a change made elsewhere', async () => {
    expect(await phone.sync.load(CHAT)).toBe('');
    await laptop.sync.save(CHAT, 'laptop draft');
    await pause();
    await phone.sync.save(CHAT, ''); // the phone's composer closes with nothing typed
    await pause();
    expect(doc.drafts.get('7')).toBe('laptop draft');
    expect(doc.writes).toBe(1);
  });

  it('a composer closing before its draft loaded does not erase the draft another device left', async () => {
    await laptop.sync.save(CHAT, 'laptop draft');
    await pause();
    await phone.sync.save(CHAT, ''); // the phone never read the document for this chat
    await pause();
    expect(doc.drafts.get('7')).toBe('laptop draft');
    expect(await phone.sync.load(CHAT)).toBe('laptop draft');
  });

  it('keeps an unsynced local edit over the document', async () => {
    await phone.sync.save(CHAT, 'first');
    await pause();
    await laptop.sync.save(CHAT, 'laptop');
    await pause();
    await phone.sync.save(CHAT, 'first, edited');
    expect(await phone.sync.load(CHAT)).toBe('first, edited');
    await pause();
    expect(doc.drafts.get('7')).toBe('first, edited');
  });

  it('writes only when the text differs from the document', async () => {
    await phone.sync.save(CHAT, 'same');
    await pause();
    await laptop.sync.save(CHAT, 'same');
    await pause();
    expect(doc.writes).toBe(1);
  });

  it('flush writes the waiting draft without the pause', async () => {
    await phone.sync.save(CHAT, 'before sign-out');
    await phone.sync.flush();
    expect(doc.drafts.get('7')).toBe('before sign-out');
  });

  it('keeps the local draft when the document cannot be read, and retries on the next save', async () => {
    doc.unreadable = true;
    await phone.sync.save(CHAT, 'offline draft');
    await pause();
    expect(await phone.sync.load(CHAT)).toBe('offline draft');
    doc.unreadable = false;
    await phone.sync.save(CHAT, 'offline draft');
    await pause();
    expect(doc.drafts.get('7')).toBe('offline draft');
  });

  it('keeps a draft over the document limit on this device only', async () => {
    const long = 'x'.repeat(stateLimits.MAX_DRAFT_CHARS + 1);
    await phone.sync.save(CHAT, long);
    await pause();
    expect(doc.writes).toBe(0);
    expect(await phone.sync.load(CHAT)).toBe(long);
  });
});
