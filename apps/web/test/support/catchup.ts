/**
 * Catch-up helpers shared by the catch-up browser test (catchup.e2e.test.ts)
 * and the PWA catch-up benchmark (bench/catchup-pwa.ts): read the chat list's
 * unread counts from the DOM (each row's `data-unread`), and take a user's
 * PWA really offline — every page of its context closed, its gateway cut, and
 * its SharedWorker (the engine) gone — while its IndexedDB stays in the
 * context, so messages arrive while no engine of that user is running.
 */
import type { Browser } from 'playwright-core';
import type { User } from './start-stack.js';

/** Longest wait for the engine's worker to end after its last page closed, ms. */
export const WORKER_EXIT_MS = 30_000;
/** Pause between two looks at the browser's targets, ms. */
const POLL_MS = 100;

/** One chat-list row as the DOM shows it. */
export interface ChatRow {
  readonly title: string;
  readonly unread: number;
  readonly preview: string;
}

/** Every chat-list row on the page, top to bottom. */
export function chatRows(page: User['page']): Promise<ChatRow[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('a.chat')].map((a) => ({
      title: a.dataset.chat ?? '',
      unread: Number(a.dataset.unread),
      preview: a.querySelector('.chat-preview')?.textContent ?? '',
    })),
  );
}

/** Waits until the chat list has exactly `chats` rows and each shows `unread` unread. */
export async function waitUnread(page: User['page'], chats: number, unread: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    ({ n, u }) => {
      const rows = [...document.querySelectorAll<HTMLElement>('a.chat')];
      return rows.length === n && rows.every((a) => a.dataset.unread === String(u));
    },
    { n: chats, u: unread },
    { timeout: timeoutMs, polling: 'raf' },
  );
}

/** Workers (shared, dedicated, service) the browser runs for this origin, by CDP target type. */
export async function workersOf(browser: Browser, origin: string): Promise<string[]> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { type: string; url: string }[] };
    return targetInfos.filter((t) => t.type.endsWith('worker') && t.url.startsWith(`${origin}/`)).map((t) => t.type);
  } finally {
    await cdp.detach();
  }
}

/**
 * Takes `user` offline: closes its pages, cuts its gateway (its sockets drop,
 * new ones are refused) and waits until its engine's SharedWorker has ended.
 * Its browser context, and so its IndexedDB, stays. `back` undoes the cut.
 */
export async function takeOffline(browser: Browser, user: User): Promise<{ back(): void }> {
  // Seen running first, so "gone" below is not just a worker this look cannot see.
  if (!(await workersOf(browser, user.gateway.url)).includes('shared_worker')) throw new Error("no SharedWorker runs the engine (is it a dedicated worker?)");
  for (const p of user.context.pages()) await p.close();
  user.gateway.setOffline(true);
  const end = Date.now() + WORKER_EXIT_MS;
  for (;;) {
    const left = await workersOf(browser, user.gateway.url);
    if (!left.includes('shared_worker') && user.gateway.openSockets() === 0) break;
    if (Date.now() > end) throw new Error(`the engine's worker did not end: ${left.join(', ')} still running`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { back: () => user.gateway.setOffline(false) };
}
