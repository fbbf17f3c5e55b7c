/**
 * Conversations and memberships. Membership changes run under the
 * conversation's row lock and append a System entry in the same transaction,
 * so they are ordered in the log with the messages around them.
 */
import type {
  ConversationKind} from '@tidings/shared';
import {
  EntryType,
  type ConversationId,
  type ConversationInfo,
  type DeviceId,
  type Entry,
  type EntryId,
  type SnowflakeGenerator,
  type UserId,
} from '@tidings/shared';
import { randomUUID } from 'node:crypto';
import { big, str, type SqlExecutor } from '../storage/sql.js';
import { activeMembers, insertEntries, lockConversations } from '../log/store.js';

export interface Membership {
  readonly conversationId: ConversationId;
  readonly kind: ConversationKind;
  readonly name: string;
  readonly lastId: EntryId;
  readonly sinceId: EntryId;
  /** Null while active; else the last entry the former member may read. */
  readonly untilId: EntryId | null;
  readonly admin: boolean;
}

export const dmKey = (a: UserId, b: UserId): string => (a < b ? `${a}:${b}` : `${b}:${a}`);
export const selfKey = (u: UserId): string => `self:${u}`;

export async function insertConversation(
  tx: SqlExecutor,
  c: { id: ConversationId; kind: ConversationKind; name: string; dmKey: string | null; createdBy: UserId },
  now: number,
): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO conversations (id, kind, name, dm_key, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (dm_key) DO NOTHING RETURNING id`,
    [str(c.id), c.kind, c.name, c.dmKey, str(c.createdBy), now],
  );
  return rows.length === 1;
}

export async function insertMembers(
  tx: SqlExecutor,
  conversationId: ConversationId,
  users: readonly { userId: UserId; admin: boolean }[],
  sinceId: EntryId,
  now: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO members (conversation_id, user_id, since_id, until_id, joined_at, role)
     SELECT $1, u, $2, NULL, $3, r FROM unnest($4::bigint[], $5::smallint[]) AS x(u, r)
     ON CONFLICT (conversation_id, user_id) DO UPDATE SET since_id = EXCLUDED.since_id, until_id = NULL, joined_at = EXCLUDED.joined_at`,
    [str(conversationId), str(sinceId), now, users.map((u) => str(u.userId)), users.map((u) => (u.admin ? 1 : 0))],
  );
}

/** A joiner's receipt positions start where their membership does, so older messages do not count as undelivered to them. */
export async function startReceipts(tx: SqlExecutor, conversationId: ConversationId, userIds: readonly UserId[], at: EntryId, now: number): Promise<void> {
  await tx.query(
    `INSERT INTO receipts AS t (conversation_id, user_id, delivered_upto, read_upto, updated_at)
     SELECT $1, u, $2, $2, $3 FROM unnest($4::bigint[]) AS x(u)
     ON CONFLICT (conversation_id, user_id) DO UPDATE
       SET delivered_upto = GREATEST(t.delivered_upto, EXCLUDED.delivered_upto), read_upto = GREATEST(t.read_upto, EXCLUDED.read_upto)`,
    [str(conversationId), str(at), now, userIds.map(str)],
  );
}

export async function endMembership(tx: SqlExecutor, conversationId: ConversationId, userId: UserId, untilId: EntryId): Promise<void> {
  await tx.query('UPDATE members SET until_id = $3 WHERE conversation_id = $1 AND user_id = $2', [
    str(conversationId),
    str(userId),
    str(untilId),
  ]);
}

export async function findByKey(db: SqlExecutor, key: string): Promise<ConversationId | undefined> {
  const { rows } = await db.query<{ id: unknown }>('SELECT id FROM conversations WHERE dm_key = $1', [key]);
  return rows[0] ? (big(rows[0].id) as ConversationId) : undefined;
}

export async function kindOf(db: SqlExecutor, id: bigint): Promise<ConversationKind | undefined> {
  const { rows } = await db.query<{ kind: number }>('SELECT kind FROM conversations WHERE id = $1', [str(id)]);
  return rows[0] ? (Number(rows[0].kind) as ConversationKind) : undefined;
}

const MEMBERSHIP_SQL = `SELECT c.id, c.kind, c.name, c.last_id, m.since_id, m.until_id, m.role
  FROM members m JOIN conversations c ON c.id = m.conversation_id`;

interface MembershipRow {
  id: unknown;
  kind: number;
  name: string;
  last_id: unknown;
  since_id: unknown;
  until_id: unknown;
  role: number;
}
const toMembership = (r: MembershipRow): Membership => ({
  conversationId: big(r.id) as ConversationId,
  kind: Number(r.kind) as ConversationKind,
  name: r.name,
  lastId: big(r.last_id) as EntryId,
  sinceId: big(r.since_id) as EntryId,
  untilId: r.until_id === null ? null : (big(r.until_id) as EntryId),
  admin: Number(r.role) === 1,
});

export async function membership(db: SqlExecutor, conversationId: ConversationId, userId: UserId): Promise<Membership | undefined> {
  const { rows } = await db.query<MembershipRow>(`${MEMBERSHIP_SQL} WHERE m.conversation_id = $1 AND m.user_id = $2`, [
    str(conversationId),
    str(userId),
  ]);
  return rows[0] && toMembership(rows[0]);
}

export async function membershipsOf(db: SqlExecutor, userId: UserId): Promise<Membership[]> {
  const { rows } = await db.query<MembershipRow>(`${MEMBERSHIP_SQL} WHERE m.user_id = $1 ORDER BY c.id`, [str(userId)]);
  return rows.map(toMembership);
}

/** A user's conversations as the wire describes them, with each one's active members. */
export async function conversationInfos(db: SqlExecutor, userId: UserId): Promise<{ info: ConversationInfo; m: Membership }[]> {
  const ms = await membershipsOf(db, userId);
  const members = await activeMembers(
    db,
    ms.map((m) => m.conversationId),
  );
  return ms.map((m) => ({ m, info: toInfo(m, members.get(m.conversationId)) }));
}

export const toInfo = (m: Membership, members: ReadonlySet<UserId> | undefined): ConversationInfo => ({
  id: m.conversationId,
  kind: m.kind,
  name: m.name,
  members: [...(members ?? [])].sort((a, b) => (a < b ? -1 : 1)),
  lastId: m.untilId ?? m.lastId,
  left: m.untilId !== null,
});

/** Append one server-authored System entry to a conversation whose row the caller has locked. */
export async function appendSystem(
  tx: SqlExecutor,
  ids: SnowflakeGenerator,
  c: { conversationId: ConversationId; lastId: EntryId; actor: UserId; device: DeviceId; body: object; now: number },
): Promise<Entry> {
  const id = ids.nextAfter(c.lastId) as EntryId;
  const entry: Entry = {
    conversationId: c.conversationId,
    id,
    prevId: c.lastId,
    senderUserId: c.actor,
    senderDeviceId: c.device,
    clientMsgId: `sys:${randomUUID()}`,
    type: EntryType.System,
    body: new TextEncoder().encode(JSON.stringify(c.body)),
    createdAt: c.now,
  };
  await insertEntries(tx, [entry]);
  return entry;
}

export { lockConversations, activeMembers };
