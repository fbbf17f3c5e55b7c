/**
 * Edits, deletions and reactions in the web app, end to end in Chromium: two
 * people on their own origins in front of one real sync server. The actions
 * go through the per-message menu (keyboard for the reaction), travel as
 * encrypted CRDT state, and the other side's conversation view re-reads on the
 * engine's `state` event. Chat-list flags (pin, mute, archive) are set from
 * the conversation header and shown in the chat list.
 */
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useStack, type User } from './support/stack.js';
import { UI_TIMEOUT, newDm, openChatAt, send, signUp, waitMessage } from './support/app.js';

const stack = useStack();
let alice: User;


/** The newest message row whose text is exactly `text`. */
const row = (page: Page, text: string): Locator =>
  page.locator('.msg', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) }).last();

/** Opens a row's action menu and chooses an item by its accessible name. */
async function choose(page: Page, text: string, item: string): Promise<void> {
  await row(page, text).getByRole('button', { name: 'Message actions' }).click({ timeout: UI_TIMEOUT });
  await page.getByRole('menuitem', { name: item, exact: true }).click({ timeout: UI_TIMEOUT });
}

describe('message state in the web app', () => {
  it('a reaction, an edit and a delete for everyone reach the other person; delete for me stays local', { timeout: 60_000 }, async () => {
    alice = await stack.user('alice');
    const bob = await stack.user('bob');
    await signUp(alice.page, 'alice');
    await signUp(bob.page, 'bob');
    await newDm(alice.page, 'bob');
    await send(alice.page, 'lunch at noon?');
    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, 'lunch at noon\\?');

    // Bob reacts with the keyboard: focus the menu button, Enter opens the menu on its first item (👍), Enter chooses it.
    await row(bob.page, 'lunch at noon\\?').getByRole('button', { name: 'Message actions' }).focus();
    await bob.page.keyboard.press('Enter');
    await expect.poll(() => bob.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), { timeout: UI_TIMEOUT }).toBe('React 👍');
    await bob.page.keyboard.press('Enter');
    await expect.poll(() => bob.page.getByRole('menu').count()).toBe(0);
    await row(alice.page, 'lunch at noon\\?').getByRole('button', { name: '👍 1' }).waitFor({ timeout: UI_TIMEOUT });
    await row(bob.page, 'lunch at noon\\?').locator('.reaction.mine[data-emoji="👍"]').waitFor({ timeout: UI_TIMEOUT });

    // Alice edits her message: Bob sees the new text with the edited marker; the reaction stays.
    await choose(alice.page, 'lunch at noon\\?', 'Edit');
    const box = alice.page.getByLabel('Edit message');
    await box.fill('lunch at one?');
    await box.press('Enter');
    await waitMessage(bob.page, 'lunch at one\\?');
    const edited = row(bob.page, 'lunch at one\\?');
    await edited.locator('.edited', { hasText: 'edited' }).waitFor({ timeout: UI_TIMEOUT });
    await edited.getByRole('button', { name: '👍 1' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await bob.page.getByText('lunch at noon?').count()).toBe(0);
    // Bob may not edit or delete Alice's message for everyone: the menu does not offer it.
    await edited.getByRole('button', { name: 'Message actions' }).click();
    expect(await bob.page.getByRole('menuitem', { name: 'Edit' }).count()).toBe(0);
    expect(await bob.page.getByRole('menuitem', { name: 'Delete for everyone' }).count()).toBe(0);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bob.page.getByRole('menu').count()).toBe(0);

    // Alice deletes it for everyone: Bob sees the placeholder, and neither text nor reaction remains on his page.
    await choose(alice.page, 'lunch at one\\?', 'Delete for everyone');
    const placeholder = bob.page.locator('.msg[data-deleted] .deleted-note', { hasText: 'This message was deleted' });
    await placeholder.waitFor({ timeout: UI_TIMEOUT });
    await alice.page.locator('.msg[data-deleted] .deleted-note').waitFor({ timeout: UI_TIMEOUT });
    expect(await bob.page.getByText(/lunch at/).count()).toBe(0);
    expect(await bob.page.locator('.reaction').count()).toBe(0);

    // Bob deletes the placeholder for himself: gone from his page (and his chat-list preview), still on Alice's.
    await bob.page.locator('.msg[data-deleted]').getByRole('button', { name: 'Message actions' }).click();
    await bob.page.getByRole('menuitem', { name: 'Delete for me', exact: true }).click();
    await expect.poll(() => bob.page.locator('.msg[data-deleted]').count(), { timeout: UI_TIMEOUT }).toBe(0);
    await expect.poll(() => bob.page.getByText('This message was deleted').count(), { timeout: UI_TIMEOUT }).toBe(0);
    expect(await alice.page.locator('.msg[data-deleted]').count()).toBe(1);
  });

  it('pins, mutes and archives a chat from the conversation header; the chat list shows it', { timeout: 30_000 }, async () => {
    const page = alice.page;
    const chatRow = page.locator('a.chat');
    for (const [name, flag] of [
      ['Pin chat', 'pinned'],
      ['Mute', 'muted'],
    ] as const) {
      await page.getByRole('button', { name, exact: true }).click();
      // Mute offers durations (ui/chat-flags.tsx); this flow mutes for ever.
      if (name === 'Mute') await page.getByRole('menuitem', { name: 'Always' }).click({ timeout: UI_TIMEOUT });
      await page.locator(`button[aria-label="${name}"][aria-pressed="true"]`).waitFor({ timeout: UI_TIMEOUT });
      await chatRow.locator(`[data-flag="${flag}"]`).waitFor({ timeout: UI_TIMEOUT });
    }
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    const toggle = page.getByRole('button', { name: 'Archived (1)' });
    await toggle.waitFor({ timeout: UI_TIMEOUT });
    await expect.poll(() => chatRow.count(), { timeout: UI_TIMEOUT }).toBe(0);
    await toggle.click();
    await chatRow.first().waitFor({ timeout: UI_TIMEOUT });
    // Unarchived again: the row is back without the toggle.
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    await expect.poll(() => page.getByRole('button', { name: /^(Archived|Hide archived)/ }).count(), { timeout: UI_TIMEOUT }).toBe(0);
    await chatRow.first().waitFor({ timeout: UI_TIMEOUT });
  });
  it('a reply quotes the message it answers, on both sides', { timeout: 60_000 }, async () => {
    const carol = await stack.user('carol');
    const dave = await stack.user('dave');
    await signUp(carol.page, 'carol');
    await signUp(dave.page, 'dave');
    await newDm(carol.page, 'dave');
    await send(carol.page, 'movie tonight?');
    await openChatAt(dave.page, 0);
    await waitMessage(dave.page, 'movie tonight\\?');
    await choose(dave.page, 'movie tonight\\?', 'Reply');
    await dave.page.locator('.replying', { hasText: 'movie tonight?' }).waitFor({ timeout: UI_TIMEOUT });
    await send(dave.page, 'yes, at nine');
    await expect.poll(() => dave.page.locator('.replying').count(), { timeout: UI_TIMEOUT }).toBe(0);
    for (const page of [dave.page, carol.page]) {
      await waitMessage(page, 'yes, at nine');
      const quote = row(page, 'yes, at nine').locator('.quote');
      await quote.waitFor({ timeout: UI_TIMEOUT });
      expect(await quote.locator('.quote-text').textContent()).toBe('movie tonight?');
    }
    expect(await row(carol.page, 'yes, at nine').locator('.quote-from').textContent()).toBe('You');
  });
});
