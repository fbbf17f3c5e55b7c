/**
 * The web app end to end in Debian's Chromium: two (and three) people in
 * separate browser contexts, each on its own origin in front of one real sync
 * server. Covers sign-up, DMs with ticks, offline sends that survive a reload,
 * groups, and two tabs sharing one engine and one socket.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useStack, ARTIFACTS, type User } from './support/stack.js';
import { UI_TIMEOUT, waitServiceWorker, newDm, newGroup, openChatAt, send, signUp, texts, waitMessage, waitStatus, waitTick } from './support/app.js';

const stack = useStack();
let alice: User;
let bob: User;


/** KeyPackages the server holds for a user's devices. */
async function keyPackagesOf(username: string): Promise<number> {
  const { rows } = await stack.server.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM key_packages k JOIN devices d ON d.id = k.device_id JOIN users u ON u.id = d.user_id WHERE u.username = $1',
    [username],
  );
  return Number(rows[0]?.n ?? 0);
}

describe('web app', () => {
  it('signs up two people who exchange messages; ticks go sent -> delivered -> read', { timeout: 60_000 }, async () => {
    alice = await stack.user('alice');
    bob = await stack.user('bob');
    await signUp(alice.page, 'alice');
    await signUp(bob.page, 'bob');
    // 'online' comes before a new device has published its KeyPackages; closing Bob's tab earlier
    // leaves Alice's DM group without his device and "hi bob" unreadable to him for good.
    await expect.poll(() => keyPackagesOf('bob'), { timeout: UI_TIMEOUT }).toBeGreaterThan(0);

    // Bob has no tab open: none of his devices is online, so Alice's message stays "sent".
    await bob.page.close();
    await newDm(alice.page, 'bob');
    await send(alice.page, 'hi bob');
    await waitTick(alice.page, 'hi bob', 'sent');

    // Bob comes back: his engine stores the message (delivered), then he opens the chat (read).
    const page = await bob.context.newPage();
    await page.goto(bob.gateway.url);
    bob = { ...bob, page };
    await waitStatus(bob.page, 'online');
    await waitTick(alice.page, 'hi bob', 'delivered');
    await bob.page.locator('a.chat .badge', { hasText: '1' }).waitFor({ timeout: UI_TIMEOUT });
    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, 'hi bob');
    await waitTick(alice.page, 'hi bob', 'read');

    // And back: Bob answers, Alice reads it at once (her chat is open).
    await send(bob.page, 'hello alice');
    await waitMessage(alice.page, 'hello alice');
    await waitTick(bob.page, 'hello alice', 'read');
    expect(await texts(alice.page)).toEqual(['hi bob', 'hello alice']);
    // End to end encrypted: the server's log holds MLS ciphertext, not the words.
    const { rows } = await stack.server.db.query<{ body: Uint8Array; type: number }>('SELECT body, type FROM entries');
    expect(rows.some((r) => Number(r.type) === 20)).toBe(true); // MLS Commits were logged
    for (const r of rows) {
      const bytes = Buffer.from(r.body);
      expect(bytes.includes(Buffer.from('hi bob'))).toBe(false);
      expect(bytes.includes(Buffer.from('hello alice'))).toBe(false);
    }

    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'conversation.png') });
    await alice.page.goto(`${alice.gateway.url}/#/`);
    await alice.page.locator('a.chat').first().waitFor();
    await alice.page.setViewportSize({ width: 390, height: 760 });
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'chat-list-phone.png') });
    await alice.page.setViewportSize({ width: 1000, height: 700 });
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'chat-list.png') });
  });

  it('keeps offline sends through a reload and delivers them in order when the network returns', { timeout: 60_000 }, async () => {
    await openChatAt(alice.page, 0);
    await waitServiceWorker(alice.page);
    await alice.context.setOffline(true);
    alice.gateway.setOffline(true);
    await waitStatus(alice.page, 'offline');

    for (const text of ['one', 'two', 'three']) {
      await send(alice.page, text);
      await waitTick(alice.page, text, 'pending');
    }

    // Still offline: the service worker serves the shell, the replica the history and the outbox.
    await alice.page.reload();
    await waitMessage(alice.page, 'three');
    expect(await texts(alice.page)).toEqual(['hi bob', 'hello alice', 'one', 'two', 'three']);
    for (const text of ['one', 'two', 'three']) await waitTick(alice.page, text, 'pending');
    await waitStatus(alice.page, 'offline');

    alice.gateway.setOffline(false);
    await alice.context.setOffline(false);
    await waitStatus(alice.page, 'online');
    await waitTick(alice.page, 'three', 'read');
    await waitMessage(bob.page, 'three');
    expect(await texts(bob.page)).toEqual(['hi bob', 'hello alice', 'one', 'two', 'three']);
  });

  it('runs a group of three', { timeout: 60_000 }, async () => {
    const carol = await stack.user('carol');
    await signUp(carol.page, 'carol');
    await expect.poll(() => keyPackagesOf('carol'), { timeout: UI_TIMEOUT }).toBeGreaterThan(0); // else the group is made without her device
    await alice.page.goto(`${alice.gateway.url}/#/`);
    await newGroup(alice.page, 'Trio', ['bob', 'carol']);
    await send(alice.page, 'welcome to trio');
    await waitTick(alice.page, 'welcome to trio', 'delivered');

    for (const person of [bob, carol]) {
      await person.page.goto(`${person.gateway.url}/#/`);
      await person.page.locator('a.chat[data-chat="Trio"]').click({ timeout: UI_TIMEOUT });
      await waitMessage(person.page, 'welcome to trio');
    }
    await send(carol.page, 'hi all');
    await waitMessage(alice.page, 'hi all');
    await waitMessage(bob.page, 'hi all');
    await waitTick(alice.page, 'welcome to trio', 'read');

    // Group info lists the three members.
    await alice.page.getByRole('link', { name: 'Group info' }).click();
    await expect.poll(() => alice.page.locator('.member').count(), { timeout: UI_TIMEOUT }).toBe(3);
    await alice.page.getByRole('link', { name: 'Back to the conversation' }).click();
    await waitMessage(alice.page, 'hi all');
    await carol.context.close();
  });

  it('keeps two tabs of one person in sync over one socket (SharedWorker)', { timeout: 60_000 }, async () => {
    await waitStatus(alice.page, 'online');
    const before = alice.gateway.upgrades();
    expect(alice.gateway.openSockets()).toBe(1);
    const second = await alice.context.newPage();
    await second.goto(`${alice.gateway.url}/#/`);
    await waitStatus(second, 'online');
    expect(await second.evaluate(() => document.documentElement.dataset.engine)).toBe('shared');
    await second.locator('a.chat[data-chat="Trio"]').click();
    await send(second, 'from tab two');
    await waitMessage(alice.page, 'from tab two');
    await waitMessage(bob.page, 'from tab two');
    expect(alice.gateway.upgrades()).toBe(before);
    expect(alice.gateway.openSockets()).toBe(1);
    await second.close();
  });

  it('elects one leader per origin where SharedWorker is missing: two tabs, one socket', { timeout: 60_000 }, async () => {
    const dave = await stack.user('dave', { noSharedWorker: true });
    await dave.page.getByLabel('Username').waitFor();
    expect(await dave.page.evaluate(() => document.documentElement.dataset.engine)).toBe('dedicated');
    await signUp(dave.page, 'dave');
    const second = await dave.context.newPage();
    await second.goto(dave.gateway.url);
    await waitStatus(second, 'online');
    await newDm(second, 'bob');
    await send(second, 'dave here');
    await dave.page.locator('a.chat').first().click({ timeout: UI_TIMEOUT });
    await waitMessage(dave.page, 'dave here');
    await waitTick(dave.page, 'dave here', 'delivered');
    expect(dave.gateway.openSockets()).toBe(1);
    expect(dave.gateway.upgrades()).toBe(1);
    await dave.context.close();
  });
});
