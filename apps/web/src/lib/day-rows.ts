/**
 * The conversation's rows (messages with a day separator before each new
 * calendar day), rebuilt only where the messages changed. Row objects of
 * unchanged messages are reused, so the windowed list can tell by identity
 * which rows stayed: a scroll-back page of 1,000 messages onto 100,000 builds
 * ~1,000 rows, not 101,000. The result is always what `toRows` would give.
 */
import type { MessageView } from '../engine/api.js';
import { dayKey, toRows, type Row } from './rows.js';

/** Rows built from `messages`, to be passed back to the next `nextDayRows`. */
export interface DayRows {
  readonly messages: readonly MessageView[];
  readonly rows: readonly Row[];
  /** Local day the labels were made on ("Today" and "Yesterday" move at midnight). */
  readonly today: string;
}

/** Counters of rows built, for tests: rows made must scale with the change, not the history. */
export const dayRowsWork = { built: 0 };

function build(messages: readonly MessageView[], now: number): Row[] {
  dayRowsWork.built += messages.length;
  return toRows(messages, now);
}

/**
 * Index in `rows` of the row of message `m` (0-based) of `count` messages,
 * walking from the nearer end: a page added at either end costs its own rows.
 */
function rowOfMessage(rows: readonly Row[], count: number, m: number): number {
  let seen = -1;
  if (m < count / 2) {
    for (let r = 0; r < rows.length; r++) if (rows[r]!.kind === 'message' && ++seen === m) return r;
  } else {
    const back = count - 1 - m;
    for (let r = rows.length - 1; r >= 0; r--) if (rows[r]!.kind === 'message' && ++seen === back) return r;
  }
  return -1;
}

/** Rows for `messages`, reusing `prev` where the messages are the same objects as before. */
export function nextDayRows(prev: DayRows | null, messages: readonly MessageView[], now: number): DayRows {
  const today = dayKey(now);
  if (!prev || prev.today !== today || prev.messages.length === 0 || messages.length === 0) {
    return { messages, rows: build(messages, now), today };
  }
  if (prev.messages === messages) return prev;
  const old = prev.messages;
  const most = Math.min(old.length, messages.length);
  let prefix = 0;
  while (prefix < most && old[prefix] === messages[prefix]) prefix++;
  let suffix = 0;
  while (suffix < most - prefix && old[old.length - 1 - suffix] === messages[messages.length - 1 - suffix]) suffix++;

  // Old rows kept at the start: up to and including the last prefix message's row.
  const head = prefix === 0 ? [] : prev.rows.slice(0, rowOfMessage(prev.rows, old.length, prefix - 1) + 1);
  // Rows of the changed middle; its first separator goes if the day goes on from the prefix.
  let middle = build(messages.slice(prefix, messages.length - suffix), now);
  if (prefix > 0 && middle[0]?.kind === 'day' && dayKey(messages[prefix - 1]!.createdAt) === dayKey(messages[prefix]!.createdAt)) middle = middle.slice(1);
  if (suffix === 0) return { messages, rows: head.concat(middle), today };

  // Old rows kept at the end: from the first suffix message's row; its separator is re-decided.
  const firstTail = rowOfMessage(prev.rows, old.length, old.length - suffix);
  const hadSeparator = prev.rows[firstTail - 1]?.kind === 'day';
  const at = messages.length - suffix;
  const t = messages[at]!.createdAt;
  const wantsSeparator = at === 0 || dayKey(messages[at - 1]!.createdAt) !== dayKey(t);
  const from = hadSeparator && wantsSeparator ? firstTail - 1 : firstTail;
  // A kept tail that starts the old rows is joined as it is (one copy of the rows, not two).
  const tail: readonly Row[] = from === 0 ? prev.rows : prev.rows.slice(from);
  if (wantsSeparator && !hadSeparator) middle = middle.concat(build([messages[at]!], now).slice(0, 1));
  return { messages, rows: head.concat(middle, tail), today };
}
