/**
 * The rest of the convergent state in the web app, end to end in Chromium:
 * message pins (the pinned bar), a group's name and description, the
 * disappearing-messages timer, a message's edit history, and timed mutes.
 * Two people on their own origins in front of one real sync server: what one
 * sets travels as encrypted CRDT state and shows on the other's device.
 */
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useStack, type User } from './support/stack.js';
import { UI_TIMEOUT, newDm, newGroup, openChat, send, signUp, waitMessage } from './support/app.js';

const stack = useStack();
let alice: User;
let bob: User;
/** Erin's page, in her DM with Alice after the timed-mute test. */
let erinPage: Page | null = null;

const HOUR_MS = 3_600_000;


/** The newest message row whose text is exactly `text` (a regular expression source). */
const row = (page: Page, text: string): Locator =>
  page.locator('.msg', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) }).last();

/** Opens a row's action menu and chooses an item by its accessible name. */
async function choose(page: Page, text: string, item: string): Promise<void> {
  await row(page, text).getByRole('button', { name: 'Message actions' }).click({ timeout: UI_TIMEOUT });
  await page.getByRole('menuitem', { name: item, exact: true }).click({ timeout: UI_TIMEOUT });
}

async function edit(page: Page, text: string, next: string): Promise<void> {
  await choose(page, text, 'Edit');
  const box = page.getByLabel('Edit message');
  await box.fill(next);
  await box.press('Enter');
}

const pinnedText = (page: Page): Locator => page.getByRole('region', { name: 'Pinned messages' }).locator('.pinned-text');
const headerTitle = (page: Page): Locator => page.locator('.conversation .conv-title h2');

