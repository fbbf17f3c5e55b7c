/**
 * PWA basics, Lighthouse-style: the manifest's installability fields, a
 * service worker that controls the page, the app starting with no network
 * after the first load, and the first screen's JavaScript under 200 KiB gzipped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useStack, ARTIFACTS } from './support/stack.js';
import { UI_TIMEOUT, waitServiceWorker } from './support/app.js';

const stack = useStack();

/** Every JS file a first visit loads: the entry, its static imports, and the engine's worker. */
async function firstScreenJs(distDir: string): Promise<{ file: string; gzip: number }[]> {
  const html = await readFile(path.join(distDir, 'index.html'), 'utf8');
  const queue = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = await readFile(path.join(distDir, file), 'utf8');
    for (const m of code.matchAll(/["'`](?:\.\/|\/assets\/)?([\w.-]+\.js)["'`]/g)) {
      const dep = `assets/${m[1]!}`;
      if (dep.includes('dedicated-worker')) continue; // only where SharedWorker is missing
      try {
        await readFile(path.join(distDir, dep));
        queue.push(dep);
      } catch {
        // not an asset name
      }
    }
  }
  return Promise.all([...seen].map(async (file) => ({ file, gzip: gzipSync(await readFile(path.join(distDir, file)), { level: 9 }).length })));
}

describe('PWA basics', () => {
  it('has an installable manifest', async () => {
    const user = await stack.user('pwa-manifest');
    const href = await user.page.locator('link[rel="manifest"]').getAttribute('href');
    expect(href).toBe('/manifest.webmanifest');
    const response = await user.page.request.get(`${user.gateway.url}${href}`);
    expect(response.headers()['content-type']).toContain('application/manifest+json');
    const manifest = (await response.json()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'Tidings', short_name: 'Tidings', start_url: '/', scope: '/', display: 'standalone' });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    const icons = manifest.icons as { src: string; sizes: string; type: string; purpose: string }[];
    for (const size of ['192x192', '512x512']) expect(icons.some((i) => i.sizes === size && i.purpose === 'any')).toBe(true);
    expect(icons.some((i) => i.purpose === 'maskable')).toBe(true);
    for (const icon of icons) {
      const png = await user.page.request.get(`${user.gateway.url}${icon.src}`);
      const bytes = await png.body();
      expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
      const [w, h] = icon.sizes.split('x').map(Number);
      expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([w, h]);
    }
    expect(await user.page.locator('meta[name="viewport"]').count()).toBe(1);
    expect(await user.page.locator('meta[name="theme-color"]').count()).toBeGreaterThan(0);
    await user.context.close();
  });

  it('registers a service worker that controls the page, and starts with no network', async () => {
    const user = await stack.user('pwa-offline');
    await user.page.getByLabel('Username').waitFor();
    await waitServiceWorker(user.page);
    expect(await user.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${user.gateway.url}/sw.js`);

    // No network at all: the browser is offline and the origin is unreachable.
    await user.context.setOffline(true);
    user.gateway.setOffline(true);
    const page = await user.context.newPage();
    await page.goto(user.gateway.url);
    await page.getByLabel('Username').waitFor({ timeout: UI_TIMEOUT });
    await page.locator('h1', { hasText: 'Tidings' }).waitFor();
    await user.context.close();
  });

  it('keeps the first screen under 200 KiB of gzipped JavaScript', async () => {
    const files = await firstScreenJs(stack.distDir);
    const total = files.reduce((sum, f) => sum + f.gzip, 0);
    const report = { totalGzipBytes: total, totalGzipKiB: +(total / 1024).toFixed(1), files };
    await writeFile(path.join(ARTIFACTS, 'bundle-size.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`first screen JS: ${report.totalGzipKiB} KiB gzipped`, files);
    expect(files.some((f) => f.file.includes('shared-worker'))).toBe(true);
    expect(total).toBeLessThan(200 * 1024);
  });
});
