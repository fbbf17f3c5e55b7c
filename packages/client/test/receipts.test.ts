import { afterEach, describe, expect, it } from 'vitest';
import { ConversationKind, type AckFrame, type ClientFrame, type ConversationId, type EntryId, type UserId } from '@tidings/shared';
import type { OpenedEntry } from '../src/replica/replica.js';
import { FakeServer } from './support/fake-server.js';
import { cleanup, clientFrame, delivered, eventually, makeDevice, startSynced, waitFor, type TestDevice } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

afterEach(cleanup);

const ALICE = 10n;
const BOB = 20n;
const FAST = { config: { ackDelayMs: 1 } };

const isAck = (f: ClientFrame): f is AckFrame => f.t === 'ack';
const acksFrom = (userId: bigint) => (f: ClientFrame, from: UserId): f is AckFrame => isAck(f) && from === userId;

async function stateOf(d: TestDevice, conv: ConversationId, uid: string): Promise<string | undefined> {
  return (await d.client.messages(conv, { limit: 100 })).find((m) => m.uid === uid)?.state;
}

async function untilState(d: TestDevice, conv: ConversationId, uid: string, state: string): Promise<void> {
  await eventually(d.client, async () => (await stateOf(d, conv, uid)) === state);
}

async function sendCommitted(d: TestDevice, conv: ConversationId, text: string): Promise<{ uid: string; id: EntryId }> {
  const message = await d.client.sendText(conv, text);
  const sent = await waitFor(d.client, 'message', (m) => m.uid === message.uid && m.id !== null);
  return { uid: message.uid, id: sent.id! };
}

describe('delivery acks', () => {
  it('acks 1,000 caught-up entries in one frame carrying the last id, and only after storing them', async () => {
    const server = new FakeServer();
    server.pageSize = 50;
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    for (let i = 0; i < 1000; i++) server.commitText(conv, { userId: ALICE, deviceId: 11n }, `m${i}`, `text ${i}`);
    const last = server.log(conv).at(-1)!.id;
    const b = await makeDevice(server, BOB, 21n, { config: { clock: new ManualClock() } });
    // The highest id whose replica transaction has committed, updated as soon as it has.
    let stored = 0n;
    const apply = b.replica.applyEntries.bind(b.replica);
    b.replica.applyEntries = async (id: ConversationId, entries: readonly OpenedEntry[]) => {
      const changed = await apply(id, entries);
      stored = entries.at(-1)?.entry.id ?? stored;
      return changed;
    };
    const acks: { delivered: bigint; storedWhenReceived: bigint }[] = [];
    server.onClientFrame = (_device, frame) => {
      if (frame.t === 'ack') acks.push({ delivered: frame.delivered, storedWhenReceived: stored });
    };
    const final = clientFrame(server, (f): f is AckFrame => isAck(f) && f.delivered === last);
    await startSynced(b.client);
    await final;
    await delivered(b.client);
    expect(acks.length).toBeGreaterThanOrEqual(1);
    expect(acks.length).toBeLessThanOrEqual(2);
    expect(acks.at(-1)?.delivered).toBe(last);
    for (const ack of acks) expect(ack.delivered).toBeLessThanOrEqual(ack.storedWhenReceived);
    expect(server.receipts.get(conv, BOB as UserId)).toEqual({ delivered: last, read: 0n });
  });

  it('coalesces live entries into one ack after the debounce, and re-acks what the server lost with a socket', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const clock = new ManualClock();
    const b = await makeDevice(server, BOB, 21n, { config: { clock, ackDelayMs: 100 } });
    await startSynced(b.client);
    for (let i = 0; i < 5; i++) server.commitText(conv, { userId: ALICE, deviceId: 11n }, `l${i}`, `live ${i}`);
    await eventually(b.client, async () => (await b.replica.cursor()).get(conv) === server.log(conv).at(-1)!.id);
    await b.client.whenIdle();
    expect(server.received.filter(isAck)).toEqual([]);
    const [timer] = clock.pending((ms) => ms === 100);
    const ack = clientFrame(server, acksFrom(BOB));
    clock.fire(timer!);
    expect(await ack).toMatchObject({ delivered: server.log(conv).at(-1)!.id, read: 0n });

    // The server "forgets" (e.g. the ack died with its socket): after reconnecting the client sees it and acks again.
    (server.receipts as unknown as { positions: Map<unknown, unknown> }).positions.clear();
    const again = clientFrame(server, acksFrom(BOB));
    const offline = waitFor(b.client, 'status', (st) => st === 'offline');
    server.closeAll();
    await offline;
    clock.fire(clock.pending((ms) => ms < 100)[0]!); // the reconnect timer
    const frame = await again;
    expect(frame.delivered).toBe(server.log(conv).at(-1)!.id);
  });
});

