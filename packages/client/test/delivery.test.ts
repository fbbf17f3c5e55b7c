import { describe, expect, it } from 'vitest';
import { EntryType, type ConversationId, type DeviceId, type EntryId, type UserId } from '@tidings/shared';
import { deliveryState, memberReceipts, summarize } from '../src/receipts/delivery.js';
import type { Message } from '../src/model/message.js';

const ME = 1n as UserId;
const [B, C] = [2n as UserId, 3n as UserId];
const e = (n: number) => BigInt(n) as EntryId;
const mine = (id: number, from: UserId = ME): Message => ({
  uid: `x:${id}`,
  conversationId: 9n as ConversationId,
  seq: String(id),
  id: e(id),
  senderUserId: from,
  senderDeviceId: 11n as DeviceId,
  clientMsgId: `${id}`,
  type: EntryType.Text,
  body: new Uint8Array(),
  content: { kind: 'text', text: '' },
  createdAt: 0,
  state: 'sent',
});

describe('derived delivery states', () => {
  const inputs = {
    members: [ME, B, C],
    positions: [
      { userId: B, delivered: e(10), read: e(8) },
      { userId: C, delivered: e(6), read: e(12) }, // read implies delivered
      { userId: ME, delivered: e(1), read: e(1) }, // own positions never count
    ],
    readVisible: true,
  };

  it('takes the lowest position among the other members', () => {
    const summary = summarize(ME, inputs);
    expect(summary).toEqual({ delivered: 10n, read: 8n });
    expect([7, 8, 9, 10, 11].map((id) => deliveryState(mine(id), ME, summary))).toEqual(['read', 'read', 'delivered', 'delivered', 'sent']);
    expect(deliveryState(mine(11, B), ME, summary)).toBe('sent'); // others' messages keep their stored state
  });

  it('counts a member without positions as 0, stops at delivered while read is hidden, and has no state without others', () => {
    expect(summarize(ME, { ...inputs, members: [ME, B, C, 4n as UserId] })).toEqual({ delivered: 0n, read: 0n });
    const hidden = summarize(ME, { ...inputs, readVisible: false });
    expect(deliveryState(mine(5), ME, hidden)).toBe('delivered');
    expect(deliveryState(mine(5), ME, summarize(ME, { ...inputs, members: [ME] }))).toBe('sent');
  });

  it('gives per-member detail for one message', () => {
    expect(memberReceipts(ME, inputs, e(9))).toEqual([
      { userId: B, delivered: 10n, read: 8n, state: 'delivered' },
      { userId: C, delivered: 12n, read: 12n, state: 'read' },
    ]);
  });
});
