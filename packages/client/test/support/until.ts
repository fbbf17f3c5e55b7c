/**
 * Waiting on real client engines: resolve once a condition over their state
 * holds, re-checking after their events. Shared by the e2e tests and the
 * benchmarks (no test framework imported here).
 */
import type { TidingsClient, TidingsEvents } from '../../src/index.js';

/** Every engine event after which a waited-for condition may have changed. */
export const STATE_EVENTS: readonly (keyof TidingsEvents)[] = [
  'message',
  'status',
  'synced',
  'conversation',
  'receipts',
  'unread',
  'groupChanged',
  'identityChanged',
  'inbox',
  'keyPackageStock',
  'state',
];

/**
 * Resolves once `check` holds, re-checking (one check at a time) after every
 * event of these clients; rejects after `timeoutMs`, or when a check throws.
 * The listeners go on before the first check, so an event that fires while
 * that check is still reading is not missed (frames that arrive together can
 * emit their last event during it, and none come after).
 */
export function until(clients: readonly TidingsClient[], check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const offs: (() => void)[] = [];
    let busy = false;
    let again = false;
    let done = false;
    const finish = (err?: Error): void => {
      done = true;
      clearTimeout(timer);
      for (const off of offs) off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const recheck = (): void => {
      if (done) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      check().then(
        (ok) => {
          busy = false;
          if (ok) finish();
          else if (again) {
            again = false;
            recheck();
          }
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    };
    for (const c of clients) for (const e of STATE_EVENTS) offs.push(c.on(e, recheck));
    recheck();
  });
}
