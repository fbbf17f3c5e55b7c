/**
 * Drafts follow the user across devices, end to end in Chromium: Alice on two
 * devices (two browser contexts on their own origins, one signed up and one
 * signed in) and Bob, in front of one real sync server. A draft typed on one
 * device reaches the other through the account document (the self
 * conversation); sending it there clears it on the first device too. The
 * engine's `draft` (what the composer loads) is read through the test hooks to
 * wait for the sync without sleeping.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useStack, ARTIFACTS } from './support/stack.js';
import { UI_TIMEOUT, newDm, openChatAt, signIn, signUp, waitMessage } from './support/app.js';

const stack = useStack({ testHooks: true });

/** The draft this page's engine would give the composer for a conversation. */
const engineDraft = (page: Page, id: string): Promise<string> =>
  page.evaluate((cid) => (window as unknown as { tidingsEngine: { draft(id: bigint): Promise<string> } }).tidingsEngine.draft(BigInt(cid)), id);

const composer = (page: Page) => page.getByLabel('Message', { exact: true });

/** Leaves the open conversation for the chat list (the back link is only shown on narrow screens). */
async function leaveChat(page: Page): Promise<void> {
  await page.evaluate(() => {
    location.hash = '#/';
  });
  await composer(page).waitFor({ state: 'detached', timeout: UI_TIMEOUT });
}

describe('drafts across devices', () => {
  it("a draft typed on one device shows in the other's composer; sent there, it is gone on the first", { timeout: 120_000 }, async () => {
    const phone = await stack.user('alice');
    const laptop = await stack.user('alice-laptop');
    const bob = await stack.user('bob');
    await signUp(phone.page, 'alice');
    await signUp(bob.page, 'bob');
    await signIn(laptop.page, 'alice');

    await newDm(phone.page, 'bob');
    const id = /#\/c\/(\d+)/.exec(phone.page.url())?.[1];
    expect(id).toBeDefined();
    const chat = id!;

    // The phone types a draft and leaves the chat.
    const draft = 'see you at the station at 9';
    await composer(phone.page).fill(draft);
    await leaveChat(phone.page);

    // The laptop finds it once synced, and its composer shows it for that chat.
    await expect.poll(() => engineDraft(laptop.page, chat), { timeout: UI_TIMEOUT }).toBe(draft);
    await openChatAt(laptop.page, 0);
    await expect.poll(() => composer(laptop.page).inputValue(), { timeout: UI_TIMEOUT }).toBe(draft);
    await laptop.page.screenshot({ path: path.join(ARTIFACTS, 'drafts-laptop.png') });

    // The laptop sends it: Bob gets the message, and the laptop's composer is empty.
    await composer(laptop.page).press('Enter');
    await expect.poll(() => composer(laptop.page).inputValue(), { timeout: UI_TIMEOUT }).toBe('');
    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, draft);

    // Back on the phone, the draft it typed is gone once the send has synced: the chat opens with an empty composer.
    await expect.poll(() => engineDraft(phone.page, chat), { timeout: UI_TIMEOUT }).toBe('');
    await openChatAt(phone.page, 0);
    await waitMessage(phone.page, draft);
    expect(await composer(phone.page).inputValue()).toBe('');
    // And the laptop, leaving and reopening the chat, does not bring it back.
    await leaveChat(laptop.page);
    await openChatAt(laptop.page, 0);
    await waitMessage(laptop.page, draft);
    expect(await composer(laptop.page).inputValue()).toBe('');
    expect(await engineDraft(phone.page, chat)).toBe('');
  });
});
