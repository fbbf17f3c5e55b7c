/**
 * A photo attached while offline, in Debian's Chromium (issue #9): it shows at
 * once as a pending bubble (its full image opened from the sealed copy in the
 * replica, no server), a text written after it waits behind it, both survive a
 * reload while still offline, and when the network returns the other person
 * receives the photo, then the text, and the photo's bubble turns in place.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { encodePng } from '../build/png.js';
import { useStack, ARTIFACTS, type User } from './support/stack.js';
import { UI_TIMEOUT, attach, newDm, openChatAt, send, signUp, waitMessage, waitServiceWorker, waitStatus, waitTick } from './support/app.js';

const stack = useStack();
let alice: User;
let bob: User;


/** The bubbles of the open conversation, top to bottom: `photo <name>` for an image, else the text. */
function bubbles(page: Page): Promise<string[]> {
  return page.locator('.msg').evaluateAll((els) =>
    els.map((el) => {
      const img = el.querySelector('.media-image');
      if (img) return `photo ${img.querySelector('img.media-full')?.getAttribute('alt') ?? ''}`.trim();
      return el.querySelector('.text')?.textContent ?? '';
    }),
  );
}

describe('a photo sent offline', () => {
  it('is a pending bubble at once, survives a reload offline, and reaches the other person before the text after it', { timeout: 120_000 }, async () => {
    alice = await stack.user('alice');
    bob = await stack.user('bob');
    await signUp(alice.page, 'alice');
    await signUp(bob.page, 'bob');
    await newDm(alice.page, 'bob');
    await send(alice.page, 'photo later');
    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, 'photo later');
    await waitTick(alice.page, 'photo later', 'read');

    await waitServiceWorker(alice.page);
    await alice.context.setOffline(true);
    alice.gateway.setOffline(true);
    await waitStatus(alice.page, 'offline');

    const png = encodePng(240, (x, y) => [x, y, (x * y) % 256, 255]);
    await attach(alice.page, [{ name: 'quay.png', mimeType: 'image/png', buffer: png }]);
    const pendingPhoto = alice.page.locator('.msg.mine[data-state="pending"] .media-image');
    await pendingPhoto.waitFor({ timeout: UI_TIMEOUT });
    // Opened from the sealed copy in the replica: the full image shows with no server.
    await pendingPhoto.locator('img.media-full').waitFor({ timeout: UI_TIMEOUT });
    expect(await alice.page.locator('.upload-note.error').count()).toBe(0);
    await send(alice.page, 'after the photo');
    await waitTick(alice.page, 'after the photo', 'pending');

    // Still offline: reload. The photo's bubble and the text are still there, pending, in order.
    await alice.page.reload();
    await waitMessage(alice.page, 'after the photo');
    await alice.page.locator('.msg.mine[data-state="pending"] .media-image img.media-full').waitFor({ timeout: UI_TIMEOUT });
    await waitTick(alice.page, 'after the photo', 'pending');
    expect(await bubbles(alice.page)).toEqual(['photo later', 'photo quay.png', 'after the photo']);
    await waitStatus(alice.page, 'offline');
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'photo-offline-pending.png') });

    alice.gateway.setOffline(false);
    await alice.context.setOffline(false);
    await waitStatus(alice.page, 'online');
    await waitMessage(bob.page, 'after the photo');
    await bob.page.locator('.msg .media-image img.media-full').waitFor({ timeout: UI_TIMEOUT });
    expect(await bubbles(bob.page)).toEqual(['photo later', 'photo quay.png', 'after the photo']);
    // Alice's photo bubble turned read in place: one photo, no duplicate row.
    await alice.page.locator('.msg.mine[data-state="read"] .media-image').waitFor({ timeout: UI_TIMEOUT });
    await waitTick(alice.page, 'after the photo', 'read');
    expect(await bubbles(alice.page)).toEqual(['photo later', 'photo quay.png', 'after the photo']);
  });
});
