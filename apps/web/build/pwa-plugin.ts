/**
 * Build-time PWA pieces: the icons (drawn here, no downloads), the web app
 * manifest, and the service worker's precache list (every emitted file plus
 * the shell), written into sw.js with a version hash of that list.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';
import { iconPng } from './png.js';

export const THEME_COLOR = '#0f766e';
export const BACKGROUND_COLOR = '#f4f6f6';
const TOKEN = '__TIDINGS_PRECACHE_MANIFEST__';

export const manifest = {
  id: '/',
  name: 'Tidings',
  short_name: 'Tidings',
  description: 'A local-first messenger that works offline.',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  orientation: 'any',
  background_color: BACKGROUND_COLOR,
  theme_color: THEME_COLOR,
  categories: ['social', 'communication'],
  icons: [
    { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ],
};

export function pwa(): Plugin {
  return {
    name: 'tidings-pwa',
    apply: 'build',
    generateBundle(_options, bundle) {
      const icons: [string, Buffer][] = [
        ['icons/icon-192.png', iconPng(192, false)],
        ['icons/icon-512.png', iconPng(512, false)],
        ['icons/maskable-512.png', iconPng(512, true)],
      ];
      for (const [fileName, source] of icons) this.emitFile({ type: 'asset', fileName, source });
      this.emitFile({ type: 'asset', fileName: 'manifest.webmanifest', source: JSON.stringify(manifest, null, 2) });

      const sw = Object.values(bundle).find((f) => f.type === 'chunk' && f.fileName === 'sw.js');
      if (!sw || sw.type !== 'chunk') throw new Error('tidings-pwa: sw.js was not built');
      const files = new Set<string>(['/', '/index.html', '/manifest.webmanifest', ...icons.map(([f]) => `/${f}`)]);
      for (const f of Object.values(bundle)) if (f.fileName !== 'sw.js' && !f.fileName.endsWith('.map')) files.add(`/${f.fileName}`);
      const list = [...files].sort();
      const hash = createHash('sha256');
      for (const f of Object.values(bundle).sort((a, b) => a.fileName.localeCompare(b.fileName))) {
        if (f.fileName === 'sw.js') continue;
        hash.update(f.fileName);
        hash.update(f.type === 'chunk' ? f.code : typeof f.source === 'string' ? f.source : Buffer.from(f.source));
      }
      const json = JSON.stringify({ version: hash.digest('hex').slice(0, 16), files: list });
      // Written inside a quoted string literal: escape for either quote style.
      const literal = json.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/"/g, '\\"');
      if (!sw.code.includes(TOKEN)) throw new Error('tidings-pwa: precache token missing from sw.js');
      sw.code = sw.code.replace(TOKEN, literal);
    },
  };
}