describe('delivery states', () => {
  it('goes pending -> sent -> delivered -> read in a DM', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const a = await makeDevice(server, ALICE, 11n, FAST);
    const message = await a.client.sendText(conv, 'hi bob');
    expect(await stateOf(a, conv, message.uid)).toBe('pending');

    const sent = waitFor(a.client, 'message', (m) => m.uid === message.uid && m.state === 'sent');
    await startSynced(a.client);
    const id = (await sent).id!;
    await a.client.whenIdle();
    expect(await stateOf(a, conv, message.uid)).toBe('sent');

    const b = await makeDevice(server, BOB, 21n, FAST);
    await startSynced(b.client);
    await untilState(a, conv, message.uid, 'delivered');

    await b.client.markRead(conv);
    await untilState(a, conv, message.uid, 'read');
    expect(server.receipts.get(conv, BOB as UserId)).toEqual({ delivered: id, read: id });
    expect(await a.client.receiptDetail(conv, id)).toEqual([{ userId: BOB, delivered: id, read: id, state: 'read' }]);
  });

  it('in a group of 5 waits for every member, including one who was offline and comes back, with per-member detail', async () => {
    const server = new FakeServer();
    const [alice, ...others] = [ALICE, BOB, 30n, 40n, 50n];
    const conv = server.createConversation(ConversationKind.Group, [alice!, ...others], 'five');
    const a = await makeDevice(server, ALICE, 11n, FAST);
    const peers = new Map<bigint, TestDevice>();
    for (const u of others) peers.set(u, await makeDevice(server, u, u + 1n, FAST));
    await startSynced(a.client);
    for (const p of peers.values()) await startSynced(p.client);
    const late = peers.get(50n)!;
    await late.client.stop(); // offline from here on

    const { uid, id } = await sendCommitted(a, conv, 'hello all');
    const detail = () => a.client.receiptDetail(conv, id);
    await eventually(a.client, async () => (await detail()).filter((d) => d.state === 'delivered').length === 3);
    expect(await stateOf(a, conv, uid)).toBe('sent');
    expect((await detail()).map((d) => [d.userId, d.state])).toEqual([
      [BOB, 'delivered'],
      [30n, 'delivered'],
      [40n, 'delivered'],
      [50n, 'sent'],
    ]);

    for (const u of [BOB, 30n, 40n]) await peers.get(u)!.client.markRead(conv);
    await eventually(a.client, async () => (await detail()).filter((d) => d.state === 'read').length === 3);
    expect(await stateOf(a, conv, uid)).toBe('sent'); // still not delivered to member 50

    await startSynced(late.client); // comes back, catches up, acks
    await untilState(a, conv, uid, 'delivered');
    expect((await detail()).find((d) => d.userId === 50n)).toMatchObject({ state: 'delivered', read: 0n });

    await late.client.markRead(conv);
    await untilState(a, conv, uid, 'read');
    expect((await detail()).every((d) => d.state === 'read' && d.read >= id)).toBe(true);
  });

  it('hides read both ways while one side has read receipts off; states stop at delivered', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const a = await makeDevice(server, ALICE, 11n, FAST);
    const b = await makeDevice(server, BOB, 21n, FAST);
    await startSynced(a.client);
    await startSynced(b.client);
    const off = waitFor(b.client, 'settings', (s) => !s.readReceipts);
    expect(await b.client.updateSettings({ readReceipts: false })).toEqual({ readReceipts: false, showLastSeen: true });
    await off;

    // Bob reads Alice's message: the server has it (for Bob's devices), Alice never sees it.
    const fromAlice = await sendCommitted(a, conv, 'did you read this?');
    await untilState(a, conv, fromAlice.uid, 'delivered');
    const bobRead = clientFrame(server, (f, u): f is AckFrame => isAck(f) && u === BOB && f.read > 0n);
    await b.client.markRead(conv);
    await bobRead;
    await delivered(a.client, b.client);
    expect(server.receipts.get(conv, BOB as UserId).read).toBe(fromAlice.id);
    expect(await stateOf(a, conv, fromAlice.uid)).toBe('delivered');
    expect(await a.client.receiptDetail(conv, fromAlice.id)).toEqual([{ userId: BOB, delivered: fromAlice.id, read: 0n, state: 'delivered' }]);

    // Alice reads Bob's message: Bob, with receipts off, does not see it either.
    const fromBob = await sendCommitted(b, conv, 'maybe');
    await untilState(b, conv, fromBob.uid, 'delivered');
    const aliceRead = clientFrame(server, (f, u): f is AckFrame => isAck(f) && u === ALICE && f.read >= fromBob.id);
    await a.client.markRead(conv);
    await aliceRead;
    await delivered(a.client, b.client);
    expect(await stateOf(b, conv, fromBob.uid)).toBe('delivered');

    // Turned back on: both see read.
    await b.client.updateSettings({ readReceipts: true });
    await untilState(a, conv, fromAlice.uid, 'read');
    await untilState(b, conv, fromBob.uid, 'read');
  });
});

