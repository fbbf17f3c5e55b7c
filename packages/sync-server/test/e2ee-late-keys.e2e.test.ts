/**
 * A DM started with someone whose device has no KeyPackage on the server yet
 * (signed up, engine not started): the first message waits in the sender's
 * outbox instead of going into a group that leaves the recipient out, and is
 * delivered, readable, once the recipient's keys arrive.
 */
import { describe, expect, it } from 'vitest';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until } from './support/devices.js';

describe('E2EE with a recipient whose keys come late', () => {
  it('holds the first message until the recipient can be added, then delivers it readable', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'late-alice'), { mls: true });
    const b = await device(s.url, await account(s.url, 'late-bob'), { mls: true, start: false });
    await until([a.client], async () => (await a.api.keyPackageStock()).stock > 10, 15_000, 'alice keys');
    expect((await b.api.keyPackageStock()).stock).toBe(0);

    const dm = await a.client.openDm(b.creds.userId);
    const sent = await a.client.sendText(dm, 'hi, before your keys');
    // Alice is online and synced, but nobody can read a message for Bob yet: it must stay queued, not be sealed for Alice alone.
    await until([a.client], async () => a.client.status === 'online', 15_000, 'alice online');
    await a.client.whenIdle(15_000).catch(() => undefined);
    expect((await a.client.messages(dm, { limit: 10 })).find((m) => m.uid === sent.uid)?.state).toBe('pending');
    const { rows } = await s.db.query<{ n: unknown }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1', [String(dm)]);
    expect(Number(rows[0]!.n)).toBe(0);

    b.client.start();
    await until([a.client, b.client], async () => texts(await history(b.client, dm)).includes('hi, before your keys'), 60_000, 'bob reads the first message');
    await until([a.client], async () => (await a.client.messages(dm, { limit: 10 })).find((m) => m.uid === sent.uid)?.state !== 'pending', 15_000, 'alice sees it sent');
    expect((await history(b.client, dm)).filter((m) => m.content.kind === 'unreadable')).toEqual([]);
  });

  it('sends the first message of a DM the engine had not heard of when it queued it (the CLI: open the DM, then start and send)', { timeout: 60_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'first-alice'), { mls: true });
    const b = await device(s.url, await account(s.url, 'first-bob'), { mls: true });
    await until([a.client, b.client], async () => (await a.api.keyPackageStock()).stock > 0 && (await b.api.keyPackageStock()).stock > 0, 15_000, 'keys');
    await until([a.client], async () => a.client.status === 'online', 15_000, 'alice online');
    // Alice's engine stops; the DM is made over HTTP; a new engine over the same replica queues a message, then starts.
    await a.client.stop();
    const dm = await a.api.openDm(b.creds.userId);
    const a2 = await a.restart({ start: false });
    expect((await a2.client.conversations()).some((c) => c.id === dm)).toBe(false);
    const sent = await a2.client.sendText(dm, 'first words');
    a2.client.start();
    await until([a2.client], async () => (await a2.client.messages(dm, { limit: 10 })).find((m) => m.uid === sent.uid)?.state !== 'pending', 20_000, 'alice sees it sent');
    await until([a2.client, b.client], async () => texts(await history(b.client, dm)).includes('first words'), 20_000, 'bob reads it');
  });
});
