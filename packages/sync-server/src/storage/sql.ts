/**
 * The server store port: a SQL client over PostgreSQL semantics. Two adapters
 * implement it (PGlite embedded, Postgres over `pg`) and run the same
 * migrations and the same queries; one conformance suite runs against both.
 */
export interface SqlResult<R> {
  readonly rows: R[];
}

export interface SqlExecutor {
  /** Run one parameterized statement ($1, $2 ...). */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

export interface SqlClient extends SqlExecutor {
  /** Run `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Is the database answering? For /healthz: on Postgres it uses a connection
   * of its own, so a busy pool (a reconnect storm queuing on it) does not make
   * a healthy node look dead to its load balancer.
   */
  ping(): Promise<void>;
  /** Run a multi-statement script with no parameters (migrations). */
  exec(script: string): Promise<void>;
  /** Which adapter this is, for logs and metrics. */
  readonly kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

/** Ids arrive as number, string or bigint depending on the adapter; normalize. */
export const big = (v: unknown): bigint => BigInt(v as string | number | bigint);
/** Ids go out as decimal strings, which both adapters cast by the statement's types. */
export const str = (v: bigint): string => v.toString();
