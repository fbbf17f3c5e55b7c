/**
 * Entries that arrive before their group's Welcome are held, and opened once
 * the Welcome is in. When that replay could not be written (log-reader.test
 * checks that nothing is then lost: the entries stay held, the group at its
 * stored state), the next sync opens them; before, only another Welcome did.
 */
import { describe, expect, it } from 'vitest';
import { EntryType } from '@tidings/shared';
import { Unreadable } from '../../client/src/e2ee-engine/log-reader.js';
import { testBackend } from './support/server.js';
import { account, device, history, keysReady, texts, until } from './support/devices.js';
import { RawClient } from './support/raw-client.js';

describe('held entries', () => {
  it('whose replay after the Welcome could not be written are opened at the next sync', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'held-alice'), { mls: true });
    let b = await device(s.url, await account(s.url, 'held-bob'), { mls: true });
    await Promise.all([keysReady(a), keysReady(b)]);
    const group = await a.client.createGroup('held', [b.creds.userId]);
    await a.client.sendText(group, 'hello');
    await until([a.client, b.client], async () => texts(await history(b.client, group)).includes('hello'), 30_000, 'bob joined');
    await b.client.whenIdle(15_000);
    b = await b.restart({ start: false });
    await a.client.sendText(group, 'while you were away');
    await a.client.whenIdle(15_000);

    // Bob's replica as a failed replay leaves it: the entry held, its row waiting for keys, the cursor past it,
    // and the group not advanced (the group's own write was part of the replay that failed).
    const cursor = [...(await b.replica.cursor())].map(([conversationId, upto]) => ({ conversationId, upto }));
    const raw = await RawClient.connect(s.url, b.creds.token, cursor);
    const missed = raw.entries(group).filter((e) => e.type === EntryType.Text);
    raw.close();
    await raw.whenClosed(); // gone before Bob's engine connects as the same device
    expect(missed).toHaveLength(1);
    await b.replica.applyEntries(group, missed.map((entry) => ({ entry, content: { kind: 'unreadable', reason: Unreadable.AwaitingKeys } })));
    for (const entry of missed) await b.replica.hold(entry);

    b = await b.restart({ start: true });
    await until([b.client], async () => texts(await history(b.client, group)).includes('while you were away'), 30_000, 'bob reads the held message');
    expect(await b.replica.held(group)).toEqual([]);
    expect((await history(b.client, group)).filter((m) => m.content.kind === 'unreadable')).toEqual([]);
  });
});
