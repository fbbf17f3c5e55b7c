/**
 * Node-id leases taken by nodes that start at the same moment. Each picks the
 * lowest free id; two that pick the same one meet on its row, and the one that
 * waited used to fail with "every node id is leased" while every other id was
 * free (cluster.e2e starts two nodes together; it failed that way in CI).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NODE_ID } from '@tidings/shared';
import { NodeLease } from '../src/cluster/lease.js';
import { migrate, openPostgres, type SqlClient } from '../src/index.js';
import { freshPostgresDatabase, postgresReachable } from './support/stores.js';

const pgOk = await postgresReachable();
const STARTING_TOGETHER = 12;

describe.skipIf(!pgOk)('node-id leases on postgres', () => {
  let db: SqlClient;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshPostgresDatabase();
    drop = fresh.drop;
    db = await openPostgres({ connectionString: fresh.url, maxConnections: STARTING_TOGETHER, onIdleError: () => {} });
    await migrate(db);
  });
  const opts = () => ({ db, clock: Date.now, logger: pino({ level: 'silent' }), ttlMs: 30_000, wanted: undefined });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('nodes starting together each get a lease, all different', async () => {
    for (let round = 0; round < 5; round++) {
      const leases = await Promise.all(Array.from({ length: STARTING_TOGETHER }, () => NodeLease.acquire(opts())));
      const ids = leases.map((l) => l.nodeId);
      expect(new Set(ids).size).toBe(STARTING_TOGETHER);
      await Promise.all(leases.map((l) => l.release()));
    }
  });

  it('fails with a conflict, not a loop, when every id is leased', async () => {
    await db.query('DELETE FROM node_leases');
    const ids = Array.from({ length: MAX_NODE_ID + 1 }, (_, i) => i);
    await db.query(`INSERT INTO node_leases (node_id, holder, expires_at) SELECT c, 'other', $2 FROM unnest($1::int[]) AS c`, [ids, Date.now() + 60_000]);
    await expect(NodeLease.acquire(opts())).rejects.toMatchObject({ code: 'conflict', message: 'every node id is leased' });
    await db.query('DELETE FROM node_leases');
  });
});
