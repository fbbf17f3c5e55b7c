/**
 * Runs an asynchronous read when asked, one at a time. A request while a read
 * runs makes exactly one more read after it, started no sooner than
 * `minGapMs` after the previous one started; requests while a read is
 * scheduled join it. A view that re-reads on every engine event thus shows a
 * single change within `firstDelayMs`, while a stream of changes (a catch-up
 * of thousands of messages) costs a few reads a second instead of one read
 * queued per event in the engine's worker, the thread doing the catch-up.
 */
export interface SerialReloadOptions {
  /** Delay of a read asked for after a quiet spell, ms (coalesces a burst of events). */
  readonly firstDelayMs: number;
  /** Least time between the starts of two reads, ms. */
  readonly minGapMs: number;
  readonly now?: () => number;
}

export class SerialReload {
  private running = false;
  private again = false;
  private scheduled = false;
  private startedAt = -Infinity;

  constructor(
    private readonly load: () => Promise<unknown>,
    private readonly opts: SerialReloadOptions,
  ) {}

  /** Ask for a read (bound: pass it around as a callback). */
  readonly request = (): void => {
    if (this.scheduled) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const now = (this.opts.now ?? performance.now.bind(performance))();
    const wait = Math.max(this.opts.firstDelayMs, this.startedAt + this.opts.minGapMs - now);
    this.scheduled = true;
    setTimeout(() => this.run(), wait);
  };

  private run(): void {
    this.scheduled = false;
    this.running = true;
    this.again = false;
    this.startedAt = (this.opts.now ?? performance.now.bind(performance))();
    this.load()
      .catch(() => undefined) // the caller's own handler reports; a failed read must not stop later ones
      .finally(() => {
        this.running = false;
        if (this.again) this.request();
      });
  }
}
