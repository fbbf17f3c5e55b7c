/**
 * An in-memory fake of the sync server's WebSocket semantics, reached through
 * the Transport port (no network). It keeps per-conversation logs with
 * increasing ids and prevId, fans every commit out to every connected device
 * of every member (the sender too), answers sends idempotently, and can drop
 * connections and drop, duplicate or reorder live frames with a seeded PRNG.
 * It also keeps receipt cursors and privacy settings (fake-receipts.ts),
 * presence with a grace period on its own clock (fake-presence.ts), relays
 * typing with the server's rate limit, and answers GET/PATCH /v1/me/settings
 * through `fetch`.
 */
import {
  CloseCode,
  ConversationKind,
  EntryType,
  ErrorCode,
  TYPING_MIN_INTERVAL_MS,
  decodeClientFrame,
  type ClientFrame,
  type ConversationId,
  type ConversationInfo,
  type DeviceId,
  type Entry,
  type EntryId,
  type UserId,
} from '@tidings/shared';
import type { Clock } from '../../src/runtime/clock.js';
import type { Transport, TransportSocket } from '../../src/transport/transport.js';
import { FakeConnection, type Outgoing } from './fake-connection.js';
import { FakePresence } from './fake-presence.js';
import { FakeReceipts, type FakeSettings } from './fake-receipts.js';
import { ManualClock } from './manual-clock.js';
import { seededRandom } from './random.js';

export { seededRandom };

export interface Chaos {
  /** Probability that a live entries frame is delivered twice. */
  duplicate?: number;
  /** Probability that a live entries frame swaps places with the one queued after it. */
  reorder?: number;
  /** Probability that a live entries frame is never delivered (a gap). */
  drop?: number;
}

/** What to do with a send once committed: ack it, commit without acking, or commit and cut the socket. */
export type AckPolicy = 'ack' | 'no-ack' | 'close';

export interface Device {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

interface ConvState {
  info: ConversationInfo;
  readonly removed: Set<UserId>;
  readonly log: Entry[];
  readonly byKey: Map<string, Entry>;
}

export class FakeServer {
  /** Entries per catch-up page (small, to exercise paging). */
  pageSize = 3;
  chaos: Chaos = {};
  /** Decides, per committed send, whether the sender gets its `sent`. */
  ackPolicy: (entry: Entry) => AckPolicy = () => 'ack';
  /** When set, the next send gets this error instead of being committed. */
  failNextSend: ErrorCode | null = null;
  /** When true, new sockets fail to open (close 1006). */
  down = false;
  /** Every client frame received, in order. */
  readonly received: ClientFrame[] = [];
  /** Called synchronously for every client frame as it arrives (after hello, with its device). */
  onClientFrame: ((device: Device, frame: ClientFrame) => void) | null = null;
  /** Presence grace timers and the typing rate limit run on this clock; its timers fire only when a test says so. */
  clock: Clock = new ManualClock();
  readonly receipts = new FakeReceipts();
  readonly presence = new FakePresence(
    () => this.clock,
    (userId) => this.presenceChanged(userId),
  );
  /** Typing frames dropped by the rate limit (a well-behaved client causes none). */
  typingDropped = 0;
  private readonly random: () => number;
  private readonly tokens = new Map<string, Device>();
  private readonly convs = new Map<ConversationId, ConvState>();
  private readonly connections = new Set<FakeConnection>();
  private dropLive = 0;
  private lastId = 1_000n;
  private nextConversation = 100n;
  private now = 1_780_000_000_000;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** The client-side Transport; every socket it opens ends up here. */
  readonly transport: Transport = {
    connect: (_url: string): TransportSocket => {
      const conn = new FakeConnection(this);
      if (this.down) {
        conn.serverClose(1006, 'connection refused');
        return conn;
      }
      this.connections.add(conn);
      queueMicrotask(() => {
        if (!conn.closed) conn.onopen?.();
      });
      return conn;
    },
  };

  addDevice(userId: bigint, deviceId: bigint, token = `token-${deviceId}`): string {
    this.tokens.set(token, { userId: userId as UserId, deviceId: deviceId as DeviceId });
    return token;
  }

  /** Creates a conversation with a `created` system entry; tells online members. */
  createConversation(kind: ConversationKind, members: readonly bigint[], name = ''): ConversationId {
    this.nextConversation += 1n;
    const id = this.nextConversation as ConversationId;
    const info: ConversationInfo = { id, kind, name, members: members as UserId[], lastId: 0n as EntryId, left: false };
    this.convs.set(id, { info, removed: new Set(), log: [], byKey: new Map() });
    this.announce(id);
    if (kind === ConversationKind.Group) this.system(id, { op: 'created', user_ids: members.map(String), by: String(members[0]) });
    return id;
  }

