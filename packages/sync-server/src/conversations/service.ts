/** Conversation rules: who may create, join, leave, read and append, and who hears about it. */
import {
  ConversationKind,
  ErrorCode,
  MAX_GROUP_MEMBERS,
  TidingsError,
  encodeServerFrame,
  type ConversationId,
  type DeviceId,
  type Entry,
  type EntryId,
  type SnowflakeGenerator,
  type UserId,
} from '@tidings/shared';
import type { SqlClient } from '../storage/sql.js';
import { existingUsers } from '../accounts/store.js';
import type { Fanout } from '../log/publish.js';
import {
  activeMembers,
  appendSystem,
  dmKey,
  endMembership,
  findByKey,
  insertConversation,
  insertMembers,
  kindOf,
  lockConversations,
  membership,
  selfKey,
  startReceipts,
  toInfo,
  type Membership,
} from './store.js';

export interface ConversationsDeps {
  readonly db: SqlClient;
  readonly ids: SnowflakeGenerator;
  readonly clock: () => number;
  readonly fanout: Fanout;
}

interface Actor {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

export class Conversations {
  constructor(private readonly d: ConversationsDeps) {}

  /** The conversation a member may read: throws not_a_member otherwise (also for unknown ids, so ids are not probed). */
  async requireMember(conversationId: ConversationId, userId: UserId): Promise<Membership> {
    const m = await membership(this.d.db, conversationId, userId);
    if (!m) throw new TidingsError(ErrorCode.NotAMember, 'you are not a member of this conversation');
    return m;
  }

  /** The DM between two users, created on first use; a DM with oneself is one's self conversation. */
  async ensureDm(actor: Actor, peer: UserId): Promise<ConversationId> {
    if (peer === actor.userId) {
      const self = await findByKey(this.d.db, selfKey(actor.userId));
      if (!self) throw new TidingsError(ErrorCode.Internal, 'self conversation missing');
      return self;
    }
    const key = dmKey(actor.userId, peer);
    const found = await findByKey(this.d.db, key);
    if (found) return found;
    if (!(await existingUsers(this.d.db, [peer])).has(peer)) throw new TidingsError(ErrorCode.NotFound, 'no such user');
    const id = this.d.ids.next() as ConversationId;
    const now = this.d.clock();
    const created = await this.d.db.transaction(async (tx) => {
      if (!(await insertConversation(tx, { id, kind: ConversationKind.Dm, name: '', dmKey: key, createdBy: actor.userId }, now))) {
        return false; // lost a race with the peer creating it: use theirs
      }
      await insertMembers(tx, id, [{ userId: actor.userId, admin: false }, { userId: peer, admin: false }], 0n as EntryId, now);
      return true;
    });
    if (!created) return (await findByKey(this.d.db, key)) as ConversationId;
    await this.announce(id, [actor.userId, peer], []);
    return id;
  }

  /** For the seed HTTP API: a chat id is a peer's user id (a DM) or a group id. */
  async resolveChat(actor: Actor, chatId: bigint, createDm: boolean): Promise<ConversationId | undefined> {
    const kind = await kindOf(this.d.db, chatId);
    if (kind === ConversationKind.Group) return chatId as ConversationId;
    if (kind !== undefined) throw new TidingsError(ErrorCode.InvalidArgument, 'chat id must be a user id or a group id');
    const peer = chatId as UserId;
    if (createDm) return this.ensureDm(actor, peer);
    if (peer === actor.userId) return findByKey(this.d.db, selfKey(actor.userId));
    if (!(await existingUsers(this.d.db, [peer])).has(peer)) throw new TidingsError(ErrorCode.NotFound, 'no such user or group');
    return findByKey(this.d.db, dmKey(actor.userId, peer));
  }

  async createGroup(actor: Actor, name: string, memberIds: readonly UserId[]): Promise<ConversationId> {
    const members = [...new Set([actor.userId, ...memberIds])];
    if (members.length > MAX_GROUP_MEMBERS) throw new TidingsError(ErrorCode.InvalidArgument, `a group has at most ${MAX_GROUP_MEMBERS} members`);
    await this.requireUsers(members);
    const id = this.d.ids.next() as ConversationId;
    const now = this.d.clock();
    const entry = await this.d.db.transaction(async (tx) => {
      await insertConversation(tx, { id, kind: ConversationKind.Group, name, dmKey: null, createdBy: actor.userId }, now);
      await insertMembers(tx, id, members.map((u) => ({ userId: u, admin: u === actor.userId })), 0n as EntryId, now);
      await lockConversations(tx, [id]);
      return appendSystem(tx, this.d.ids, {
        conversationId: id,
        lastId: 0n as EntryId,
        actor: actor.userId,
        device: actor.deviceId,
        body: { op: 'created', name, user_ids: members.map(String), by: String(actor.userId) },
        now,
      });
    });
    await this.announce(id, members, [], entry);
    return id;
  }

