/**
 * Group commit: appends from every connection queue here and are committed
 * in batches, one transaction per batch, one multi-row INSERT per batch. The
 * first append after a quiet spell commits at once; appends that arrive while
 * a batch is committing form the next batch. "Sent" resolves only after the
 * batch is committed.
 */
import {
  ErrorCode,
  TidingsError,
  type ConversationId,
  type Entry,
  type EntryId,
  type SnowflakeGenerator,
  type UserId,
} from '@tidings/shared';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import { activeMembers, findExisting, idempotencyKey, insertEntries, lockConversations, setEpochs, type NewEntry } from './store.js';
import { checkEpoch } from '../mls/epochs.js';
import { toStoreError } from '../storage/errors.js';

export interface AppendResult {
  readonly entry: Entry;
  /** True when this idempotency key was committed before: the same entry is returned. */
  readonly duplicate: boolean;
}

/** What one committed batch added, for fan-out. */
export interface CommittedBatch {
  /** New entries in commit order (duplicates excluded). */
  readonly entries: readonly Entry[];
  /** Entries a retried append found already committed (published again: their first publish may have been lost). */
  readonly replayed: readonly Entry[];
  /** Active members of each conversation in the batch, read under its lock. */
  readonly members: ReadonlyMap<ConversationId, ReadonlySet<UserId>>;
}

export interface LogWriterOptions {
  readonly db: SqlClient;
  readonly ids: SnowflakeGenerator;
  readonly clock: () => number;
  readonly logger: Logger;
  /** Most appends committed in one transaction. */
  readonly maxBatch: number;
  /** Fan-out; acks wait for it, so an acked entry has been handed to every node. */
  readonly onCommitted: (batch: CommittedBatch) => Promise<void> | void;
  readonly onBatch?: (size: number, seconds: number) => void;
}

interface Pending {
  readonly req: NewEntry;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: TidingsError) => void;
}

/** Body bytes committed in one transaction at most: big bodies make smaller batches, so one statement stays small. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: TidingsError };

export class LogWriter {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: LogWriterOptions) {}

  append(req: NewEntry): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new TidingsError(ErrorCode.ShuttingDown, 'the server is shutting down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Stop taking appends and wait until everything queued is committed (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        // Each batch starts on a new turn, after the event loop has read the sockets: every append
        // that has arrived by then joins it. Starting at once took only the appends of the current
        // callback, and on PGlite (in-process, so a commit never waits on the network) the next batch
        // again took only what had queued during the commit, without reading the sockets in between.
        // That made batches of ~2 entries, each paying four statements (issue #11, target 2).
        await nextTurn();
        if (this.queue.length === 0) return;
        const batch = this.takeBatch();
        const started = performance.now();
        let outcomes: Outcome[];
        let committed: CommittedBatch | undefined;
        try {
          ({ outcomes, committed } = await this.commit(batch.map((p) => p.req)));
        } catch (err) {
          const error = toStoreError(err);
          this.opts.logger.error({ err, size: batch.length }, 'log batch failed');
          outcomes = batch.map(() => ({ ok: false, error }));
        }
        this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
        // Fan out before resolving, so a sender's own ack never overtakes the entry on other sockets.
        if (committed && (committed.entries.length > 0 || committed.replayed.length > 0)) {
          try {
            await this.opts.onCommitted(committed);
          } catch (err) {
            this.opts.logger.error({ err }, 'fan-out failed');
          }
        }
        batch.forEach((p, i) => {
          const o = outcomes[i];
          if (!o) p.reject(new TidingsError(ErrorCode.Internal, 'append lost its outcome'));
          else if (o.ok) p.resolve(o.result);
          else p.reject(o.error);
        });
      }
    } finally {
      this.running = undefined;
    }
  }

  /** The next batch: at most maxBatch appends and MAX_BATCH_BYTES of bodies (always at least one). */
  private takeBatch(): Pending[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.opts.maxBatch) {
      bytes += this.queue[n]!.req.body.length;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async commit(reqs: readonly NewEntry[]): Promise<{ outcomes: Outcome[]; committed: CommittedBatch }> {
    const { db, ids, clock } = this.opts;
    // The writes are issued, not awaited, inside the transaction, so COMMIT goes out right behind
    // them (one round trip on a pipelined connection). If a write fails, Postgres turns that COMMIT
    // into a rollback, and awaiting `written` below fails the whole batch: nothing is acked.
    const { written, ...result } = await db.transaction(async (tx) => {
      const convIds = reqs.map((r) => r.conversationId);
      // Three statements issued together (one round trip on a pipelined connection), run in this
      // order: the members and idempotency reads start after the locks are held, each with its own
      // snapshot, so they see every change committed before the lock was granted.
      const [last, members, existing] = await Promise.all([lockConversations(tx, convIds), activeMembers(tx, convIds), findExisting(tx, reqs)]);
      const fresh: Entry[] = [];
      const replayed: Entry[] = [];
      const freshKeys = new Set<string>(); // entries first committed in this batch are not replays
      const epochsMoved = new Map<ConversationId, bigint>();
      const outcomes = reqs.map((r): Outcome => {
        if (!last.has(r.conversationId)) {
          return { ok: false, error: new TidingsError(ErrorCode.NotFound, 'no such conversation') };
        }
        if (!members.get(r.conversationId)?.has(r.senderUserId)) {
          return { ok: false, error: new TidingsError(ErrorCode.NotAMember, 'you are not a member of this conversation') };
        }
        const key = idempotencyKey(r);
        const seen = existing.get(key);
        if (seen) {
          if (!freshKeys.has(key)) replayed.push(seen);
          return { ok: true, result: { entry: seen, duplicate: true } };
        }
        const conv = last.get(r.conversationId)!;
        const epoch = checkEpoch(r, conv.mlsEpoch);
        if (!epoch.ok) return { ok: false, error: epoch.error };
        if (epoch.nextEpoch !== conv.mlsEpoch && epoch.nextEpoch !== null) {
          conv.mlsEpoch = epoch.nextEpoch;
          epochsMoved.set(r.conversationId, epoch.nextEpoch);
        }
        const prevId = conv.lastId;
        const id = ids.nextAfter(prevId) as EntryId;
        // Spelled out: on Node 20, `{ ...r, id, prevId, createdAt }` took V8's slow path, 4 µs of this thread per entry.
        const entry: Entry = {
          conversationId: r.conversationId,
          id,
          prevId,
          senderUserId: r.senderUserId,
          senderDeviceId: r.senderDeviceId,
          clientMsgId: r.clientMsgId,
          type: r.type,
          body: r.body,
          createdAt: clock(),
        };
        conv.lastId = id;
        existing.set(key, entry);
        freshKeys.add(key);
        fresh.push(entry);
        return { ok: true, result: { entry, duplicate: false } };
      });
      const written = Promise.all([insertEntries(tx, fresh), setEpochs(tx, epochsMoved)]);
      written.catch(() => undefined); // awaited below once the transaction has ended
      return { outcomes, committed: { entries: fresh, replayed, members }, written };
    });
    await written;
    return result;
  }
}