  addMembers(id: ConversationId, userIds: readonly bigint[], by: bigint): void {
    const conv = this.conv(id);
    const members = new Set<UserId>([...conv.info.members, ...(userIds as UserId[])]);
    for (const u of userIds) conv.removed.delete(u as UserId);
    conv.info = { ...conv.info, members: [...members] };
    this.announce(id);
    this.system(id, { op: 'members_added', user_ids: userIds.map(String), by: String(by) });
  }

  removeMember(id: ConversationId, userId: bigint, by: bigint): void {
    const conv = this.conv(id);
    this.system(id, { op: 'members_removed', user_ids: [String(userId)], by: String(by) });
    conv.info = { ...conv.info, members: conv.info.members.filter((m) => m !== userId) };
    conv.removed.add(userId as UserId);
    for (const c of this.connections) {
      if (c.device?.userId === userId) c.push({ t: 'conversation', conversation: { ...conv.info, left: true } }, true);
    }
    this.announce(id);
  }

  /** Appends an entry as if `sender` had sent it and fans it out live. */
  commit(id: ConversationId, sender: Device, clientMsgId: string, type: EntryType, body: Uint8Array): Entry {
    const conv = this.conv(id);
    const key = `${sender.deviceId}:${clientMsgId}`;
    const existing = conv.byKey.get(key);
    if (existing) return existing;
    this.lastId += BigInt(1 + Math.floor(this.random() * 5));
    this.now += 1;
    const entry: Entry = {
      conversationId: id,
      id: this.lastId as EntryId,
      prevId: conv.info.lastId,
      senderUserId: sender.userId,
      senderDeviceId: sender.deviceId,
      clientMsgId,
      type,
      createdAt: this.now,
      body,
    };
    conv.log.push(entry);
    conv.byKey.set(key, entry);
    conv.info = { ...conv.info, lastId: entry.id };
    for (const c of this.connections) {
      if (c.device && conv.info.members.includes(c.device.userId)) {
        c.push({ t: 'entries', conversationId: id, entries: [entry], live: true }, true);
      }
    }
    return entry;
  }

  /** A text entry from some device, as UnencryptedEnvelope would write it. */
  commitText(id: ConversationId, sender: { userId: bigint; deviceId: bigint }, clientMsgId: string, text: string): Entry {
    const body = new TextEncoder().encode(JSON.stringify({ t: 'text', text }));
    return this.commit(id, sender as Device, clientMsgId, EntryType.Text, body);
  }

  log(id: ConversationId): readonly Entry[] {
    return this.conv(id).log;
  }

  /** Live frames dropped next (for any connection), to make a gap. */
  dropNextLive(count: number): void {
    this.dropLive += count;
  }

  /** Server-side close of every connection (or one user's). */
  closeAll(code: number = CloseCode.GoingAway, reason = 'bye', userId?: bigint): void {
    for (const c of [...this.connections]) {
      if (userId === undefined || c.device?.userId === userId) c.serverClose(code, reason);
    }
  }

  /** Changes a user's privacy settings as PATCH /v1/me/settings does, and tells everyone affected. */
  setSettings(userId: bigint, patch: Partial<FakeSettings>): FakeSettings {
    const user = userId as UserId;
    const settings = this.receipts.setSettings(user, patch);
    for (const c of this.connections) {
      if (c.device?.userId === user) c.push({ t: 'settings', ...settings }, true);
    }
    // Read visibility changed both ways: resend every affected conversation's positions.
    for (const conv of this.convs.values()) {
      if (!conv.info.members.includes(user)) continue;
      for (const c of this.connections) {
        if (c.device && conv.info.members.includes(c.device.userId)) this.pushReceipts(c, conv, conv.info.members);
      }
    }
    // Last-seen visibility changed: resend presence to whoever watches, and to this user's own watches.
    this.presenceChanged(user);
    for (const c of this.connections) {
      if (c.device?.userId === user && c.watched.size > 0) this.pushPresence(c, [...c.watched]);
    }
    return settings;
  }

