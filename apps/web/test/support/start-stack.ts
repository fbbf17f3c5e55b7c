/**
 * The whole stack for browser tests and browser benchmarks: the app built once
 * into a temp dir, a real sync server on port 0 (PGlite in a temp dir),
 * Debian's Chromium through playwright-core, and a gateway per browser
 * context. Everything is torn down by `close()`. No test runner here, so a
 * plain tsx script (bench/catchup-pwa.ts) starts the same stack the tests do;
 * stack.ts adds vitest's per-file `useStack`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { DEFAULTS, startServer, type RunningServer } from '@tidings/sync-server';
import { startGateway, type Gateway } from './gateway.js';

export const WEB_ROOT = path.resolve(import.meta.dirname, '../..');
export const ARTIFACTS = path.join(WEB_ROOT, 'test-artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

/** Builds the app with the project's vite config into `outDir`; `testHooks` adds the EngineTestHooks. */
export async function buildApp(outDir: string, testHooks = false): Promise<void> {
  // vitest sets NODE_ENV=test, which would make Vite build in development mode.
  const nodeEnv = process.env.NODE_ENV;
  const hooks = process.env.TIDINGS_TEST_HOOKS;
  process.env.NODE_ENV = 'production';
  process.env.TIDINGS_TEST_HOOKS = testHooks ? '1' : '0';
  try {
    await buildOnce(outDir);
  } finally {
    process.env.NODE_ENV = nodeEnv;
    if (hooks === undefined) delete process.env.TIDINGS_TEST_HOOKS;
    else process.env.TIDINGS_TEST_HOOKS = hooks;
  }
}

async function buildOnce(outDir: string): Promise<void> {
  await build({
    configFile: path.join(WEB_ROOT, 'vite.config.ts'),
    root: WEB_ROOT,
    logLevel: 'error',
    mode: 'production',
    build: { outDir, emptyOutDir: true },
  });
}

export interface User {
  readonly context: BrowserContext;
  readonly gateway: Gateway;
  readonly page: Page;
  readonly username: string;
}

export interface UserOptions {
  /** Play a browser without SharedWorker (the leader-elected dedicated worker takes over). */
  readonly noSharedWorker?: boolean;
  /** Script run in every page of the context before the app's own (e.g. to record events). */
  readonly initScript?: string;
}

export interface Stack {
  readonly server: RunningServer;
  readonly browser: Browser;
  readonly distDir: string;
  /** The server's data directory (its database and media blobs). */
  readonly dataDir: string;
  /** A new browser context with its own gateway (origin) and one page on the app. */
  user(username: string, options?: UserOptions): Promise<User>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Build with the engine's test hooks (EngineTestHooks, e.g. seedHistory). Default false: the production build. */
  readonly testHooks?: boolean;
  /** Serve pages with the sync server's Content-Security-Policy, as production does. Default true (TIDINGS_TEST_CSP=0: off). */
  readonly csp?: boolean;
  /** The deployment's MLS ciphersuite (the server's MLS_CIPHERSUITE). Default: the server's default. */
  readonly mlsSuite?: typeof DEFAULTS.mlsSuite;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const stackOptions = options;
  const tmp = await mkdtemp(path.join(tmpdir(), 'tidings-web-'));
  const distDir = path.join(tmp, 'dist');
  const dataDir = path.join(tmp, 'data');
  await buildApp(distDir, options.testHooks ?? false);
  const server = await startServer({
    ...DEFAULTS,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    databaseUrl: undefined,
    redisUrl: undefined,
    logLevel: 'silent',
    rateLimit: false,
    ...(options.mlsSuite ? { mlsSuite: options.mlsSuite } : {}),
  });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const gateways: Gateway[] = [];
  return {
    server,
    browser,
    distDir,
    dataDir,
    async user(username, options = {}) {
      const gateway = await startGateway(distDir, server.port, { csp: stackOptions.csp ?? process.env.TIDINGS_TEST_CSP !== '0' });
      gateways.push(gateway);
      const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
      if (options.noSharedWorker) await context.addInitScript('delete window.SharedWorker;');
      if (options.initScript) await context.addInitScript(options.initScript);
      const page = await context.newPage();
      await page.goto(gateway.url);
      return { context, gateway, page, username };
    },
    async close() {
      await browser.close();
      for (const g of gateways) await g.close();
      await server.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
