/** Page helpers: drive the app the way a person does (labels, roles, keyboard). */
import type { Page } from 'playwright-core';

export const PASSWORD = 'correct horse battery';
/** Longest wait for one UI state, ms. */
export const UI_TIMEOUT = 20_000;

export async function signUp(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await waitStatus(page, 'online');
}

export async function waitStatus(page: Page, status: 'offline' | 'connecting' | 'syncing' | 'online'): Promise<void> {
  await page.locator(`[role="status"][data-status="${status}"]`).waitFor({ timeout: UI_TIMEOUT });
}

export async function newDm(page: Page, username: string): Promise<void> {
  await page.getByRole('link', { name: 'New conversation' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByLabel('Message', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
}

export async function newGroup(page: Page, name: string, members: readonly string[]): Promise<void> {
  await page.getByRole('link', { name: 'New conversation' }).click();
  await page.getByRole('tab', { name: 'Group' }).click();
  await page.getByLabel('Group name').fill(name);
  await page.getByLabel(/^Members/).fill(members.join(', '));
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByLabel('Message', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
}

/** Types a message and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** Opens the conversation whose chat-list row has this title. */
export async function openChat(page: Page, title: string): Promise<void> {
  await page.locator(`a.chat[data-chat="${title}"]`).click({ timeout: UI_TIMEOUT });
  await page.getByLabel('Message', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
}

/** Waits until the newest own message with this text has tick state `state`. */
export async function waitTick(page: Page, text: string, state: string): Promise<void> {
  await page
    .locator('.msg.mine', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) })
    .last()
    .locator(`[data-tick="${state}"]`)
    .waitFor({ timeout: UI_TIMEOUT });
}

/** Waits until a message with this text is shown. */
export async function waitMessage(page: Page, text: string): Promise<void> {
  await page
    .locator('.msg .text', { hasText: new RegExp(`^${text}$`) })
    .last()
    .waitFor({ timeout: UI_TIMEOUT });
}

/** Texts of the message bubbles on screen, top to bottom. */
export function texts(page: Page): Promise<string[]> {
  return page.locator('.msg .text').allTextContents();
}

/** Opens the conversation at this position of the chat list (0: most recent). */
export async function openChatAt(page: Page, index: number): Promise<void> {
  await page.locator('a.chat').nth(index).click({ timeout: UI_TIMEOUT });
  await page.getByLabel('Message', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
}

/** Waits until the service worker is active and controls the page. */
export async function waitServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (navigator.serviceWorker.controller) return;
    await new Promise<void>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }));
  });
}

/** Signs in an existing account (a new device of it). */
export async function signIn(page: Page, username: string): Promise<void> {
  await page.getByRole('button', { name: 'I already have an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitStatus(page, 'online');
}

/** Init script: records Content-Security-Policy violations in `window.__csp` (read with `cspViolations`). */
export const RECORD_CSP = `window.__csp = []; addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;

export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? ['RECORD_CSP was not installed']);
}

/** Picks files with the composer's attachment control (as the file chooser would). */
export async function attach(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]): Promise<void> {
  await page.getByLabel('Attach a photo or file').setInputFiles(files);
}
