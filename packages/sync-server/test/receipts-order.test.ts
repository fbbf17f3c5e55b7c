/**
 * Receipt frames go out in flush order. Each publish reads members and
 * privacy from the database first; when an earlier flush's reads answered
 * after a later one's, the earlier frame (read still 0) reached the sender
 * last and took its read tick back for good (a CI run timed out in
 * client.e2e waiting for 'read').
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { decodeServerFrame, type ConversationId, type EntryId, type ReceiptItem, type UserId } from '@tidings/shared';
import { PrivacyStore } from '../src/privacy/settings.js';
import { Receipts } from '../src/receipts/service.js';
import type { SqlClient } from '../src/storage/sql.js';
import type { Switchboard } from '../src/switchboard/port.js';

const CONV = 1n as ConversationId;
const ALICE = 10n as UserId;
const BOB = 20n as UserId;

/** A database whose first members read answers after `slowMs`, every later one at once. */
function fakeDb(slowMs: number): SqlClient {
  let membersReads = 0;
  const query = async (text: string): Promise<{ rows: Record<string, unknown>[] }> => {
    if (text.includes('FROM members')) {
      if (membersReads++ === 0) await new Promise((r) => setTimeout(r, slowMs));
      return { rows: [ALICE, BOB].map((u) => ({ conversation_id: String(CONV), user_id: String(u) })) };
    }
    if (text.includes('FROM users')) return { rows: [ALICE, BOB].map((u) => ({ id: String(u), read_receipts: true, show_last_seen: true })) };
    throw new Error(`unexpected query: ${text}`);
  };
  return { query, kind: 'pglite' } as unknown as SqlClient;
}

/** Frames the switchboard was asked to send to alice, decoded. */
function recordingSwitchboard(): { switchboard: Switchboard; toAlice: (readonly ReceiptItem[])[] } {
  const toAlice: (readonly ReceiptItem[])[] = [];
  const switchboard = {
    toUsers(userIds: Iterable<UserId>, frame: Uint8Array) {
      if (![...userIds].includes(ALICE)) return;
      const f = decodeServerFrame(frame);
      if (f.t === 'receipts') toAlice.push(f.items);
    },
  } as unknown as Switchboard;
  return { switchboard, toAlice };
}

const bobAt = (delivered: bigint, read: bigint) => ({ conversationId: CONV, userId: BOB, delivered: delivered as EntryId, read: read as EntryId });

describe('receipt publishing', () => {
  it('sends the later flush last even when the earlier flush reads slower, so a read tick stays', async () => {
    const db = fakeDb(50);
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = new Receipts({ db, privacy: new PrivacyStore(db, Date.now), switchboard, clock: Date.now, logger: pino({ level: 'silent' }) });
    receipts.advanced([bobAt(5n, 0n)]); // bob's device stored entry 5 (its members read is the slow one)
    receipts.advanced([bobAt(5n, 5n)]); // then bob read it
    await receipts.published();
    const last = toAlice.at(-1)?.find((i) => i.userId === BOB);
    expect(last).toEqual({ userId: BOB, delivered: 5n, read: 5n });
    expect(toAlice.length).toBeGreaterThanOrEqual(1);
  });

  it('merges what moves while a publish runs into one frame with the newest positions', async () => {
    const db = fakeDb(50);
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = new Receipts({ db, privacy: new PrivacyStore(db, Date.now), switchboard, clock: Date.now, logger: pino({ level: 'silent' }) });
    receipts.advanced([bobAt(1n, 0n)]);
    for (let i = 2n; i <= 6n; i++) receipts.advanced([bobAt(i, i - 1n)]);
    await receipts.published();
    expect(toAlice.map((items) => items.find((i) => i.userId === BOB))).toEqual([
      { userId: BOB, delivered: 1n, read: 0n },
      { userId: BOB, delivered: 6n, read: 5n },
    ]);
  });
});
