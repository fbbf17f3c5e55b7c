/**
 * One conformance suite for the server store, run against every adapter with
 * its real backend: migrations, the log's ordering and idempotency under
 * concurrent writers, paged reads, and transactional rollback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type {
  TidingsError} from '@tidings/shared';
import {
  ConversationKind,
  EntryType,
  SnowflakeGenerator,
  type ConversationId,
  type DeviceId,
  type Entry,
  type EntryId,
  type UserId,
} from '@tidings/shared';
import { openPglite, openPostgres, migrate, type SqlClient } from '../src/index.js';
import { MIGRATIONS } from '../src/storage/migrations.js';
import { LogWriter, type CommittedBatch } from '../src/log/writer.js';
import { ACTIVE_MEMBERS_SQL, FIND_EXISTING_SQL, INSERT_ENTRIES_SQL, LOCK_CONVERSATIONS_SQL, SET_EPOCHS_SQL, readAfter, readBefore } from '../src/log/store.js';
import { insertConversation, insertMembers } from '../src/conversations/store.js';
import { freshPostgresDatabase, postgresReachable, STORE_KINDS, type StoreKind } from './support/stores.js';

const pgOk = await postgresReachable();
const logger = pino({ level: 'silent' });

async function openStore(kind: StoreKind): Promise<{ open: () => Promise<SqlClient> }> {
  if (kind === 'pglite') {
    const db = await openPglite(undefined);
    afterAll(() => db.close());
    return { open: async () => db };
  }
  const { url, drop } = await freshPostgresDatabase();
  const opened: SqlClient[] = [];
  afterAll(async () => {
    for (const c of opened) await c.close();
    await drop();
  });
  return {
    open: async () => {
      const c = await openPostgres({ connectionString: url, maxConnections: 4, onIdleError: () => {} });
      opened.push(c);
      return c;
    },
  };
}

const U1 = 11n as UserId;
const U2 = 12n as UserId;
const D1 = 21n as DeviceId;
const D2 = 22n as DeviceId;

async function seedConversation(db: SqlClient, id: bigint, members: UserId[]): Promise<ConversationId> {
  const c = id as ConversationId;
  await db.transaction(async (tx) => {
    await insertConversation(tx, { id: c, kind: ConversationKind.Group, name: 'g', dmKey: null, createdBy: members[0]! }, 1);
    await insertMembers(tx, c, members.map((u) => ({ userId: u, admin: false })), 0n as EntryId, 1);
  });
  return c;
}

function writer(db: SqlClient, nodeId: number, committed: CommittedBatch[] = []): LogWriter {
  return new LogWriter({ db, ids: new SnowflakeGenerator(nodeId), clock: Date.now, logger, maxBatch: 64, onCommitted: (b) => {
      committed.push(b);
    },
  });
}

const msg = (conversationId: ConversationId, clientMsgId: string, sender = U1, device = D1) => ({
  conversationId,
  senderUserId: sender,
  senderDeviceId: device,
  clientMsgId,
  type: EntryType.Text,
  body: new TextEncoder().encode(clientMsgId),
});

describe.each(STORE_KINDS)('server store conformance: %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !pgOk)('', async () => {
    const store = await openStore(kind);

    it('applies migrations once; a second run applies nothing', async () => {
      const db = await store.open();
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
    });

    it('plans every statement of a batch on indexes, even the plan made while the log is empty', async () => {
      // The plan a prepared statement keeps is the generic one, made from the statistics of its time: on a
      // new database, none. A batch must still probe indexes, not scan every entry or conversation.
      const db = await store.open();
      const genericPlan = (sql: string, args: string) =>
        db.transaction(async (tx) => {
          await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
          await tx.query(`PREPARE plan_probe AS ${sql}`);
          try {
            const { rows } = await tx.query<Record<string, string>>(`EXPLAIN EXECUTE plan_probe${args}`);
            return rows.map((r) => Object.values(r)[0]).join('\n');
          } finally {
            await tx.query('DEALLOCATE plan_probe');
          }
        });
      const find = await genericPlan(FIND_EXISTING_SQL, "('{1}', '{2}', '{k}')");
      expect(find).toMatch(/Index Scan using entries_idempotency/);
      const insert = await genericPlan(INSERT_ENTRIES_SQL, "('{1}', '{2}', '{0}', '{3}', '{4}', '{k}', '{1}', '{1}', '{1}', '{0}', '\\x00', '{1}', '{2}')");
      const epochs = await genericPlan(SET_EPOCHS_SQL, "('{1}', '{2}')");
      const lock = await genericPlan(LOCK_CONVERSATIONS_SQL, "('{1}')");
      const members = await genericPlan(ACTIVE_MEMBERS_SQL, "('{1}')");
      for (const plan of [find, insert, epochs, lock, members]) {
        expect(plan).not.toMatch(/Seq Scan on (entries|conversations|members)/);
      }
      expect(lock).toMatch(/conversations_pkey/);
      expect(members).toMatch(/members_pkey/);
      expect(insert).toMatch(/Index Scan on conversations_pkey|Index Scan using conversations_pkey/);
      expect(epochs).toMatch(/Index Scan on conversations_pkey|Index Scan using conversations_pkey/);
    });

    it('assigns strictly increasing ids in commit order with an unbroken prev chain, even with two writers racing', async () => {
      const [db1, db2] = [await store.open(), await store.open()];
      const conv = await seedConversation(db1, 1001n, [U1, U2]);
      // Two writers with different node ids, as two server nodes would be.
      const [w1, w2] = [writer(db1, 1), writer(db2, 2)];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? w1 : w2).append(msg(conv, `c${i}`, i % 3 ? U1 : U2, i % 3 ? D1 : D2))),
      );
      const all = await readAfter(db1, conv, 0n as EntryId, null, 1000);
      expect(all).toHaveLength(200);
      for (let i = 1; i < all.length; i++) {
        expect(all[i]!.id).toBeGreaterThan(all[i - 1]!.id);
        expect(all[i]!.prevId).toBe(all[i - 1]!.id);
      }
      expect(all[0]!.prevId).toBe(0n);
      expect(new Set(results.map((r) => r.entry.id)).size).toBe(200);
      const nodes = new Set(all.map((e) => Number((e.id >> 12n) & 1023n)));
      expect(nodes).toEqual(new Set([1, 2]));
    });

    it('commits concurrent appends in batches, not one transaction each', async () => {
      const db = await store.open();
      const conv = await seedConversation(db, 1002n, [U1]);
      const committed: CommittedBatch[] = [];
      const w = writer(db, 3, committed);
      await Promise.all(Array.from({ length: 300 }, (_, i) => w.append(msg(conv, `b${i}`))));
      expect(committed.reduce((n, b) => n + b.entries.length, 0)).toBe(300);
      expect(committed.length).toBeLessThan(30);
      expect(committed.every((b) => b.members.get(conv)?.has(U1))).toBe(true);
    });

    it('appends arriving in separate callbacks of one turn (as frames from many sockets do) share a batch', async () => {
      const db = await store.open();
      const conv = await seedConversation(db, 1011n, [U1]);
      const committed: CommittedBatch[] = [];
      const w = writer(db, 4, committed);
      // Each append from its own check-phase callback, the way each socket's frame arrives from its own
      // I/O callback. Starting a batch inside the first callback took one append per batch on PGlite.
      const acks = await new Promise<Promise<unknown>[]>((resolve) => {
        const out: Promise<unknown>[] = [];
        for (let i = 0; i < 40; i++) setImmediate(() => void out.push(w.append(msg(conv, `t${i}`))));
        setImmediate(() => resolve(out));
      });
      await Promise.all(acks);
      expect(committed.reduce((n, b) => n + b.entries.length, 0)).toBe(40);
      expect(committed.length).toBe(1);
    });

    it('is idempotent per (conversation, device, client id): within a batch, across batches, across writers', async () => {
      const [db1, db2] = [await store.open(), await store.open()];
      const conv = await seedConversation(db1, 1003n, [U1, U2]);
      const [w1, w2] = [writer(db1, 4), writer(db2, 5)];
      const first = await Promise.all([w1.append(msg(conv, 'k')), w1.append(msg(conv, 'k')), w2.append(msg(conv, 'k'))]);
      const again = await w2.append(msg(conv, 'k'));
      const ids = new Set([...first, again].map((r) => r.entry.id));
      expect(ids.size).toBe(1);
      expect([...first, again].filter((r) => !r.duplicate)).toHaveLength(1);
      // the same client id from another device is a different message
      const other = await w1.append(msg(conv, 'k', U2, D2));
      expect(other.duplicate).toBe(false);
      expect(await readAfter(db1, conv, 0n as EntryId, null, 10)).toHaveLength(2);
    });

    it('stores every body of a batch byte for byte: empty, one byte, all 256 byte values, large, across conversations', async () => {
      const db = await store.open();
      const [c1, c2] = [await seedConversation(db, 1009n, [U1]), await seedConversation(db, 1010n, [U1])];
      const committed: CommittedBatch[] = [];
      const w = writer(db, 9, committed);
      const bodies = [
        new Uint8Array(0),
        Uint8Array.of(0),
        Uint8Array.from({ length: 256 }, (_, i) => i),
        Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) & 0xff),
        new TextEncoder().encode('\\x00 not hex'),
      ];
      const sent = await Promise.all(bodies.map((body, i) => w.append({ ...msg(i % 2 ? c2 : c1, `bin${i}`), body })));
      expect(committed.length).toBeLessThan(bodies.length); // at least two bodies shared a batch
      const stored = [...(await readAfter(db, c1, 0n as EntryId, null, 10)), ...(await readAfter(db, c2, 0n as EntryId, null, 10))];
      for (const [i, body] of bodies.entries()) {
        const e = stored.find((x) => x.id === sent[i]!.entry.id);
        expect(e?.clientMsgId).toBe(`bin${i}`);
        expect(Buffer.from(e!.body).equals(Buffer.from(body))).toBe(true);
      }
    });

    it('rejects appends to unknown conversations and from non-members, changing nothing', async () => {
      const db = await store.open();
      const conv = await seedConversation(db, 1004n, [U1]);
      const w = writer(db, 6);
      const results = await Promise.allSettled([w.append(msg(999999n as ConversationId, 'x')), w.append(msg(conv, 'y', U2, D2)), w.append(msg(conv, 'z'))]);
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as TidingsError).code : 'ok'))).toEqual(['not_found', 'not_a_member', 'ok']);
      expect((await readAfter(db, conv, 0n as EntryId, null, 10)).map((e) => e.clientMsgId)).toEqual(['z']);
    });

    it('pages forward by cursor and backward by position, within a membership window, filtered by type', async () => {
      const db = await store.open();
      const conv = await seedConversation(db, 1005n, [U1]);
      const w = writer(db, 7);
      const entries: Entry[] = [];
      for (let i = 0; i < 25; i++) entries.push((await w.append({ ...msg(conv, `p${i}`), type: i % 5 === 0 ? EntryType.Crdt : EntryType.Text })).entry);
      const page1 = await readAfter(db, conv, 0n as EntryId, null, 10);
      const page2 = await readAfter(db, conv, page1[9]!.id, null, 10);
      const page3 = await readAfter(db, conv, page2[9]!.id, null, 10);
      expect([...page1, ...page2, ...page3].map((e) => e.id)).toEqual(entries.map((e) => e.id));
      expect(await readAfter(db, conv, 0n as EntryId, entries[4]!.id, 100)).toHaveLength(5);
      const newest = await readBefore(db, { conversationId: conv, before: null, since: entries[2]!.id, upto: null, types: [EntryType.Text], limit: 100 });
      expect(newest.map((e) => e.clientMsgId)).toEqual(entries.slice(3).filter((_, i) => (i + 3) % 5 !== 0).map((e) => e.clientMsgId).reverse());
      const older = await readBefore(db, { conversationId: conv, before: newest[4]!.id, since: 0n as EntryId, upto: null, types: [EntryType.Text], limit: 3 });
      expect(older.map((e) => e.id)).toEqual(newest.slice(5, 8).map((e) => e.id));
      expect(page1[0]!.body).toEqual(new TextEncoder().encode('p0'));
    });

    it('rolls a failed transaction back completely', async () => {
      const db = await store.open();
      await expect(
        db.transaction(async (tx) => {
          await insertConversation(tx, { id: 1006n as ConversationId, kind: ConversationKind.Group, name: 'gone', dmKey: null, createdBy: U1 }, 1);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await db.query('SELECT id FROM conversations WHERE id = 1006')).rows).toHaveLength(0);
    });

    it('a batch whose write fails commits nothing and acks nothing (the writes are pipelined with COMMIT)', async () => {
      const db = await store.open();
      const conv = await seedConversation(db, 1007n, [U1]);
      const committed: CommittedBatch[] = [];
      const w = writer(db, 8, committed);
      await w.append(msg(conv, 'before'));
      // The entries INSERT fails for this batch only (a body of 'fail'), after the reads have succeeded.
      await db.exec(`CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.body = 'fail'::bytea THEN RAISE EXCEPTION 'injected write failure'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER fail_insert BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION fail_insert();`);
      await expect(w.append(msg(conv, 'fail'))).rejects.toMatchObject({ code: 'internal' });
      const rows = await readAfter(db, conv, 0n as EntryId, null, 10);
      expect(rows.map((e) => e.clientMsgId)).toEqual(['before']);
      const { rows: conversation } = await db.query<{ last_id: unknown }>('SELECT last_id FROM conversations WHERE id = 1007');
      expect(BigInt(conversation[0]!.last_id as string)).toBe(rows[0]!.id);
      expect(committed.flatMap((b) => b.entries.map((e) => e.clientMsgId))).toEqual(['before']);
      // The writer and the connection keep working.
      expect((await w.append(msg(conv, 'after'))).duplicate).toBe(false);
    });
  });
});