  async addMembers(actor: Actor, conversationId: ConversationId, userIds: readonly UserId[]): Promise<void> {
    const m = await this.requireGroupMember(conversationId, actor.userId);
    if (m.untilId !== null) throw new TidingsError(ErrorCode.NotAMember, 'you are not a member of this group');
    await this.requireUsers(userIds);
    const now = this.d.clock();
    const result = await this.d.db.transaction(async (tx) => {
      const last = (await lockConversations(tx, [conversationId])).get(conversationId)!.lastId;
      const current = (await activeMembers(tx, [conversationId])).get(conversationId) ?? new Set();
      const added = [...new Set(userIds)].filter((u) => !current.has(u));
      if (added.length === 0) return undefined;
      if (current.size + added.length > MAX_GROUP_MEMBERS) {
        throw new TidingsError(ErrorCode.InvalidArgument, `a group has at most ${MAX_GROUP_MEMBERS} members`);
      }
      // New members read from the entry that announces them onwards, not the history before.
      await insertMembers(tx, conversationId, added.map((u) => ({ userId: u, admin: false })), last, now);
      await startReceipts(tx, conversationId, added, last, now);
      const entry = await appendSystem(tx, this.d.ids, {
        conversationId,
        lastId: last,
        actor: actor.userId,
        device: actor.deviceId,
        body: { op: 'members_added', user_ids: added.map(String), by: String(actor.userId) },
        now,
      });
      return { entry, members: [...current, ...added] };
    });
    if (result) await this.announce(conversationId, result.members, [], result.entry);
  }

  /** Remove a member: admins may remove anyone, anyone may remove themselves (leave). */
  async removeMember(actor: Actor, conversationId: ConversationId, userId: UserId): Promise<void> {
    const m = await this.requireGroupMember(conversationId, actor.userId);
    if (m.untilId !== null) throw new TidingsError(ErrorCode.NotAMember, 'you are not a member of this group');
    if (userId !== actor.userId && !m.admin) throw new TidingsError(ErrorCode.Forbidden, 'only a group admin can remove other members');
    const now = this.d.clock();
    const result = await this.d.db.transaction(async (tx) => {
      const last = (await lockConversations(tx, [conversationId])).get(conversationId)!.lastId;
      const current = (await activeMembers(tx, [conversationId])).get(conversationId) ?? new Set();
      if (!current.has(userId)) throw new TidingsError(ErrorCode.NotFound, 'that user is not a member of this group');
      const entry = await appendSystem(tx, this.d.ids, {
        conversationId,
        lastId: last,
        actor: actor.userId,
        device: actor.deviceId,
        body: { op: 'members_removed', user_ids: [String(userId)], by: String(actor.userId) },
        now,
      });
      // The removed member still reads the entry that removes them, and nothing after.
      await endMembership(tx, conversationId, userId, entry.id);
      current.delete(userId);
      return { entry, members: [...current] };
    });
    await this.announce(conversationId, result.members, [userId], result.entry);
  }

  private async requireGroupMember(conversationId: ConversationId, userId: UserId): Promise<Membership> {
    const m = await this.requireMember(conversationId, userId);
    if (m.kind !== ConversationKind.Group) throw new TidingsError(ErrorCode.InvalidArgument, 'that conversation is not a group');
    return m;
  }

  private async requireUsers(ids: readonly UserId[]): Promise<void> {
    const found = await existingUsers(this.d.db, ids);
    const missing = ids.filter((u) => !found.has(u));
    if (missing.length > 0) throw new TidingsError(ErrorCode.NotFound, `no such user: ${missing.slice(0, 5).join(', ')}`);
  }

  /** Tell members (and those just removed) the conversation's new shape, then push its System entry. */
  private async announce(
    conversationId: ConversationId,
    members: readonly UserId[],
    removed: readonly UserId[],
    entry?: Entry,
  ): Promise<void> {
    const anyone = members[0] ?? removed[0];
    if (anyone === undefined) return;
    const base = await membership(this.d.db, conversationId, anyone);
    if (!base) return;
    const set = new Set(members);
    const info = toInfo({ ...base, untilId: null }, set);
    this.d.fanout.toUsers(members, encodeServerFrame({ t: 'conversation', conversation: info }));
    if (removed.length > 0 && entry) {
      this.d.fanout.toUsers(removed, encodeServerFrame({ t: 'conversation', conversation: { ...info, lastId: entry.id, left: true } }));
    }
    if (entry) this.d.fanout.toUsers([...members, ...removed], encodeEntry(entry));
  }
}

const encodeEntry = (entry: Entry): Uint8Array =>
  encodeServerFrame({ t: 'entries', conversationId: entry.conversationId, entries: [entry], live: true });
