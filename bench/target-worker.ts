/** Worker-thread entry: hosts the target on its own event loop and answers the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { hostTarget, type HostedTarget, type TargetSpec } from './target-host.js';

export type ToWorker = { cmd: 'mark' } | { cmd: 'stats' } | { cmd: 'close' };
export type FromWorker =
  | { type: 'ready'; url: string }
  | { type: 'stats'; stats: ReturnType<HostedTarget['stats']> }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('target-worker.ts must run in a worker thread');
const post = (m: FromWorker) => port.postMessage(m);

try {
  const target = await hostTarget(workerData as TargetSpec, true);
  port.on('message', (m: ToWorker) => {
    if (m.cmd === 'mark') target.mark();
    else if (m.cmd === 'stats') post({ type: 'stats', stats: target.stats() });
    else if (m.cmd === 'close') {
      target.close().then(
        () => post({ type: 'closed' }),
        (err: unknown) => post({ type: 'error', message: `close failed: ${String(err)}` }),
      );
    }
  });
  post({ type: 'ready', url: target.url });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
