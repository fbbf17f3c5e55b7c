/**
 * The service worker's push handler in Chromium: a push that names only a
 * conversation and a count (as the server sends it) is delivered to the
 * service worker through the DevTools protocol (ServiceWorker.deliverPushMessage);
 * the worker asks the engine to sync and shows a notification whose text is
 * the newest message, decrypted on the device.
 */
import { describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { useStack } from './support/stack.js';
import { UI_TIMEOUT, newDm, openChatAt, send, signUp, waitMessage, waitServiceWorker } from './support/app.js';

const stack = useStack();

interface Shown {
  title: string;
  body: string;
  tag: string;
}

const notifications = (page: Page): Promise<Shown[]> =>
  page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });

/** The service worker registration id of this page's origin, as DevTools knows it. */
async function registrationId(cdp: CDPSession, origin: string): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on(
      'ServiceWorker.workerRegistrationUpdated',
      (e: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
        const r = e.registrations.find((x) => x.scopeURL === `${origin}/` && !x.isDeleted);
        if (r) resolve(r.registrationId);
      },
    );
  });
  await cdp.send('ServiceWorker.enable');
  return found;
}

describe('push notifications in the service worker', () => {
  it('shows the newest message of the pushed conversation, decrypted by the engine', { timeout: 90_000 }, async () => {
    const alice = await stack.user('push-alice');
    const bob = await stack.user('push-bob');
    await signUp(alice.page, 'pushalice');
    await signUp(bob.page, 'pushbob');
    await newDm(alice.page, 'pushbob');
    await send(alice.page, 'the owl flies at midnight');

    await openChatAt(bob.page, 0);
    await waitMessage(bob.page, 'the owl flies at midnight');
    const conversationId = /^#\/c\/(\d+)/.exec(await bob.page.evaluate(() => location.hash))?.[1];
    expect(conversationId).toBeDefined();
    await waitServiceWorker(bob.page);
    await bob.context.grantPermissions(['notifications'], { origin: bob.gateway.url });

    const cdp = await bob.context.newCDPSession(bob.page);
    const id = await registrationId(cdp, bob.gateway.url);
    // Exactly what the server sends (after RFC 8291 decryption by the browser): ids and a count, no content.
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: bob.gateway.url,
      registrationId: id,
      data: JSON.stringify({ c: conversationId, n: 1 }),
    });

    await expect.poll(() => notifications(bob.page), { timeout: UI_TIMEOUT }).toHaveLength(1);
    const [shown] = await notifications(bob.page);
    // Titled by the conversation (the peer's name as the engine knows it), the text is the message itself.
    expect(shown).toMatchObject({ body: 'the owl flies at midnight', tag: `conversation-${conversationId}` });
    expect(shown?.title).toMatch(/\S/);

    // A newer push for the same conversation replaces the notification (one per conversation).
    await send(alice.page, 'second thoughts');
    await waitMessage(bob.page, 'second thoughts');
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: bob.gateway.url,
      registrationId: id,
      data: JSON.stringify({ c: conversationId, n: 2 }),
    });
    await expect.poll(async () => (await notifications(bob.page)).map((n) => n.body), { timeout: UI_TIMEOUT }).toEqual(['second thoughts']);

    // A push that is not ours shows nothing new.
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: bob.gateway.url, registrationId: id, data: 'garbage' });
    expect(await notifications(bob.page)).toHaveLength(1);
    await alice.context.close();
    await bob.context.close();
  });
});