  /** The HTTP API's settings endpoints, as a fetch. */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const auth = new Headers(init?.headers).get('authorization') ?? '';
    const device = this.tokens.get(auth.replace(/^Bearer /, ''));
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (!device) return json(401, { error: { code: 'unauthenticated', message: 'bad token' } });
    if (url.pathname !== '/v1/me/settings') return json(404, { error: { code: 'not_found', message: url.pathname } });
    let settings = this.receipts.settingsOf(device.userId);
    if (init?.method === 'PATCH') {
      const body = JSON.parse(String(init.body)) as { read_receipts?: unknown; show_last_seen?: unknown };
      const patch: Partial<FakeSettings> = {};
      if (typeof body.read_receipts === 'boolean') patch.readReceipts = body.read_receipts;
      if (typeof body.show_last_seen === 'boolean') patch.showLastSeen = body.show_last_seen;
      settings = this.setSettings(device.userId, patch);
    }
    return Promise.resolve(json(200, { read_receipts: settings.readReceipts, show_last_seen: settings.showLastSeen }));
  };

  onlineCount(): number {
    return [...this.connections].filter((c) => c.device !== null && !c.closed).length;
  }

  // ---- internals used by FakeConnection ----

  forget(conn: FakeConnection): void {
    if (!this.connections.delete(conn)) return;
    if (conn.device) this.presence.disconnected(conn.device.userId);
  }

  applyChaos(queue: readonly Outgoing[]): Outgoing[] {
    const out: Outgoing[] = [];
    for (const item of queue) {
      if (!item.live || item.frame.t !== 'entries') {
        out.push(item);
        continue;
      }
      if (this.dropLive > 0) {
        this.dropLive -= 1;
        continue;
      }
      if (this.chance(this.chaos.drop)) continue;
      out.push(item);
      if (this.chance(this.chaos.duplicate)) out.push(item);
    }
    for (let i = 0; i + 1 < out.length; i++) {
      const a = out[i]!;
      const b = out[i + 1]!;
      if (a.live && b.live && this.chance(this.chaos.reorder)) {
        out[i] = b;
        out[i + 1] = a;
        i += 1;
      }
    }
    return out;
  }

