/** Promises that resolve when the engine is idle, re-checked whenever it may have become so. */
import { ErrorCode, TidingsError } from '@tidings/shared';
import type { Clock } from '../runtime/clock.js';

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class IdleWaiters {
  private readonly waiters = new Set<Waiter>();
  private checking = false;
  private again = false;

  constructor(
    private readonly clock: Clock,
    private readonly isIdle: () => Promise<boolean>,
  ) {}

  /** Resolves when idle; rejects with `unavailable` after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new TidingsError(ErrorCode.Unavailable, `not idle after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          this.clock.clearTimeout(timer);
          resolve();
        },
        reject,
      };
      this.waiters.add(waiter);
      this.poke();
    });
  }

  /** Something changed: check again if anyone is waiting. */
  poke(): void {
    if (this.waiters.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    void this.isIdle()
      .then((idle) => {
        if (!idle) return;
        for (const waiter of this.waiters) waiter.resolve();
        this.waiters.clear();
      })
      .catch(() => {})
      .finally(() => {
        this.checking = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }
}
