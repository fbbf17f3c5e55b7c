/**
 * An in-memory fake of the sync server's WebSocket semantics, reached through
 * the Transport port (no network). It keeps per-conversation logs with
 * increasing ids and prevId, fans every commit out to every connected device
 * of every member (the sender too), answers sends idempotently, and can drop
 * connections and drop, duplicate or reorder live frames with a seeded PRNG.
 */
import {
  CloseCode,
  ConversationKind,
  EntryType,
  ErrorCode,
  decodeClientFrame,
  encodeServerFrame,
  type ClientFrame,
  type ConversationId,
  type ConversationInfo,
  type DeviceId,
  type Entry,
  type EntryId,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';
import type { Transport, TransportSocket } from '../../src/transport/transport.js';
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

interface Device {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

interface ConvState {
  info: ConversationInfo;
  readonly removed: Set<UserId>;
  readonly log: Entry[];
  readonly byKey: Map<string, Entry>;
}

interface Outgoing {
  readonly frame: ServerFrame;
  readonly live: boolean;
}

/** The server end of one fake socket. */
class FakeConnection implements TransportSocket {
  onopen: (() => void) | null = null;
  onmessage: ((bytes: Uint8Array) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  device: Device | null = null;
  closed = false;
  readonly received: ClientFrame[] = [];
  private queue: Outgoing[] = [];
  private scheduled = false;
  private closing: { code: number; reason: string } | null = null;

  constructor(private readonly server: FakeServer) {}

  // ---- the client's side ----
  send(bytes: Uint8Array): void {
    if (this.closed || this.closing) return;
    const copy = bytes.slice();
    queueMicrotask(() => {
      if (!this.closed && !this.closing) this.server.receive(this, copy);
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.closed || this.closing) return;
    this.queue = [];
    this.serverClose(code, reason);
  }

  // ---- the server's side ----
  push(frame: ServerFrame, live = false): void {
    if (this.closed || this.closing) return;
    this.queue.push({ frame, live });
    this.schedule();
  }

  /** Closes after the frames already queued are delivered. */
  serverClose(code: number, reason: string): void {
    if (this.closed || this.closing) return;
    this.closing = { code, reason };
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    const batch = this.server.applyChaos(this.queue);
    this.queue = [];
    for (const { frame } of batch) {
      if (this.closed) return;
      this.onmessage?.(encodeServerFrame(frame));
    }
    if (this.closing && !this.closed) {
      this.closed = true;
      this.server.forget(this);
      this.onclose?.(this.closing.code, this.closing.reason);
    }
  }
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
    const body = new TextEncoder().encode(JSON.stringify({ text }));
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

  onlineCount(): number {
    return [...this.connections].filter((c) => c.device !== null && !c.closed).length;
  }

  // ---- internals used by FakeConnection ----

  forget(conn: FakeConnection): void {
    this.connections.delete(conn);
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
    conn.push({ t: 'welcome', userId: device.userId, deviceId: device.deviceId, serverTime: this.now });
    const mine = [...this.convs.values()].filter((c) => c.info.members.includes(device.userId));
    for (const c of this.convs.values()) {
      if (c.info.members.includes(device.userId)) conn.push({ t: 'conversation', conversation: c.info });
      else if (c.removed.has(device.userId)) conn.push({ t: 'conversation', conversation: { ...c.info, left: true } });
    }
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
