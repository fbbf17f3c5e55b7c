/**
 * Keeps a socket honest: pings every `intervalMs` once open, and declares it
 * dead when nothing at all has arrived for 2 x intervalMs.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';

export class Heartbeat {
  private pingTimer: TimerHandle | null = null;
  private deadTimer: TimerHandle | null = null;
  private nonce = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly ping: (nonce: number) => void,
    private readonly onDead: () => void,
  ) {}

  /** Arms the dead-socket watchdog (call when the socket starts connecting). */
  watch(): void {
    this.touch();
  }

  /** Starts pinging (call once the socket is open). */
  startPinging(): void {
    this.schedulePing();
  }

  /** Something arrived: the socket is alive. */
  touch(): void {
    if (this.deadTimer !== null) this.clock.clearTimeout(this.deadTimer);
    this.deadTimer = this.clock.setTimeout(() => {
      this.deadTimer = null;
      this.stop();
      this.onDead();
    }, 2 * this.intervalMs);
  }

  stop(): void {
    if (this.pingTimer !== null) this.clock.clearTimeout(this.pingTimer);
    if (this.deadTimer !== null) this.clock.clearTimeout(this.deadTimer);
    this.pingTimer = null;
    this.deadTimer = null;
  }

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(() => {
      this.nonce = (this.nonce + 1) >>> 0;
      this.ping(this.nonce);
      this.schedulePing();
    }, this.intervalMs);
  }
}
