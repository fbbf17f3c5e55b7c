/**
 * The outbox sender across a lost socket: a flush that was reading the outbox
 * (or sealing an item) when the socket went must not leave items marked in
 * flight, or the next socket's flush skips them and they stay pending forever
 * (what the cluster's kill -9 test once hit under load).
 */
import { describe, expect, it } from 'vitest';
import { EntryType, type ConversationId, type SendFrame } from '@tidings/shared';
import type { Prepared } from '../src/e2ee-engine/session.js';
import type { Outbox, OutboxItem } from '../src/replica/replica.js';
import { OutboxSender } from '../src/sync/outbox-sender.js';
import { ManualClock } from './support/manual-clock.js';

const CONV = 7n as ConversationId;
const item = (clientMsgId: string, createdAt: number): OutboxItem => ({ clientMsgId, conversationId: CONV, type: EntryType.Text, body: new Uint8Array([createdAt]), createdAt, attempts: 0 });

/** An outbox whose next `pending()` read waits until the test releases it. */
function slowOutbox(items: OutboxItem[]) {
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const outbox = {
    pending: async () => {
      if (gate) await gate;
      return items;
    },
  } as unknown as Outbox;
  return {
    outbox,
    hold: () => {
      gate = new Promise<void>((r) => (release = r));
    },
    release: () => {
      gate = null;
      release?.();
    },
  };
}

describe('outbox sender: a socket lost mid-flush', () => {
  it('sends every item on the next socket when the socket went while the outbox was being read', async () => {
    const o = slowOutbox([item('a', 1), item('b', 2)]);
    const sender = new OutboxSender(o.outbox, new ManualClock(), () => 1, () => undefined);
    const onOld: string[] = [];
    o.hold();
    const first = sender.flush((f: SendFrame) => void onOld.push(f.clientMsgId));
    sender.reset(); // the socket closes while the read is outstanding
    o.release();
    expect(await first).toBe(0);
    expect(onOld).toEqual([]);
    const onNew: string[] = [];
    expect(await sender.flush((f: SendFrame) => void onNew.push(f.clientMsgId))).toBe(2);
    expect(onNew).toEqual(['a', 'b']);
  });

  it('stops at the item being sealed when the socket went during its sealing, and the next socket sends it', async () => {
    const o = slowOutbox([item('a', 1), item('b', 2), item('c', 3)]);
    const sender = new OutboxSender(o.outbox, new ManualClock(), () => 1, () => undefined);
    const onOld: string[] = [];
    const prepare = async (i: OutboxItem): Promise<Prepared> => {
      if (i.clientMsgId === 'b') sender.reset(); // lost while 'b' is being sealed
      return { kind: 'send', body: i.body };
    };
    expect(await sender.flush((f: SendFrame) => void onOld.push(f.clientMsgId), prepare)).toBe(1);
    expect(onOld).toEqual(['a']);
    const onNew: string[] = [];
    await sender.flush((f: SendFrame) => void onNew.push(f.clientMsgId));
    expect(onNew).toEqual(['a', 'b', 'c']);
  });

  it('still sends each item once per socket', async () => {
    const o = slowOutbox([item('a', 1)]);
    const sender = new OutboxSender(o.outbox, new ManualClock(), () => 1, () => undefined);
    const sent: string[] = [];
    await sender.flush((f: SendFrame) => void sent.push(f.clientMsgId));
    await sender.flush((f: SendFrame) => void sent.push(f.clientMsgId));
    expect(sent).toEqual(['a']);
    sender.reset();
    await sender.flush((f: SendFrame) => void sent.push(f.clientMsgId));
    expect(sent).toEqual(['a', 'a']);
  });
});
