/**
 * Snowflake node-id leases, kept in the shared store (not Redis: a node must
 * go on accepting messages while Redis is down). A node takes a free or
 * expired id, renews it well before expiry, and stops assigning ids the
 * moment it cannot be sure the lease is still its own.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, MAX_NODE_ID, SnowflakeGenerator, TidingsError } from '@tidings/shared';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';

export interface LeaseOptions {
  readonly db: SqlClient;
  readonly clock: () => number;
  readonly logger: Logger;
  /** A lease lives this long without renewal, in ms. */
  readonly ttlMs: number;
  /** The id to take; undefined takes the lowest free one. */
  readonly wanted: number | undefined;
}

export class NodeLease {
  private expiresAt = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly nodeId: number,
    private readonly opts: LeaseOptions,
    private readonly holder: string,
  ) {}

  /**
   * Take a lease: the wanted id (waiting up to one TTL for a crashed holder's
   * lease to lapse, as after a kill -9 and restart), or the lowest free one.
   * Nodes that start together may pick the same lowest id; the one that loses
   * it tries again on the next (each lost race means another node got a lease,
   * so this ends), and fails only when no id is free.
   */
  static async acquire(opts: LeaseOptions): Promise<NodeLease> {
    const deadline = opts.clock() + (opts.wanted === undefined ? 0 : opts.ttlMs + 1000);
    for (;;) {
      const lease = await NodeLease.tryAcquire(opts);
      if (lease) return lease;
      if (opts.wanted === undefined) {
        if (await NodeLease.anyFree(opts)) continue;
        throw new TidingsError(ErrorCode.Conflict, 'every node id is leased');
      }
      if (opts.clock() >= deadline) throw new TidingsError(ErrorCode.Conflict, `node id ${opts.wanted} is leased by another running node`);
      opts.logger.warn({ node: opts.wanted }, 'node id is leased; waiting for the lease to lapse');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** True when some node id has no live lease. */
  private static async anyFree(opts: LeaseOptions): Promise<boolean> {
    const { rows } = await opts.db.query<{ n: number }>('SELECT count(*)::int AS n FROM node_leases WHERE expires_at > $1', [opts.clock()]);
    return Number(rows[0]?.n ?? 0) <= MAX_NODE_ID;
  }

  /** The lease, or undefined when the id it picked is leased (by a running node, or one that won the same pick). */
  private static async tryAcquire(opts: LeaseOptions): Promise<NodeLease | undefined> {
    const candidates = opts.wanted === undefined ? Array.from({ length: MAX_NODE_ID + 1 }, (_, i) => i) : [opts.wanted];
    const now = opts.clock();
    const holder = randomUUID();
    const { rows } = await opts.db.query<{ node_id: number }>(
      `INSERT INTO node_leases AS l (node_id, holder, expires_at)
       SELECT c, $2, $3 FROM unnest($1::int[]) AS c
        WHERE NOT EXISTS (SELECT 1 FROM node_leases x WHERE x.node_id = c AND x.expires_at > $4)
        ORDER BY c LIMIT 1
       ON CONFLICT (node_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= $4
       RETURNING node_id`,
      [candidates, holder, now + opts.ttlMs, now],
    );
    const got = rows[0];
    if (!got) return undefined;
    const lease = new NodeLease(Number(got.node_id), opts, holder);
    lease.expiresAt = now + opts.ttlMs;
    lease.timer = setInterval(() => void lease.renew(), Math.floor(opts.ttlMs / 3));
    lease.timer.unref();
    return lease;
  }

  /** True while the lease is surely ours (a margin of a third of the TTL covers clock skew and slow renewals). */
  valid(): boolean {
    return this.opts.clock() < this.expiresAt - Math.floor(this.opts.ttlMs / 3);
  }

  /** Throws unless the lease is valid: the guard in front of every id assignment. */
  check(): void {
    if (!this.valid()) throw new TidingsError(ErrorCode.Unavailable, 'this node lost its node-id lease; retry on another node');
  }

  async renew(): Promise<boolean> {
    const now = this.opts.clock();
    try {
      const { rows } = await this.opts.db.query(
        'UPDATE node_leases SET expires_at = $3 WHERE node_id = $1 AND holder = $2 RETURNING node_id',
        [this.nodeId, this.holder, now + this.opts.ttlMs],
      );
      if (rows.length === 1) {
        this.expiresAt = now + this.opts.ttlMs;
        return true;
      }
      this.expiresAt = 0; // taken over: stop at once
      this.opts.logger.error({ node: this.nodeId }, 'node-id lease lost to another node; no more ids will be assigned');
    } catch (err) {
      this.opts.logger.warn({ err, node: this.nodeId }, 'could not renew the node-id lease');
    }
    return false;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    this.expiresAt = 0;
    await this.opts.db.query('DELETE FROM node_leases WHERE node_id = $1 AND holder = $2', [this.nodeId, this.holder]).catch(() => undefined);
  }
}

/** Snowflakes that are only handed out while the node holds its lease. */
export class LeasedSnowflakes extends SnowflakeGenerator {
  constructor(
    private readonly lease: NodeLease,
    clock: () => number,
  ) {
    super(lease.nodeId, clock);
  }

  override next(): bigint {
    this.lease.check();
    return super.next();
  }
}
