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
import { RECEIPT_FLUSH_MS, RECEIPT_RETRY_MS } from '../src/receipts/writer.js';
import type { SqlClient } from '../src/storage/sql.js';
import type { Switchboard } from '../src/switchboard/port.js';

const CONV = 1n as ConversationId;
const ALICE = 10n as UserId;
const BOB = 20n as UserId;

/**
 * A database whose first members read answers after `slow` (ms, or once the promise
 * resolves), every later one at once. Every acked position counts as moved (the
 * receipts upsert returns its input).
 */
function fakeDb(slow: number | Promise<void>, refuseWrite: () => boolean = () => false): SqlClient {
  let membersReads = 0;
  const query = async (text: string, params: readonly unknown[] = []): Promise<{ rows: Record<string, unknown>[] }> => {
    if (text.includes('INSERT INTO receipts')) {
      if (refuseWrite()) throw new Error('connection refused');
      const [c, u, d, r] = params as string[][];
      return { rows: c!.map((_, i) => ({ conversation_id: c![i], user_id: u![i], delivered_upto: d![i], read_upto: r![i] })) };
    }
    if (text.includes('FROM members')) {
      if (membersReads++ === 0) await (typeof slow === 'number' ? new Promise((r) => setTimeout(r, slow)) : slow);
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

const receiptsOver = (db: SqlClient, switchboard: Switchboard): Receipts =>
  new Receipts({ db, privacy: new PrivacyStore(db, Date.now), switchboard, clock: Date.now, logger: pino({ level: 'silent' }) });
const ack = (r: Receipts, delivered: bigint, read: bigint): void => r.writer.ack(CONV, BOB, delivered as EntryId, read as EntryId);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('receipt publishing', () => {
  it('sends the later flush last even when the earlier flush reads slower, so a read tick stays', async () => {
    const db = fakeDb(200);
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = receiptsOver(db, switchboard);
    ack(receipts, 5n, 0n); // bob's device stored entry 5: this flush's publish reads members slowly
    await sleep(RECEIPT_FLUSH_MS * 3); // that flush has run and its publish is under way
    ack(receipts, 5n, 5n); // then bob read it
    await receipts.close(); // writes and publishes what is pending
    expect(toAlice.map((items) => items.find((i) => i.userId === BOB))).toEqual([
      { userId: BOB, delivered: 5n, read: 0n },
      { userId: BOB, delivered: 5n, read: 5n },
    ]);
  });

  it('keeps flushing after a timer fires with nothing left to write (its acks taken by the running flush)', async () => {
    let release!: () => void;
    const db = fakeDb(new Promise<void>((r) => (release = r)));
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = receiptsOver(db, switchboard);
    ack(receipts, 5n, 0n);
    await sleep(RECEIPT_FLUSH_MS * 3); // flush 1 runs; its publish waits on the members read
    ack(receipts, 5n, 0n); // a second device's ack: pending, with a timer of its own
    release(); // the running loop takes that ack at once, long before its timer fires...
    await sleep(RECEIPT_FLUSH_MS * 3); // ...which then finds nothing pending
    ack(receipts, 5n, 5n); // bob reads: the writer's own timer must flush this (no close())
    await sleep(RECEIPT_FLUSH_MS * 4);
    expect(toAlice.map((items) => items.find((i) => i.userId === BOB))).toContainEqual({ userId: BOB, delivered: 5n, read: 5n });
    await receipts.close();
  });

  it('merges what is acked while a publish runs into one flush with the newest positions', async () => {
    const db = fakeDb(200);
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = receiptsOver(db, switchboard);
    ack(receipts, 1n, 0n);
    await sleep(RECEIPT_FLUSH_MS * 3);
    for (let i = 2n; i <= 6n; i++) ack(receipts, i, i - 1n);
    await receipts.close();
    expect(toAlice.map((items) => items.find((i) => i.userId === BOB))).toEqual([
      { userId: BOB, delivered: 1n, read: 0n },
      { userId: BOB, delivered: 6n, read: 5n },
    ]);
  });

  it('a flush the database refused is written on the next try, merged with what came meanwhile', async () => {
    let refusals = 1;
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = receiptsOver(fakeDb(0, () => refusals-- > 0), switchboard);
    ack(receipts, 5n, 0n);
    await sleep(RECEIPT_FLUSH_MS * 3); // refused
    ack(receipts, 4n, 4n); // another device, behind on delivery
    await sleep(RECEIPT_FLUSH_MS * 3);
    expect(toAlice).toEqual([]); // the retry waits its turn: no write per ack against a database that is down
    await sleep(RECEIPT_RETRY_MS);
    // delivered 5 survives from the refused flush, read 4 from the ack that came meanwhile
    expect(toAlice.map((items) => items.find((i) => i.userId === BOB))).toEqual([{ userId: BOB, delivered: 5n, read: 4n }]);
    await receipts.close();
  });

  it('close() gives up on a database that keeps refusing instead of waiting for it', async () => {
    const { switchboard, toAlice } = recordingSwitchboard();
    const receipts = receiptsOver(fakeDb(0, () => true), switchboard);
    ack(receipts, 5n, 0n);
    await sleep(RECEIPT_FLUSH_MS * 3);
    const closed = await Promise.race([receipts.close().then(() => 'closed'), sleep(RECEIPT_RETRY_MS / 2).then(() => 'waiting')]);
    expect(closed).toBe('closed');
    expect(toAlice).toEqual([]);
  });
});