  receive(conn: FakeConnection, bytes: Uint8Array): void {
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(bytes);
    } catch {
      conn.serverClose(CloseCode.ProtocolError, 'bad frame');
      return;
    }
    this.received.push(frame);
    conn.received.push(frame);
    if (frame.t !== 'hello' && !conn.device) {
      conn.serverClose(CloseCode.Unauthenticated, 'hello first');
      return;
    }
    if (conn.device) this.onClientFrame?.(conn.device, frame);
    switch (frame.t) {
      case 'hello':
        this.hello(conn, frame.token, new Map(frame.cursor.map((c) => [c.conversationId, c.upto])));
        return;
      case 'send':
        this.send(conn, frame.conversationId, frame.clientMsgId, frame.type, frame.body);
        return;
      case 'pull':
        this.catchUp(conn, frame.conversationId, frame.after);
        return;
      case 'ping':
        conn.push({ t: 'pong', nonce: frame.nonce, serverTime: this.now });
        return;
      case 'ack':
        this.ack(conn, frame.conversationId, frame.delivered, frame.read);
        return;
      case 'typing':
        this.typing(conn, frame.conversationId, frame.active);
        return;
      case 'watch': {
        const userId = conn.device!.userId;
        const shared = new Set([...this.convs.values()].filter((c) => c.info.members.includes(userId)).flatMap((c) => c.info.members));
        conn.watched = new Set(frame.userIds.filter((u) => u !== userId && shared.has(u)));
        this.pushPresence(conn, [...conn.watched]);
        return;
      }
      case 'inbox_ack':
        return; // the fake keeps no device inboxes
      default: {
        const never: never = frame;
        throw new Error(`unknown frame ${String(never)}`);
      }
    }
  }

  private hello(conn: FakeConnection, token: string, cursor: Map<ConversationId, EntryId>): void {
    const device = this.tokens.get(token);
    if (!device) {
      conn.serverClose(CloseCode.Unauthenticated, 'invalid token');
      return;
    }
    conn.device = device;
    this.presence.connected(device.userId);
    conn.push({ t: 'welcome', userId: device.userId, deviceId: device.deviceId, serverTime: this.now });
    conn.push({ t: 'settings', ...this.receipts.settingsOf(device.userId) });
    const mine = [...this.convs.values()].filter((c) => c.info.members.includes(device.userId));
    for (const c of this.convs.values()) {
      if (c.info.members.includes(device.userId)) conn.push({ t: 'conversation', conversation: c.info });
      else if (c.removed.has(device.userId)) conn.push({ t: 'conversation', conversation: { ...c.info, left: true } });
    }
    for (const c of mine) this.pushReceipts(conn, c, c.info.members, false);
    for (const c of mine) this.catchUp(conn, c.info.id, cursor.get(c.info.id) ?? (0n as EntryId));
    conn.push({ t: 'synced' });
  }

  private catchUp(conn: FakeConnection, id: ConversationId, after: EntryId): void {
    const conv = this.convs.get(id);
    if (!conv || !conn.device || !conv.info.members.includes(conn.device.userId)) {
      conn.push({ t: 'error', code: ErrorCode.NotAMember, message: 'not a member', ref: '' });
      return;
    }
    const entries = conv.log.filter((e) => e.id > after);
    for (let i = 0; i < entries.length; i += this.pageSize) {
      conn.push({ t: 'entries', conversationId: id, entries: entries.slice(i, i + this.pageSize), live: false });
    }
  }

  private send(conn: FakeConnection, id: ConversationId, clientMsgId: string, type: EntryType, body: Uint8Array): void {
    const device = conn.device!;
    const conv = this.convs.get(id);
    if (!conv || !conv.info.members.includes(device.userId)) {
      conn.push({ t: 'error', code: ErrorCode.NotAMember, message: 'not a member of this conversation', ref: clientMsgId });
      return;
    }
    if (this.failNextSend) {
      const code = this.failNextSend;
      this.failNextSend = null;
      conn.push({ t: 'error', code, message: 'try again', ref: clientMsgId });
      return;
    }
    const entry = this.commit(id, device, clientMsgId, type, body);
    const policy = this.ackPolicy(entry);
    if (policy === 'close') {
      conn.serverClose(CloseCode.GoingAway, 'crash after commit');
      return;
    }
    if (policy === 'ack') {
      conn.push({ t: 'sent', conversationId: id, clientMsgId, id: entry.id, createdAt: entry.createdAt });
    }
  }

  private ack(conn: FakeConnection, id: ConversationId, delivered: EntryId, read: EntryId): void {
    const userId = conn.device!.userId;
    const conv = this.convs.get(id);
    if (!conv || !conv.info.members.includes(userId)) {
      conn.push({ t: 'error', code: ErrorCode.NotAMember, message: 'not a member', ref: '' });
      return;
    }
    if (!this.receipts.advance(id, userId, delivered, read, conv.info.lastId)) return;
    for (const c of this.connections) {
      if (c.device && conv.info.members.includes(c.device.userId)) this.pushReceipts(c, conv, [userId]);
    }
  }

  private pushReceipts(conn: FakeConnection, conv: ConvState, userIds: readonly UserId[], live = true): void {
    const viewer = conn.device!.userId;
    const items = userIds.map((u) => this.receipts.item(conv.info.id, u, viewer));
    conn.push({ t: 'receipts', conversationId: conv.info.id, items }, live);
  }

  private typing(conn: FakeConnection, id: ConversationId, active: boolean): void {
    const userId = conn.device!.userId;
    const conv = this.convs.get(id);
    if (!conv || !conv.info.members.includes(userId)) return;
    if (active) {
      const now = this.clock.now();
      const last = conn.typingAt.get(id);
      if (last !== undefined && now - last < TYPING_MIN_INTERVAL_MS) {
        this.typingDropped += 1;
        return;
      }
      conn.typingAt.set(id, now);
    }
    for (const c of this.connections) {
      if (c.device && c.device.userId !== userId && conv.info.members.includes(c.device.userId)) {
        c.push({ t: 'typing', conversationId: id, userId, active }, true);
      }
    }
  }

  private presenceChanged(userId: UserId): void {
    for (const c of this.connections) if (c.watched.has(userId)) this.pushPresence(c, [userId]);
  }

  private pushPresence(conn: FakeConnection, userIds: readonly UserId[]): void {
    if (!conn.device || userIds.length === 0) return;
    const viewerShows = this.receipts.settingsOf(conn.device.userId).showLastSeen;
    const items = userIds.map((u) => this.presence.item(u, viewerShows && this.receipts.settingsOf(u).showLastSeen));
    conn.push({ t: 'presence', items }, true);
  }

  private system(id: ConversationId, body: object): void {
    this.commit(id, { userId: 1n as UserId, deviceId: 1n as DeviceId }, `sys-${this.lastId + 1n}`, EntryType.System, new TextEncoder().encode(JSON.stringify(body)));
  }

  private announce(id: ConversationId): void {
    const conv = this.conv(id);
    for (const c of this.connections) {
      if (c.device && conv.info.members.includes(c.device.userId)) c.push({ t: 'conversation', conversation: conv.info }, true);
    }
  }

  private conv(id: ConversationId): ConvState {
    const conv = this.convs.get(id);
    if (!conv) throw new Error(`no conversation ${id}`);
    return conv;
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }
}
