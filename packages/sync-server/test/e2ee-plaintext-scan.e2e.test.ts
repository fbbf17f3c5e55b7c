/**
 * The server cannot read content: after a run with known plaintexts (DM,
 * group, a removal, a new device with history), every column of every table
 * of the Postgres database, as text and as hex, contains none of them.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { HttpApi } from '@tidings/client';
import type { ConversationId, UserId } from '@tidings/shared';
import { testBackend } from './support/server.js';
import { postgresReachable } from './support/stores.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

const keysReady = (d: Device) => until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 20_000, 'KeyPackages uploaded');
const has = (d: Device, conv: ConversationId, want: string[]) => async () => {
  const got = texts(await history(d.client, conv));
  return want.every((w) => got.includes(w));
};

describe.skipIf(!(await postgresReachable()))('plaintext scan of Postgres', () => {
  it('finds none of the sent plaintexts in any table', { timeout: 120_000 }, async () => {
    const backend = await testBackend('postgres');
    const s = await backend.start();
    const [ca, cb, cc] = [await account(s.url, 'scan-alice'), await account(s.url, 'scan-bob'), await account(s.url, 'scan-carol')];
    const [a, b, c] = [await device(s.url, ca, { mls: true }), await device(s.url, cb, { mls: true }), await device(s.url, cc, { mls: true })];
    await Promise.all([a, b, c].map(keysReady));
    const secrets = Array.from({ length: 8 }, (_, i) => `zebra-plaintext-${i}-quokka`);
    const dm = await a.client.openDm(cb.userId);
    const group = await a.client.createGroup('scan', [cb.userId, cc.userId] as UserId[]);
    for (const [i, t] of secrets.entries()) await (i % 2 === 0 ? a : b).client.sendText(i < 4 ? dm : group, t);
    await until([a.client, b.client, c.client], has(c, group, secrets.slice(4)), 30_000, 'carol reads');
    await until([a.client, b.client], has(a, dm, secrets.slice(0, 4)), 30_000, 'alice reads');
    const b2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('scan-bob', 'correct horse battery', 'second'), { mls: true });
    await until([b.client, b2.client], has(b2, dm, secrets.slice(0, 4)), 60_000, 'history reached the new device');

    const db = new pg.Client({ connectionString: backend.config.databaseUrl });
    await db.connect();
    try {
      const tables = (await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows;
      expect(tables.length).toBeGreaterThan(5);
      const needles = secrets.flatMap((t) => [t, Buffer.from(t).toString('hex')]);
      let rows = 0;
      for (const { table_name } of tables) {
        const cols = (await db.query<{ column_name: string; data_type: string }>(
          "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1", [table_name])).rows;
        const select = `concat_ws(chr(31), ${cols.map((col) => (col.data_type === 'bytea' ? `encode("${col.column_name}", 'hex')` : `"${col.column_name}"::text`)).join(', ')})`;
        const result = await db.query<{ t: string | null }>(`SELECT ${select || "''"} AS t FROM "${table_name}"`);
        for (const r of result.rows) {
          rows += 1;
          const text = (r.t ?? '').toLowerCase();
          for (const n of needles) expect(text.includes(n.toLowerCase()), `${table_name} holds ${n}`).toBe(false);
        }
      }
      expect(rows).toBeGreaterThan(20);
    } finally {
      await db.end();
    }
  });
});
