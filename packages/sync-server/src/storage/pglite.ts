import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor, SqlResult } from './sql.js';

/** Embedded PostgreSQL (WASM), file-backed under `dataDir`, or in memory when it is undefined. */
export async function openPglite(dataDir: string | undefined): Promise<SqlClient> {
  const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await db.waitReady;
  const query = async <R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> => {
    const r = await db.query<R>(text, params as unknown[] | undefined);
    return { rows: r.rows };
  };
  return {
    kind: 'pglite',
    query,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) =>
        fn({
          query: async <R>(text: string, params?: readonly unknown[]) => {
            const r = await tx.query<R>(text, params as unknown[] | undefined);
            return { rows: r.rows };
          },
        }),
      );
    },
    // One in-process engine: there is no pool to bypass.
    async ping() {
      await db.query('SELECT 1');
    },
    async exec(script) {
      await db.exec(script);
    },
    async close() {
      await db.close();
    },
  };
}
