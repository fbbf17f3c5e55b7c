/**
 * The Chromium page of bench/mls-throughput.ts: bundled by Vite with browser
 * conditions (so the E2EE layer gets its WebCrypto provider, exactly as the
 * web app's worker does) and driven through `window.runPairs`.
 */
import { runPairs } from './mls-pairs.js';

declare global {
  interface Window {
    runPairs: typeof runPairs;
  }
}

window.runPairs = runPairs;
document.title = 'ready';