describe('unread counts', () => {
  it('are exact, skip own and system entries, and clear on device B when device A reads', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Group, [ALICE, BOB], 'pair'); // starts with a System entry
    const a = await makeDevice(server, ALICE, 11n, FAST);
    const b1 = await makeDevice(server, BOB, 21n, FAST);
    const b2 = await makeDevice(server, BOB, 22n, FAST);
    for (const d of [a, b1, b2]) await startSynced(d.client);
    const ids: EntryId[] = [];
    for (const t of ['one', 'two', 'three']) ids.push((await sendCommitted(a, conv, t)).id);
    await sendCommitted(b1, conv, 'my own'); // never unread for Bob
    await eventually(b2.client, async () => (await b2.client.unreadCount(conv)) === 3 && (await b2.replica.cursor()).get(conv) === server.log(conv).at(-1)!.id);
    expect((await b2.client.conversations()).find((c) => c.id === conv)?.unread).toBe(3);
    expect(await a.client.unreadCount(conv)).toBe(1); // Bob's message, for Alice

    const partly = waitFor(b2.client, 'unread', (u) => u.conversationId === conv && u.count === 1);
    await b1.client.markRead(conv, ids[1]);
    expect(await b1.client.unreadCount(conv)).toBe(1); // at once on the reading device
    await partly;

    const cleared = waitFor(b2.client, 'unread', (u) => u.conversationId === conv && u.count === 0);
    await b1.client.markRead(conv);
    await cleared;
    expect((await b2.client.conversations()).find((c) => c.id === conv)?.unread).toBe(0);

    // A new message from Alice counts again, on both devices.
    const again = waitFor(b2.client, 'unread', (u) => u.conversationId === conv && u.count === 1);
    await sendCommitted(a, conv, 'four');
    await again;
  });

  it('read positions never move back', async () => {
    const server = new FakeServer();
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const b = await makeDevice(server, BOB, 21n, FAST);
    for (let i = 0; i < 3; i++) server.commitText(conv, { userId: ALICE, deviceId: 11n }, `x${i}`, `x ${i}`);
    await startSynced(b.client);
    await b.client.markRead(conv);
    expect(await b.client.unreadCount(conv)).toBe(0);
    await b.client.markRead(conv, server.log(conv)[0]!.id);
    expect(await b.client.unreadCount(conv)).toBe(0);
  });
});
