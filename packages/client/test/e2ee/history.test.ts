/**
 * History for a newly linked device: the self group's ratchet step and what
 * the item opened are stored together. A write that fails keeps the item in
 * the inbox (the error reaches the caller) with the group at its stored
 * state, so it opens when it comes again; before, the step was saved first
 * and the item, acked anyway, could never be opened again.
 */
import { ConversationKind, EntryType, InboxKind, parseConversationId, parseDeviceId, parseEntryId, parseUserId, type Entry, type InboxItem } from '@tidings/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { MlsGroup, createDeviceIdentity, generateKeyPackages } from '../../src/e2ee/index.js';
import { GroupCache } from '../../src/e2ee-engine/groups.js';
import { HistorySync } from '../../src/e2ee-engine/history.js';
import { encodePayload } from '../../src/e2ee-engine/payload.js';
import { openMemoryReplica } from '../../src/node.js';
import { failOnce } from '../support/fail-once.js';
import { stubHost } from './host.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const USER = parseUserId(7);
const SELF = parseConversationId(9001);
const CHAT = parseConversationId(9002);

describe('history from another own device', () => {
  it('keeps an item whose write failed, with the self group at its stored state, and opens it when it comes again', async () => {
    // The old device (701) and the new one (702) share the self group.
    const old = await createDeviceIdentity({ userId: USER, deviceId: parseDeviceId(701) });
    const linked = await createDeviceIdentity({ userId: USER, deviceId: parseDeviceId(702) });
    const oldGroup = await MlsGroup.create(old, SELF);
    const [kp] = await generateKeyPackages(linked, 1);
    const add = await oldGroup.proposeAdd([kp!.publicBytes]);
    await oldGroup.confirm();
    const { group: newGroup } = await MlsGroup.join(add.welcome!, () => kp!.privateBytes);

    const replica = await openMemoryReplica(`history-${Math.random()}`);
    closers.push(() => replica.close());
    await replica.saveGroup(SELF, newGroup.serialize());
    await replica.upsertConversation({ id: SELF, kind: ConversationKind.Self, name: '', members: [USER], lastId: parseEntryId(0), left: false });
    // A message of another conversation the new device could not open: only the old device's history can fill it in.
    const entry: Entry = {
      conversationId: CHAT,
      id: parseEntryId(5),
      prevId: parseEntryId(0),
      senderUserId: parseUserId(8),
      senderDeviceId: parseDeviceId(801),
      clientMsgId: 'm5',
      type: EntryType.Text,
      createdAt: 0,
      body: new Uint8Array([1]),
    };
    await replica.applyEntries(CHAT, [{ entry, content: { kind: 'unreadable', reason: 'sent before this device joined' } }]);

    const credentials = { userId: USER, deviceId: linked.deviceId, token: 'unused' };
    const changed: string[] = [];
    const host = stubHost(replica, credentials, {
      messageChanged: (m) => void changed.push(m.content.kind === 'text' ? m.content.text : m.content.kind),
    });
    const history = new HistorySync(host, new GroupCache(replica, credentials, newGroup.suite));
    const body = await oldGroup.encrypt(encodePayload({ t: 'history', conversationId: CHAT, items: [{ id: entry.id, content: { kind: 'text', text: 'from the old device' } }] }));
    const item: InboxItem = { id: 1n, senderUserId: USER, senderDeviceId: old.deviceId, kind: InboxKind.History, createdAt: 0, body };

    failOnce(replica, 'storeHistory', 'disk full');
    await expect(history.receive(item)).rejects.toThrow('disk full');
    expect((await replica.message(`801:m5`))?.content.kind).toBe('unreadable');

    expect(await history.receive(item)).toBe(true);
    expect(changed).toEqual(['from the old device']);
    expect((await replica.message(`801:m5`))?.content).toEqual({ kind: 'text', text: 'from the old device' });
    expect(await replica.historyContent(CHAT, entry.id)).toEqual({ kind: 'text', text: 'from the old device' });
    // The stored self group is past the item: it does not open twice.
    const stored = await MlsGroup.restore((await replica.loadGroup(SELF))!);
    await expect(stored.decrypt(body)).rejects.toThrow();
  });
});
