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

// Formatters are made once: toLocaleDateString with options builds a new one per call (~0.5 ms each).
let thisYearFormat: Intl.DateTimeFormat | undefined;
let otherYearFormat: Intl.DateTimeFormat | undefined;

export function dayLabel(ms: number, now: number): string {
  const key = dayKey(ms);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86_400_000)) return 'Yesterday';
  const d = new Date(ms);
  if (d.getFullYear() === new Date(now).getFullYear()) {
    thisYearFormat ??= new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'long' });
    return thisYearFormat.format(d);
  }
  otherYearFormat ??= new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
  return otherYearFormat.format(d);
}

/** Local midnight at or before `ms`, and the next one. */
function dayBounds(ms: number): [number, number] {
  const d = new Date(ms);
  const start = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return [start, new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime()];
}

/** Runs on every history page over the whole loaded list (100,000 messages): dates are formatted once per day, not per message. */
export function toRows(messages: readonly MessageView[], now: number): Row[] {
  const rows: Row[] = [];
  let start = Infinity;
  let end = -Infinity;
  for (const message of messages) {
    const t = message.createdAt;
    if (t < start || t >= end) {
      [start, end] = dayBounds(t);
      rows.push({ kind: 'day', key: `day:${dayKey(t)}`, label: dayLabel(t, now) });
    }
    rows.push({ kind: 'message', key: message.uid, message });
  }
  return rows;
}

let clockFormat: Intl.DateTimeFormat | undefined;
let weekdayFormat: Intl.DateTimeFormat | undefined;
let shortDateFormat: Intl.DateTimeFormat | undefined;

/** Time of day, or a short date for older items (chat list: every row renders one, so the formatters are made once too). */
export function shortTime(ms: number, now: number): string {
  if (dayKey(ms) === dayKey(now)) return clockTime(ms);
  if (now - ms < 6 * 86_400_000) {
    weekdayFormat ??= new Intl.DateTimeFormat(undefined, { weekday: 'short' });
    return weekdayFormat.format(ms);
  }
  shortDateFormat ??= new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
  return shortDateFormat.format(ms);
}

/** Time of day of a message (every bubble shows one: one formatter for all). */
export function clockTime(ms: number): string {
  clockFormat ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  return clockFormat.format(ms);
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
