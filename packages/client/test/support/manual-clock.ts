/** A Clock whose timers fire only when the test says so. */
import type { Clock, TimerHandle } from '../../src/runtime/clock.js';

interface Timer {
  readonly id: number;
  readonly fn: () => void;
  readonly ms: number;
}

export class ManualClock implements Clock {
  time = 1_780_000_000_000;
  private nextId = 1;
  readonly timers = new Map<number, Timer>();

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, fn, ms });
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }
  /** Pending timers with this delay range. */
  pending(filter: (ms: number) => boolean = () => true): Timer[] {
    return [...this.timers.values()].filter((t) => filter(t.ms));
  }
  /** Fires one timer. */
  fire(timer: Timer): void {
    this.timers.delete(timer.id);
    this.time += timer.ms;
    timer.fn();
  }
}
