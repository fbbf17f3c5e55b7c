/**
 * The post-quantum suite in Chromium: the client's E2EE layer, bundled by Vite
 * for the browser (WebCrypto provider; ts-mls loads @hpke/hybridkem-x-wing by
 * dynamic import, which Vite must carry into the bundle), runs an X-Wing group:
 * Welcome, a message each way, and a removal the removed device cannot read past.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM_ARGS } from './support/stack.js';
import type { XwingResult } from './support/xwing-page.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function servePage(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'xwing-page-'));
  cleanups.push(() => rm(outDir, { recursive: true, force: true }));
  await build({
    configFile: false,
    logLevel: 'error',
    mode: 'production',
    root: import.meta.dirname,
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      rollupOptions: { input: path.join(import.meta.dirname, 'support/xwing-page.ts'), output: { entryFileNames: 'page.js', chunkFileNames: '[name]-[hash].js', format: 'es' } },
    },
  });
  const files = new Map<string, Buffer>();
  for (const name of await readdir(outDir)) if (name.endsWith('.js')) files.set(`/${name}`, await readFile(path.join(outDir, name)));
  const server: Server = createServer((req, res) => {
    const js = files.get(req.url ?? '');
    if (js) res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('X-Wing in Chromium', () => {
  it('runs an X-Wing group through the browser build of the E2EE layer', { timeout: 120_000 }, async () => {
    const url = await servePage();
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 60_000 });
    const result: XwingResult = await page.evaluate(() => window.xwingRoundTrip());
    expect(errors).toEqual([]);
    expect(result).toMatchObject({ suite: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519', toBob: 'pq from alice', toAlice: 'pq from bob', removedCannotRead: true });
    expect(result.welcomeBytes).toBeGreaterThan(1088); // carries an ML-KEM-768 ciphertext (1,088 bytes) at least
  });
});
