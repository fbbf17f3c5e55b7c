/** Messages -> list rows with a day separator before each new calendar day. */
import type { MessageView } from '../engine/api.js';

export type Row =
  | { readonly kind: 'day'; readonly key: string; readonly label: string }
  | { readonly kind: 'message'; readonly key: string; readonly message: MessageView };

/** Local calendar day of a timestamp, as `YYYY-MM-DD`. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function dayLabel(ms: number, now: number): string {
  const key = dayKey(ms);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86_400_000)) return 'Yesterday';
  const d = new Date(ms);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString(undefined, { weekday: sameYear ? 'short' : undefined, day: 'numeric', month: 'long', year: sameYear ? undefined : 'numeric' });
}

export function toRows(messages: readonly MessageView[], now: number): Row[] {
  const rows: Row[] = [];
  let day = '';
  for (const message of messages) {
    const key = dayKey(message.createdAt);
    if (key !== day) {
      day = key;
      rows.push({ kind: 'day', key: `day:${key}`, label: dayLabel(message.createdAt, now) });
    }
    rows.push({ kind: 'message', key: message.uid, message });
  }
  return rows;
}

/** Time of day, or a short date for older items (chat list). */
export function shortTime(ms: number, now: number): string {
  const d = new Date(ms);
  if (dayKey(ms) === dayKey(now)) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (now - ms < 6 * 86_400_000) return d.toLocaleDateString(undefined, { weekday: 'short' });
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Inserts or replaces a message (by uid) keeping the list sorted by seq. Returns a new array. */
export function upsertSorted(list: readonly MessageView[], message: MessageView): MessageView[] {
  const out = list.slice();
  // Changes are nearly always at the newest end: search from there.
  let old = -1;
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]!.uid === message.uid) {
      old = i;
      break;
    }
  }
  if (old >= 0) {
    if (out[old]!.seq === message.seq) {
      out[old] = message;
      return out;
    }
    out.splice(old, 1);
  }
  let lo = 0;
  let hi = out.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (out[mid]!.seq < message.seq) lo = mid + 1;
    else hi = mid;
  }
  out.splice(lo, 0, message);
  return out;
}
