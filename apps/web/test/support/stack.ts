/**
 * The browser tests' stack (see start-stack.ts), started and closed once per
 * test file by `useStack`; everything start-stack.ts exports is re-exported
 * here, so tests import from one place.
 */
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { ARTIFACTS, startStack, type Stack, type StackOptions } from './start-stack.js';

export * from './start-stack.js';

/** Longest a stack may take to start (a production build of the app, a server, Chromium), ms. */
export const STACK_START_MS = 120_000;

/**
 * One stack for the calling test file: started before its tests (with the
 * artifacts folder made), closed after them. The returned Stack forwards to
 * it, so tests use it as if it had been started already.
 */
export function useStack(options: StackOptions = {}): Stack {
  let started: Stack | undefined;
  const get = (): Stack => {
    if (!started) throw new Error('the stack starts in beforeAll');
    return started;
  };
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    started = await startStack(options);
  }, STACK_START_MS);
  afterAll(async () => {
    await started?.close();
  });
  return {
    get server() {
      return get().server;
    },
    get browser() {
      return get().browser;
    },
    get distDir() {
      return get().distDir;
    },
    get dataDir() {
      return get().dataDir;
    },
    user: (username, userOptions) => get().user(username, userOptions),
    close: () => get().close(),
  };
}

