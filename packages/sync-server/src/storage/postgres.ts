import pg from 'pg';
import type { SqlClient, SqlExecutor } from './sql.js';

export interface PostgresOptions {
  readonly connectionString: string;
  /** Pool size; the log writer needs one, HTTP reads the rest. */
  readonly maxConnections: number;
  /** Called for errors on idle pooled connections (e.g. the server restarted). */
  readonly onIdleError: (err: Error) => void;
}

/** Longest a health check waits for a connection or an answer, in ms. */
export const HEALTH_TIMEOUT_MS = 2000;

/** Prepared statements are named by their text, so each runs parsed once per connection. */
const names = new Map<string, string>();
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `s${names.size}`;
    names.set(text, name);
  }
  return name;
}

const run = async <R>(c: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
  const r = await c.query({ name: statementName(text), text, values: params as unknown[] | undefined });
  return { rows: r.rows as R[] };
};

/**
 * Connections run in pg's pipeline mode: statements issued without awaiting the
 * previous one are written together and answered in order, so a transaction's
 * BEGIN and its independent reads cost one round trip instead of one each (the
 * log writer's batch is two round trips plus COMMIT, not seven). Each statement
 * still runs on its own, in order, with its own snapshot.
 */
export async function openPostgres(opts: PostgresOptions): Promise<SqlClient> {
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.maxConnections, pipeline: true });
  pool.on('error', opts.onIdleError);
  // Fail fast when the server is unreachable, rather than on the first request.
  await pool.query('SELECT 1');
  // Health checks get a connection of their own (made on first use, remade after a failure), bounded in time.
  const health = new pg.Pool({ connectionString: opts.connectionString, max: 1, connectionTimeoutMillis: HEALTH_TIMEOUT_MS, query_timeout: HEALTH_TIMEOUT_MS });
  health.on('error', () => undefined); // an idle health connection dying is noticed by the next ping
  return {
    kind: 'postgres',
    query: (text, params) => run(pool, text, params),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // The pool stops listening to a client it hands out: without a listener of our own, a connection that dies
      // mid-transaction (the database stopped) throws from its 'error' event and takes the whole process down.
      // The statement in flight rejects by itself; here the client is only marked to be destroyed.
      const onError = (): void => {
        broken = true;
      };
      client.on('error', onError);
      // Not awaited here: BEGIN goes out in the same write as fn's first statements.
      const begin = client.query('BEGIN');
      void begin.catch(() => undefined); // its failure also fails every statement behind it; reported below
      try {
        const result = await fn({ query: (text, params) => run(client, text, params) });
        await begin;
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        // A connection whose rollback failed is dead: destroy it rather than pool it.
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    async ping() {
      await health.query('SELECT 1');
    },
    async exec(script) {
      await pool.query(script);
    },
    async close() {
      await Promise.all([pool.end(), health.end()]);
    },
  };
}