describe('more conversation state in the web app', () => {
  it('a pinned message shows in the pinned bar on the other member\'s device, with a count when there are more', { timeout: 90_000 }, async () => {
    alice = await stack.user('alice');
    bob = await stack.user('bob');
    await signUp(alice.page, 'alice');
    await signUp(bob.page, 'bob');
    await newGroup(alice.page, 'Trip', ['bob']);
    await send(alice.page, 'meet at the station');
    await send(alice.page, 'bring snacks');
    await openChat(bob.page, 'Trip');
    await waitMessage(bob.page, 'bring snacks');

    await choose(alice.page, 'meet at the station', 'Pin');
    await expect.poll(() => pinnedText(bob.page).textContent({ timeout: UI_TIMEOUT }), { timeout: UI_TIMEOUT }).toBe('meet at the station');
    // The menu now offers Unpin for it.
    await row(bob.page, 'meet at the station').getByRole('button', { name: 'Message actions' }).click();
    await bob.page.getByRole('menuitem', { name: 'Unpin', exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await bob.page.keyboard.press('Escape');

    // A second pin: the bar shows the latest, "2 of 2", and steps back to the first.
    await choose(alice.page, 'bring snacks', 'Pin');
    await expect.poll(() => pinnedText(bob.page).textContent(), { timeout: UI_TIMEOUT }).toBe('bring snacks');
    const count = bob.page.getByRole('button', { name: /^Pinned message 2 of 2/ });
    await count.waitFor({ timeout: UI_TIMEOUT });
    await count.click();
    await expect.poll(() => pinnedText(bob.page).textContent(), { timeout: UI_TIMEOUT }).toBe('meet at the station');

    // Bob unpins the one shown: Alice's bar is down to the other, without a count.
    await bob.page.getByRole('button', { name: 'Unpin this message' }).click();
    await expect.poll(() => pinnedText(alice.page).textContent(), { timeout: UI_TIMEOUT }).toBe('bring snacks');
    await expect.poll(() => alice.page.locator('.pinned-bar').getAttribute('data-count'), { timeout: UI_TIMEOUT }).toBe('1');
    expect(await alice.page.getByRole('button', { name: /^Pinned message/ }).count()).toBe(0);
  });

  it('a new group name and description set by one member show in the other\'s header, chat list and group info', { timeout: 60_000 }, async () => {
    await alice.page.getByRole('link', { name: 'Group info' }).click();
    const name = alice.page.getByLabel('Group name');
    await expect.poll(() => name.inputValue(), { timeout: UI_TIMEOUT }).toBe('Trip');
    await name.fill('Weekend trip');
    await alice.page.getByLabel('Description').fill('Saturday and Sunday, bring boots');
    await alice.page.getByRole('button', { name: 'Save', exact: true }).click();
    await alice.page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: UI_TIMEOUT });

    await expect.poll(() => headerTitle(bob.page).textContent(), { timeout: UI_TIMEOUT }).toBe('Weekend trip');
    await bob.page.locator('a.chat[data-chat="Weekend trip"]').waitFor({ timeout: UI_TIMEOUT });
    expect(await bob.page.locator('a.chat[data-chat="Trip"]').count()).toBe(0);
    await alice.page.locator('a.chat[data-chat="Weekend trip"]').waitFor({ timeout: UI_TIMEOUT });

    await bob.page.getByRole('link', { name: 'Group info' }).click();
    await expect.poll(() => bob.page.getByLabel('Description').inputValue(), { timeout: UI_TIMEOUT }).toBe('Saturday and Sunday, bring boots');
    expect(await bob.page.getByLabel('Group name').inputValue()).toBe('Weekend trip');
    await bob.page.getByRole('link', { name: 'Back to the conversation' }).click();
  });

  it('a disappearing timer chosen by one member shows in the other\'s conversation, and turning it off clears it', { timeout: 60_000 }, async () => {
    await alice.page.getByRole('radio', { name: '1 day' }).check();
    await expect.poll(() => alice.page.getByRole('radio', { name: '1 day' }).isChecked(), { timeout: UI_TIMEOUT }).toBe(true);
    const note = bob.page.getByRole('note').filter({ hasText: 'Messages disappear after' });
    await expect.poll(() => note.textContent({ timeout: UI_TIMEOUT }), { timeout: UI_TIMEOUT }).toContain('Messages disappear after 1 day');

    await alice.page.getByRole('radio', { name: 'Off' }).check();
    await expect.poll(() => note.count(), { timeout: UI_TIMEOUT }).toBe(0);
    await alice.page.getByRole('link', { name: 'Back to the conversation' }).click();
  });

  it('a message edited twice shows both earlier versions with times in its history, opened with the keyboard', { timeout: 60_000 }, async () => {
    await send(alice.page, 'dinner at 7');
    await waitMessage(bob.page, 'dinner at 7');
    await edit(alice.page, 'dinner at 7', 'dinner at 8');
    await waitMessage(alice.page, 'dinner at 8');
    await edit(alice.page, 'dinner at 8', 'dinner at 9');
    await waitMessage(bob.page, 'dinner at 9');

    const label = row(bob.page, 'dinner at 9').getByRole('button', { name: /^edited/ });
    await label.focus();
    await bob.page.keyboard.press('Enter');
    const history = bob.page.getByRole('region', { name: 'Earlier versions' });
    await expect.poll(() => history.locator('.version-text').allTextContents(), { timeout: UI_TIMEOUT }).toEqual(['dinner at 8', 'dinner at 7']);
    expect(await history.locator('.version time').count()).toBe(2);
    expect(await history.locator('.version time').first().textContent()).toMatch(/\d/);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => history.count(), { timeout: UI_TIMEOUT }).toBe(0);
    expect(await label.getAttribute('aria-expanded')).toBe('false');
  });

  it('a timed mute is muted until its time and then not; "Always" is for ever', { timeout: 60_000 }, async () => {
    // Erin's page runs on Playwright's clock (flowing normally) so the 8 hours can pass in a moment.
    const erin = await stack.user('erin');
    await erin.context.clock.install();
    await erin.page.reload();
    await signUp(erin.page, 'erin');
    await newDm(erin.page, 'alice');
    const page = erin.page;
    erinPage = page;
    const mute = page.getByRole('button', { name: 'Mute', exact: true });
    const marker = page.locator('a.chat [data-flag="muted"]');

    const before = await page.evaluate(() => Date.now());
    await mute.click();
    await page.getByRole('menuitem', { name: 'For 8 hours' }).click();
    await page.locator('button[aria-label="Mute"][aria-pressed="true"]').waitFor({ timeout: UI_TIMEOUT });
    await marker.waitFor({ timeout: UI_TIMEOUT });
    const after = await page.evaluate(() => Date.now());
    const until = Number(await mute.getAttribute('data-muted-until'));
    expect(until).toBeGreaterThanOrEqual(before + 8 * HOUR_MS);
    expect(until).toBeLessThanOrEqual(after + 8 * HOUR_MS);

    // Eight hours later the flag goes away by itself, in the header and the chat list.
    await page.clock.fastForward('08:00:05');
    await page.locator('button[aria-label="Mute"][aria-pressed="false"]').waitFor({ timeout: UI_TIMEOUT });
    await expect.poll(() => marker.count(), { timeout: UI_TIMEOUT }).toBe(0);

    // Always: stored as for ever, and still muted a week later.
    await mute.click();
    await page.getByRole('menuitem', { name: 'Always' }).click();
    await marker.waitFor({ timeout: UI_TIMEOUT });
    expect(await mute.getAttribute('data-muted-until')).toBe('Infinity');
    await page.clock.fastForward(7 * 24 * HOUR_MS);
    // Reopen the chat so the header and the row render again at the later time.
    await page.locator('a.chat').first().click();
    await page.locator('button[aria-label="Mute"][aria-pressed="true"]').waitFor({ timeout: UI_TIMEOUT });
    expect(await mute.getAttribute('aria-pressed')).toBe('true');
    expect(await marker.count()).toBe(1);

    // Pressing it again unmutes.
    await mute.click();
    await expect.poll(() => marker.count(), { timeout: UI_TIMEOUT }).toBe(0);
  });

  it('a disappearing timer set in a DM\'s contact info shows on the other person\'s device', { timeout: 60_000 }, async () => {
    const erin = erinPage;
    if (!erin) throw new Error('the timed-mute test runs first and leaves Erin in her DM with Alice');
    // Alice may not know Erin's name yet: she opens the chat by its newest message.
    await send(erin, 'hello alice');
    await alice.page.locator('a.chat', { hasText: 'hello alice' }).click({ timeout: UI_TIMEOUT });
    await waitMessage(alice.page, 'hello alice');

    await erin.getByRole('link', { name: 'Contact info and safety number' }).click();
    await erin.getByRole('radio', { name: '7 days' }).check();
    await expect.poll(() => erin.getByRole('radio', { name: '7 days' }).isChecked(), { timeout: UI_TIMEOUT }).toBe(true);
    const note = alice.page.getByRole('note').filter({ hasText: 'Messages disappear after' });
    await expect.poll(() => note.textContent({ timeout: UI_TIMEOUT }), { timeout: UI_TIMEOUT }).toContain('Messages disappear after 7 days');
  });
});
