/** Tab side: reach the origin's engine (SharedWorker, else a leader-elected dedicated worker). */
import { wrap, type Remote } from 'comlink';
import type { EngineApi } from './api.js';

export type Engine = Remote<EngineApi>;

/** Which kind of worker hosts the engine for this tab. */
export type EngineMode = 'shared' | 'dedicated';

export function connectEngine(): { engine: Engine; mode: EngineMode } {
  if (typeof SharedWorker === 'function') {
    const worker = new SharedWorker(new URL('./shared-worker.ts', import.meta.url), { type: 'module', name: 'tidings-engine' });
    return { engine: wrap<EngineApi>(worker.port), mode: 'shared' };
  }
  const worker = new Worker(new URL('./dedicated-worker.ts', import.meta.url), { type: 'module', name: 'tidings-engine' });
  return { engine: wrap<EngineApi>(worker), mode: 'dedicated' };
}
