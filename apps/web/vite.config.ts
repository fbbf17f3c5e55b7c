/**
 * Vite build of the Tidings PWA. Output in dist/: index.html, sw.js (scope /),
 * manifest.webmanifest, icons/, assets/ (hashed; the engine's worker too).
 */
import { defineConfig } from 'vite';
import { pwa } from './build/pwa-plugin.js';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [pwa()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // Test hooks (EngineTestHooks) exist only in builds made with TIDINGS_TEST_HOOKS=1 (the browser tests' stack).
  define: { __TIDINGS_TEST_HOOKS__: JSON.stringify(process.env.TIDINGS_TEST_HOOKS === '1') },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rollupOptions: {
      input: { index: 'index.html', sw: 'src/sw.ts' },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: {
    // `pnpm dev` against a sync server on :8787 (same-origin paths are proxied).
    proxy: {
      '/v1/ws': { target: 'ws://127.0.0.1:8787', ws: true },
      '/v1': 'http://127.0.0.1:8787',
      '/sendMessage': 'http://127.0.0.1:8787',
      '/getMessages': 'http://127.0.0.1:8787',
    },
  },
});
