/**
 * The log in the server store: batched appends under per-conversation row
 * locks (ids strictly increasing in commit order) and paged reads by
 * (conversation_id, id).
 */
import type { ConversationId, DeviceId, Entry, EntryId, EntryType, UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';

export interface NewEntry {
  readonly conversationId: ConversationId;
  readonly senderUserId: UserId;
  readonly senderDeviceId: DeviceId;
  readonly clientMsgId: string;
  readonly type: EntryType;
  readonly body: Uint8Array;
}

interface EntryRow {
  conversation_id: unknown;
  id: unknown;
  prev_id: unknown;
  sender_user_id: unknown;
  sender_device_id: unknown;
  client_msg_id: string;
  type: number;
  body: Uint8Array;
  created_at: unknown;
}

const ENTRY_COLUMNS = 'conversation_id, id, prev_id, sender_user_id, sender_device_id, client_msg_id, type, body, created_at';

export const rowToEntry = (r: EntryRow): Entry => ({
  conversationId: big(r.conversation_id) as ConversationId,
  id: big(r.id) as EntryId,
  prevId: big(r.prev_id) as EntryId,
  senderUserId: big(r.sender_user_id) as UserId,
  senderDeviceId: big(r.sender_device_id) as DeviceId,
  clientMsgId: r.client_msg_id,
  type: Number(r.type) as EntryType,
  // pg returns a Buffer, PGlite a Uint8Array: both adapters hand out a plain view of the same bytes.
  body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
  createdAt: Number(r.created_at),
});

export interface LockedConversation {
  lastId: EntryId;
  /** The MLS epoch, null before the conversation's first Commit. */
  mlsEpoch: bigint | null;
}

export const LOCK_CONVERSATIONS_SQL = 'SELECT id, last_id, mls_epoch FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE';
export const ACTIVE_MEMBERS_SQL = 'SELECT conversation_id, user_id FROM members WHERE conversation_id = ANY($1::bigint[]) AND until_id IS NULL';

/** Lock conversation rows (in id order, so concurrent batches cannot deadlock) and read last_id and the MLS epoch. */
export async function lockConversations(tx: SqlExecutor, ids: readonly ConversationId[]): Promise<Map<ConversationId, LockedConversation>> {
  const sorted = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const { rows } = await tx.query<{ id: unknown; last_id: unknown; mls_epoch: unknown }>(
    LOCK_CONVERSATIONS_SQL,
    [sorted.map(str)],
  );
  return new Map(
    rows.map((r) => [big(r.id) as ConversationId, { lastId: big(r.last_id) as EntryId, mlsEpoch: r.mls_epoch === null ? null : big(r.mls_epoch) }]),
  );
}

/**
 * The `c.id = ANY(...)` beside the join condition (SET_EPOCHS_SQL, INSERT_ENTRIES_SQL) repeats it for the
 * planner: without it the plan cached on a new database (as for FIND_EXISTING_SQL below) is a hash join
 * over a sequential scan of every conversation; with it, a lookup in the primary key.
 */
export const SET_EPOCHS_SQL =
  'UPDATE conversations c SET mls_epoch = x.e FROM unnest($1::bigint[], $2::bigint[]) AS x(id, e) WHERE c.id = x.id AND c.id = ANY($1::bigint[])';

/** Record conversations' new MLS epochs (after Commits in a batch). */
export async function setEpochs(tx: SqlExecutor, epochs: ReadonlyMap<ConversationId, bigint>): Promise<void> {
  if (epochs.size === 0) return;
  await tx.query(SET_EPOCHS_SQL, [
    [...epochs.keys()].map(str),
    [...epochs.values()].map(str),
  ]);
}

/** Active members of these conversations (as of the locks held). */
export async function activeMembers(
  tx: SqlExecutor,
  ids: readonly ConversationId[],
): Promise<Map<ConversationId, Set<UserId>>> {
  const { rows } = await tx.query<{ conversation_id: unknown; user_id: unknown }>(
    ACTIVE_MEMBERS_SQL,
    [[...new Set(ids)].map(str)],
  );
  const out = new Map<ConversationId, Set<UserId>>();
  for (const r of rows) {
    const c = big(r.conversation_id) as ConversationId;
    let set = out.get(c);
    if (!set) out.set(c, (set = new Set()));
    set.add(big(r.user_id) as UserId);
  }
  return out;
}

/**
 * One probe of the unique idempotency index per request, whatever the statistics say. As a plain join,
 * the plan Postgres caches for this prepared statement while the table is still small (before any
 * ANALYZE) is a hash join over a sequential scan of every entry, and it is kept as the table grows
 * (issue #11: 0.7 ms per batch at 3,000 rows, 2-8 ms as it grew). LIMIT 1 (the index is unique, so it
 * changes nothing) keeps the subquery a nested loop over the requests, where only that index fits.
 */
export const FIND_EXISTING_SQL = `SELECT x.i, e.conversation_id, e.id, e.prev_id, e.sender_user_id, e.sender_device_id, e.client_msg_id, e.type, e.body, e.created_at
  FROM unnest($1::bigint[], $2::bigint[], $3::text[]) WITH ORDINALITY AS x(c, d, m, i)
  CROSS JOIN LATERAL (
    SELECT * FROM entries
     WHERE conversation_id = x.c AND sender_device_id = x.d AND client_msg_id = x.m
     LIMIT 1
  ) e`;

/**
 * Entries already committed under these idempotency keys, keyed by the
 * request's own key. Rows are matched back to requests by position, not by
 * comparing the stored text in JS: PGlite decodes text with a TextDecoder that
 * drops a leading U+FEFF, so a clientMsgId starting with one would never match
 * and its retry would hit the unique index instead of being answered.
 */
export async function findExisting(tx: SqlExecutor, items: readonly NewEntry[]): Promise<Map<string, Entry>> {
  if (items.length === 0) return new Map();
  const { rows } = await tx.query<EntryRow & { i: unknown }>(
    FIND_EXISTING_SQL,
    [items.map((i) => str(i.conversationId)), items.map((i) => str(i.senderDeviceId)), items.map((i) => i.clientMsgId)],
  );
  const out = new Map<string, Entry>();
  for (const r of rows) {
    const item = items[Number(r.i) - 1];
    if (item !== undefined) out.set(idempotencyKey(item), { ...rowToEntry(r), clientMsgId: item.clientMsgId });
  }
  return out;
}

export const idempotencyKey = (e: Pick<NewEntry, 'conversationId' | 'senderDeviceId' | 'clientMsgId'>): string =>
  `${e.conversationId}:${e.senderDeviceId}:${e.clientMsgId}`;

export const INSERT_ENTRIES_SQL = `WITH ins AS (
  INSERT INTO entries (${ENTRY_COLUMNS})
  SELECT c, i, p, u, d, m, t, substring($11::bytea FROM o FOR l), ts
    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::smallint[], $8::int[], $9::int[], $10::bigint[])
      AS x(c, i, p, u, d, m, t, o, l, ts)
)
UPDATE conversations c SET last_id = x.l FROM unnest($12::bigint[], $13::bigint[]) AS x(id, l) WHERE c.id = x.id AND c.id = ANY($12::bigint[])`;

/**
 * Insert entries (ids already assigned) and move each conversation's last_id: one statement (one round trip) for any batch size.
 * The bodies travel as one binary parameter cut apart in SQL: a `bytea[]` parameter would be sent as text, every byte
 * hex-encoded by the driver (about 4 % of the server's CPU at 1,000 msg/s of 1 KiB messages).
 */
export async function insertEntries(tx: SqlExecutor, entries: readonly Entry[]): Promise<void> {
  if (entries.length === 0) return;
  const last = new Map<ConversationId, EntryId>();
  for (const e of entries) last.set(e.conversationId, e.id);
  const starts: number[] = [];
  const lengths: number[] = [];
  let at = 1; // substring() counts from 1
  for (const e of entries) {
    starts.push(at);
    lengths.push(e.body.length);
    at += e.body.length;
  }
  await tx.query(
    INSERT_ENTRIES_SQL,
    [
      entries.map((e) => str(e.conversationId)),
      entries.map((e) => str(e.id)),
      entries.map((e) => str(e.prevId)),
      entries.map((e) => str(e.senderUserId)),
      entries.map((e) => str(e.senderDeviceId)),
      entries.map((e) => e.clientMsgId),
      entries.map((e) => e.type),
      starts,
      lengths,
      entries.map((e) => e.createdAt),
      Buffer.concat(entries.map((e) => e.body), at - 1),
      [...last.keys()].map(str),
      [...last.values()].map(str),
    ],
  );
}

/** Entries of one conversation in (after, upto], oldest first, at most `limit`. */
export async function readAfter(
  db: SqlExecutor,
  conversationId: ConversationId,
  after: EntryId,
  upto: EntryId | null,
  limit: number,
): Promise<Entry[]> {
  const { rows } = await db.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM entries
      WHERE conversation_id = $1 AND id > $2 AND ($3::bigint IS NULL OR id <= $3::bigint)
      ORDER BY id LIMIT $4`,
    [str(conversationId), str(after), upto === null ? null : str(upto), limit],
  );
  return rows.map(rowToEntry);
}

/** Entries of the given types in (since, before), newest first, at most `limit`. */
export async function readBefore(
  db: SqlExecutor,
  q: { conversationId: ConversationId; before: EntryId | null; since: EntryId; upto: EntryId | null; types: readonly number[]; limit: number },
): Promise<Entry[]> {
  const { rows } = await db.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM entries
      WHERE conversation_id = $1 AND id > $2
        AND ($3::bigint IS NULL OR id < $3::bigint)
        AND ($4::bigint IS NULL OR id <= $4::bigint)
        AND type = ANY($5::smallint[])
      ORDER BY id DESC LIMIT $6`,
    [str(q.conversationId), str(q.since), q.before === null ? null : str(q.before), q.upto === null ? null : str(q.upto), q.types, q.limit],
  );
  return rows.map(rowToEntry);
}
