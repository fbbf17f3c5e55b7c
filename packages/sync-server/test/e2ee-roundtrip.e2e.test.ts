/**
 * End-to-end encryption through real engines (MLS envelope) and a real
 * server: DM and group round trips decrypt on every member device.
 */
import { describe, expect, it } from 'vitest';
import type { TidingsClient } from '@tidings/client';
import type { ConversationId, UserId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

const keysReady = async (d: Device): Promise<void> => {
  await until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 15_000, 'KeyPackages uploaded');
};
export const hasTexts = (c: TidingsClient, conv: ConversationId, want: readonly string[]) => async () => {
  const got = texts(await history(c, conv));
  return want.every((w) => got.includes(w));
};

describe('E2EE round trips', () => {
  it('DM: both sides decrypt, the server holds ciphertext only', { timeout: 60_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a = await device(s.url, await account(s.url, 'e2ee-alice'), { mls: true });
    const b = await device(s.url, await account(s.url, 'e2ee-bob'), { mls: true });
    await Promise.all([keysReady(a), keysReady(b)]);
    const dm = await a.client.openDm(b.creds.userId);
    await a.client.sendText(dm, 'hello bob, secretly');
    await until([a.client, b.client], hasTexts(b.client, dm, ['hello bob, secretly']), 20_000, 'bob reads');
    await b.client.sendText(dm, 'hi alice, secretly');
    await until([a.client, b.client], hasTexts(a.client, dm, ['hi alice, secretly', 'hello bob, secretly']), 20_000, 'alice reads');
    const { rows } = await s.db.query<{ body: Uint8Array }>('SELECT body FROM entries WHERE conversation_id = $1', [String(dm)]);
    for (const r of rows) expect(Buffer.from(r.body).toString('utf8')).not.toContain('secretly');
  });

  it('group: every member device decrypts every message', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const [ca, cb, cc] = [await account(s.url, 'g-alice'), await account(s.url, 'g-bob'), await account(s.url, 'g-carol')];
    const all = [await device(s.url, ca, { mls: true }), await device(s.url, cb, { mls: true }), await device(s.url, cc, { mls: true })];
    await Promise.all(all.map(keysReady));
    const [a, b, c] = all as [Device, Device, Device];
    const group = await a.client.createGroup('secret club', [cb.userId, cc.userId] as UserId[]);
    await a.client.sendText(group, 'from alice');
    await until(all.map((d) => d.client), hasTexts(c.client, group, ['from alice']), 30_000, 'carol reads alice');
    await b.client.sendText(group, 'from bob');
    await c.client.sendText(group, 'from carol');
    for (const d of all) {
      await until(all.map((x) => x.client), async () => texts(await history(d.client, group)).length === 3, 30_000, 'all read all');
      expect(texts(await history(d.client, group)).sort()).toEqual(['from alice', 'from bob', 'from carol']);
    }
  });
});
