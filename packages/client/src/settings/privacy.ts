/**
 * The user's privacy settings as last reported (by the server's `settings`
 * frame or an HTTP answer), in memory. Tells listeners only on a real change,
 * so the server's echo of a change made here is not a second event.
 */
import type { PrivacySettings } from '../model/settings.js';

export class PrivacyTracker {
  private current: PrivacySettings | null = null;

  constructor(private readonly changed: (settings: PrivacySettings) => void) {}

  /** Null until the first report. */
  get(): PrivacySettings | null {
    return this.current;
  }

  /** Read receipts are shown unless the user turned them off (unknown counts as on). */
  get readVisible(): boolean {
    return this.current?.readReceipts !== false;
  }

  apply(settings: PrivacySettings): void {
    const old = this.current;
    if (old && old.readReceipts === settings.readReceipts && old.showLastSeen === settings.showLastSeen) return;
    this.current = { readReceipts: settings.readReceipts, showLastSeen: settings.showLastSeen };
    this.changed(this.current);
  }
}
