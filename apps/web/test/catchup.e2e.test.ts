/**
 * Offline catch-up in Debian's Chromium (issue #11 target 5, the PWA half; the
 * timed version is bench/catchup-pwa.ts). Bob's PWA joins five groups Alice
 * makes and reads each greeting, then goes offline for real: his pages close,
 * his gateway is cut and his engine's SharedWorker ends, while his IndexedDB
 * stays. Alice's engine sends 40 texts to each group, all committed by the
 * server before Bob comes back. When Bob opens the app again, every
 * conversation in his chat list shows exactly 40 unread with the newest text
 * as its preview, and an opened conversation shows that newest message. No
 * timing is asserted: this runs on a shared 2-core machine.
 */
import { describe, expect, it } from 'vitest';
import { useStack } from './support/stack.js';
import { openChat, signUp, UI_TIMEOUT, waitMessage } from './support/app.js';
import { chatRows, takeOffline, waitUnread } from './support/catchup.js';

/** Groups Alice makes with Bob. */
const CONVERSATIONS = 5;
/** Texts each group gets while Bob is offline. */
const PER_CONVERSATION = 40;
/** Generous bounds for a loaded machine: Alice's sends to be committed, Bob's catch-up, ms. */
const SEND_TIMEOUT_MS = 60_000;
const CATCH_UP_TIMEOUT_MS = 60_000;
/** Pause between two looks at Alice's outbox, ms. */
const POLL_MS = 200;

const stack = useStack({ testHooks: true });

/** The engine handle test builds put on the page (see main.tsx), as far as this test uses it. */
interface PageEngine {
  createGroup(name: string, usernames: readonly string[]): Promise<bigint>;
  sendText(id: bigint, text: string): Promise<unknown>;
  messages(id: bigint, limit: number): Promise<{ state: string }[]>;
}

const title = (i: number): string => `catch-up ${i}`;
const text = (i: number, k: number): string => `news ${i}/${k}`;

describe('offline catch-up', () => {
  it('shows every conversation with exactly the messages that arrived while the PWA was closed as unread', { timeout: 240_000 }, async () => {
    const bob = await stack.user('bob-catchup');
    await signUp(bob.page, 'bob');
    const alice = await stack.user('alice-catchup');
    await signUp(alice.page, 'alice');

    const ids = await alice.page.evaluate(async (n) => {
      const engine = (window as unknown as { tidingsEngine: PageEngine }).tidingsEngine;
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = await engine.createGroup(`catch-up ${i}`, ['bob']);
        await engine.sendText(id, `hello ${i}`);
        out.push(id.toString());
      }
      return out;
    }, CONVERSATIONS);
    expect(ids).toHaveLength(CONVERSATIONS);

    // Bob joined every group and reads each greeting.
    await waitUnread(bob.page, CONVERSATIONS, 1, UI_TIMEOUT);
    for (let i = 0; i < CONVERSATIONS; i++) {
      await openChat(bob.page, title(i));
      await waitMessage(bob.page, `hello ${i}`);
    }
    await waitUnread(bob.page, CONVERSATIONS, 0, UI_TIMEOUT);

    const offline = await takeOffline(stack.browser, bob);
    await alice.page.evaluate(
      async ({ ids, per }) => {
        const engine = (window as unknown as { tidingsEngine: PageEngine }).tidingsEngine;
        for (let k = 0; k < per; k++) {
          for (const [i, id] of ids.entries()) await engine.sendText(BigInt(id), `news ${i}/${k}`);
        }
      },
      { ids, per: PER_CONVERSATION },
    );
    // Every text is committed by the server while Bob is away.
    const end = Date.now() + SEND_TIMEOUT_MS;
    for (;;) {
      const pending = await alice.page.evaluate(
        async ({ ids, limit }) => {
          const engine = (window as unknown as { tidingsEngine: PageEngine }).tidingsEngine;
          let n = 0;
          for (const id of ids) n += (await engine.messages(BigInt(id), limit)).filter((m) => m.state === 'pending').length;
          return n;
        },
        { ids, limit: PER_CONVERSATION + 10 },
      );
      if (pending === 0) break;
      if (Date.now() > end) throw new Error(`${pending} of Alice's texts still pending`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }

    offline.back();
    const page = await bob.context.newPage();
    await page.goto(bob.gateway.url);
    await waitUnread(page, CONVERSATIONS, PER_CONVERSATION, CATCH_UP_TIMEOUT_MS);
    const rows = await chatRows(page);
    expect(rows.map((r) => r.title).sort()).toEqual(ids.map((_, i) => title(i)).sort());
    for (const row of rows) {
      const i = Number(row.title.replace('catch-up ', ''));
      expect(row.unread).toBe(PER_CONVERSATION);
      expect(row.preview).toContain(text(i, PER_CONVERSATION - 1));
    }
    // The newest message is there to read, and reading it clears that conversation's count.
    await openChat(page, title(0));
    await waitMessage(page, text(0, PER_CONVERSATION - 1));
    await page.locator(`a.chat[data-chat="${title(0)}"][data-unread="0"]`).waitFor({ timeout: UI_TIMEOUT });
    await alice.context.close();
    await bob.context.close();
  });
});
