/**
 * One device's WebSocket: hello and authentication, catch-up from its vector
 * cursor, then live pushes; sends go through the group-commit writer and are
 * acked only after commit. Bad frames get a typed error frame and change
 * nothing; a socket that cannot keep up is closed so the device catches up by
 * cursor instead of the server buffering without bound.
 */
import {
  CLIENT_ENTRY_TYPES,
  CloseCode,
  ErrorCode,
  TidingsError,
  decodeClientFrame,
  encodeServerFrame,
  type AckFrame,
  type ClientFrame,
  type ConversationId,
  type DeviceId,
  type EntryId,
  type HelloFrame,
  type SendFrame,
  type TypingFrame,
  type UserId,
  PresenceStatus,
  TYPING_MIN_INTERVAL_MS,
} from '@tidings/shared';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import type { Accounts } from '../accounts/service.js';
import type { Conversations } from '../conversations/service.js';
import { conversationInfos } from '../conversations/store.js';
import type { LogWriter } from '../log/writer.js';
import type { DeviceSink, PresenceState, Switchboard } from '../switchboard/port.js';
import type { Receipts } from '../receipts/service.js';
import type { PrivacyStore } from '../privacy/settings.js';
import type { MembersCache } from '../conversations/members-cache.js';
import { watchable } from '../presence/watchable.js';
import { TokenBucket } from './token-bucket.js';
import { ackInbox, readInbox } from '../mls/inbox.js';
import { streamConversation, type PageSink } from './catchup.js';
import type { Metrics } from '../metrics.js';

/** Connection states, in the order a healthy connection passes through them. */
export const ConnState = {
  /** Open, waiting for the hello frame; nothing else is processed yet. */
  AwaitingHello: 'awaiting_hello',
  /** Authenticated; streaming catch-up while live pushes are held back. */
  Syncing: 'syncing',
  /** Caught up; live pushes flow as they happen. */
  Live: 'live',
  /** Closed by either side. */
  Closed: 'closed',
} as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** Inbox items per frame during catch-up. */
const INBOX_PAGE = 64;

/** Conversations one socket tracks typing rate limits for before forgetting them all. */
const MAX_TYPING_CONVERSATIONS = 256;

export interface ConnectionLimits {
  /** Bytes the server will hold for one socket before dropping it (TooSlow). */
  readonly maxSocketBufferBytes: number;
  /** Bytes of catch-up in flight before the next page waits for the socket to drain. */
  readonly catchupHighWaterBytes: number;
  /** Bad frames tolerated on one socket before it is closed. */
  readonly maxBadFrames: number;
  /** Sends accepted but not yet acked, per socket. */
  readonly maxInflightSends: number;
  /** Sustained sends per second per socket (burst 10x); Infinity turns the limit off. */
  readonly sendRatePerSecond: number;
}

export interface ConnectionDeps {
  readonly db: SqlClient;
  readonly accounts: Accounts;
  readonly conversations: Conversations;
  readonly writer: LogWriter;
  readonly switchboard: Switchboard;
  readonly receipts: Receipts;
  readonly privacy: PrivacyStore;
  readonly members: MembersCache;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly metrics: Metrics;
  readonly limits: ConnectionLimits;
}

export class Connection implements DeviceSink {
  state: ConnState = ConnState.AwaitingHello;
  readonly openedAt: number;
  lastFrameAt: number;
  userId = 0n as UserId;
  deviceId = 0n as DeviceId;
  private held: Uint8Array[] | undefined = [];
  private heldBytes = 0;
  private early: ClientFrame[] = [];
  private helloSeen = false;
  private readonly sendBucket: TokenBucket | undefined;
  private badFrames = 0;
  private inflight = 0;
  /** The socket is corked until the check phase (see cork()). */
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly d: ConnectionDeps,
  ) {
    this.openedAt = this.lastFrameAt = d.clock();
    const rate = d.limits.sendRatePerSecond;
    this.sendBucket = Number.isFinite(rate) ? new TokenBucket(rate, rate * 10, d.clock) : undefined;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => d.logger.debug({ err }, 'socket error'));
  }

  /** Deliver a live frame (from fan-out): held while catching up, sent once live. */
  deliver(frame: Uint8Array): void {
    if (this.state === ConnState.Closed) return;
    if (this.held) {
      this.held.push(frame);
      this.heldBytes += frame.length;
      if (this.heldBytes > this.d.limits.maxSocketBufferBytes) this.close(CloseCode.TooSlow, 'too far behind');
      return;
    }
    this.sendRaw(frame);
  }

  close(code: number, reason: string): void {
    if (this.state === ConnState.Closed) return;
    this.ws.close(code, reason);
    this.onClose();
  }

  private sendRaw(frame: Uint8Array, cb?: (err?: Error) => void): void {
    // The cap is on bytes already queued and unread: one frame may be larger than the cap itself.
    if (this.ws.bufferedAmount > this.d.limits.maxSocketBufferBytes) {
      this.d.metrics.slowConsumers.inc();
      this.close(CloseCode.TooSlow, 'not reading fast enough');
      cb?.(new Error('closed'));
      return;
    }
    this.d.metrics.framesOut.inc();
    this.cork();
    this.ws.send(frame, { binary: true }, cb);
  }

  /**
   * Holds this socket's writes until the event loop's check phase, so every
   * frame sent to it in one turn (a batch's live entries, the sender's own echo
   * and its `sent` acks) leaves in one write system call instead of one each.
   * Node's cork nests, so ws's own cork around a frame's header and payload
   * still works inside it.
   */
  private cork(): void {
    if (this.corked) return;
    const socket = (this.ws as unknown as { _socket?: Socket | null })._socket;
    if (!socket || socket.destroyed) return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  private sendError(err: TidingsError, ref = ''): void {
    this.d.metrics.errors.inc({ code: err.code });
    this.sendRaw(encodeServerFrame({ t: 'error', code: err.code, message: err.message, ref }));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastFrameAt = this.d.clock();
    this.d.metrics.framesIn.inc();
    let frame: ClientFrame;
    try {
      if (!isBinary) throw new TidingsError(ErrorCode.InvalidFrame, 'frames must be binary');
      frame = decodeClientFrame(data);
    } catch (err) {
      const e = err instanceof TidingsError ? err : new TidingsError(ErrorCode.InvalidFrame, 'undecodable frame');
      if (this.state === ConnState.AwaitingHello) {
        this.sendError(e);
        return this.close(CloseCode.Unauthenticated, 'expected a hello frame');
      }
      this.sendError(e);
      if (++this.badFrames > this.d.limits.maxBadFrames) this.close(CloseCode.ProtocolError, 'too many bad frames');
      return;
    }
    if (this.state === ConnState.AwaitingHello) {
      if (this.helloSeen) {
        this.early.push(frame); // pipelined behind a hello still being authenticated
      } else if (frame.t === 'hello') {
        this.helloSeen = true;
        void this.onHello(frame);
      } else {
        this.sendError(new TidingsError(ErrorCode.Unauthenticated, 'the first frame must be hello'));
        this.close(CloseCode.Unauthenticated, 'expected a hello frame');
      }
      return;
    }
    this.handle(frame);
  }

  private handle(frame: ClientFrame): void {
    switch (frame.t) {
      case 'hello':
        return this.sendError(new TidingsError(ErrorCode.InvalidArgument, 'hello was already sent'));
      case 'send':
        return this.onSend(frame);
      case 'pull':
        return void this.onPull(frame.conversationId, frame.after);
      case 'ping':
        return this.sendRaw(encodeServerFrame({ t: 'pong', nonce: frame.nonce, serverTime: this.d.clock() }));
      case 'ack':
        return void this.onAck(frame);
      case 'typing':
        return void this.onTyping(frame);
      case 'watch':
        return void this.onWatch(frame.userIds);
      case 'inbox_ack':
        return void ackInbox(this.d.db, this.deviceId, frame.upto).catch((err: unknown) => this.d.logger.warn({ err }, 'inbox ack failed'));
      default: {
        const never: never = frame;
        throw new Error(`unhandled frame ${(never as ClientFrame).t}`);
      }
    }
  }

  private async onHello(hello: HelloFrame): Promise<void> {
    try {
      const auth = await this.d.accounts.authenticate(hello.token);
      if (this.state === ConnState.Closed) return;
      this.userId = auth.userId;
      this.deviceId = auth.deviceId;
      this.state = ConnState.Syncing;
      // Attach before reading, so nothing committed from here on is missed; held frames follow catch-up.
      this.d.switchboard.attach(this);
      this.sendRaw(encodeServerFrame({ t: 'welcome', userId: auth.userId, deviceId: auth.deviceId, serverTime: this.d.clock() }));
      for (const f of this.early.splice(0)) this.handle(f);
      await this.catchUp(hello);
    } catch (err) {
      const e = err instanceof TidingsError ? err : new TidingsError(ErrorCode.Unavailable, 'could not start the session; retry');
      if (!(err instanceof TidingsError)) this.d.logger.error({ err }, 'hello failed');
      this.sendError(e);
      this.close(e.code === ErrorCode.Unauthenticated ? CloseCode.Unauthenticated : CloseCode.GoingAway, e.message);
    }
  }

  private async catchUp(hello: HelloFrame): Promise<void> {
    const cursor = new Map<ConversationId, EntryId>(hello.cursor.map((c) => [c.conversationId, c.upto]));
    const settings = await this.d.privacy.one(this.userId);
    this.sendRaw(encodeServerFrame({ t: 'settings', ...settings }));
    // Device-addressed items (MLS Welcomes) first: the entries that follow may need the groups they open.
    for (let after = 0n; ; ) {
      const items = await readInbox(this.d.db, this.deviceId, after, INBOX_PAGE);
      if (items.length > 0) this.sendRaw(encodeServerFrame({ t: 'inbox', items }));
      if (items.length < INBOX_PAGE) break;
      after = items[items.length - 1]!.id;
    }
    const convs = await conversationInfos(this.d.db, this.userId);
    for (const { info } of convs) this.sendRaw(encodeServerFrame({ t: 'conversation', conversation: info }));
    const active = convs.filter(({ info }) => !info.left).map(({ info }) => info.id);
    for (const f of await this.d.receipts.snapshotFrames(this.userId, active)) this.sendRaw(f);
    const sink = this.pageSink();
    let sent = 0;
    for (const { info, m } of convs) {
      const after = cursor.get(info.id) ?? (0n as EntryId);
      if (info.lastId > after) sent += await streamConversation(this.d.db, m, after, sink);
    }
    if (this.state === ConnState.Closed) return;
    this.sendRaw(encodeServerFrame({ t: 'synced' }));
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    this.state = ConnState.Live;
    for (const f of held) this.sendRaw(f);
    this.d.metrics.catchupEntries.inc(sent);
  }

  /** Resolves once everything sent so far has left the process (ws calls back per send, in order). */
  private flushed: Promise<void> = Promise.resolve();

  private pageSink(): PageSink {
    const isOpen = (): boolean => this.state !== ConnState.Closed;
    // Catch-up waits well below the drop threshold, so a device is never dropped by its own catch-up.
    const highWater = Math.min(this.d.limits.catchupHighWaterBytes, Math.floor(this.d.limits.maxSocketBufferBytes / 4));
    return {
      get open() {
        return isOpen();
      },
      send: async (frame) => {
        while (isOpen() && this.ws.bufferedAmount > highWater) await this.flushed;
        if (!isOpen()) return;
        this.flushed = new Promise<void>((resolve) => this.sendRaw(frame, () => resolve()));
      },
    };
  }

  private async onPull(conversationId: ConversationId, after: EntryId): Promise<void> {
    try {
      const m = await this.d.conversations.requireMember(conversationId, this.userId);
      await streamConversation(this.d.db, m, after, this.pageSink());
    } catch (err) {
      this.sendError(err instanceof TidingsError ? err : new TidingsError(ErrorCode.Unavailable, 'pull failed; retry'));
    }
  }

  /** A watched user's presence changed (from the switchboard). */
  presenceChanged(state: PresenceState): void {
    void this.sendPresence([state]);
  }

  /** Send presence as this viewer may see it: last seen only when both sides show theirs. */
  private async sendPresence(states: readonly PresenceState[]): Promise<void> {
    if (states.length === 0 || this.state === ConnState.Closed) return;
    try {
      const privacy = await this.d.privacy.get([this.userId, ...states.map((s) => s.userId)]);
      const mine = privacy.get(this.userId)?.showLastSeen ?? true;
      const items = states.map((s) => ({
        userId: s.userId,
        status: s.status === 'online' ? PresenceStatus.Online : s.status === 'offline' ? PresenceStatus.Offline : PresenceStatus.Unknown,
        lastSeen: s.lastSeen !== null && mine && (privacy.get(s.userId)?.showLastSeen ?? true) ? s.lastSeen : 0,
      }));
      this.sendRaw(encodeServerFrame({ t: 'presence', items }));
    } catch (err) {
      this.d.logger.warn({ err }, 'presence send failed');
    }
  }

  private async onWatch(userIds: readonly UserId[]): Promise<void> {
    try {
      const allowed = await watchable(this.d.db, this.userId, [...new Set(userIds)]);
      await this.sendPresence(await this.d.switchboard.watch(this, allowed));
    } catch (err) {
      this.sendError(err instanceof TidingsError ? err : new TidingsError(ErrorCode.Unavailable, 'watch failed; retry'));
    }
  }

  /** When each conversation last passed on an active typing frame from this device. */
  private readonly typingAt = new Map<ConversationId, number>();

  private async onTyping(f: TypingFrame): Promise<void> {
    const now = this.d.clock();
    if (f.active) {
      const last = this.typingAt.get(f.conversationId);
      if (last !== undefined && now - last < TYPING_MIN_INTERVAL_MS) return; // rate limited: dropped, it is ephemeral
      if (this.typingAt.size >= MAX_TYPING_CONVERSATIONS) this.typingAt.clear();
      this.typingAt.set(f.conversationId, now);
    } else {
      this.typingAt.delete(f.conversationId);
    }
    try {
      const members = await this.d.members.get(f.conversationId);
      if (!members.has(this.userId)) throw new TidingsError(ErrorCode.NotAMember, 'you are not a member of this conversation');
      const others = [...members].filter((u) => u !== this.userId);
      this.d.switchboard.toUsers(others, encodeServerFrame({ t: 'typing', conversationId: f.conversationId, userId: this.userId, active: f.active }));
    } catch (err) {
      this.sendError(err instanceof TidingsError ? err : new TidingsError(ErrorCode.Unavailable, 'typing failed'));
    }
  }

  /**
   * Acks are frequent, so members come from the short-lived cache; a miss is
   * confirmed in the store (a member added moments ago, or a former member who
   * may still read, is not refused). A stranger gets not_a_member, as for pull.
   */
  private async onAck(f: AckFrame): Promise<void> {
    try {
      if (!(await this.d.members.get(f.conversationId)).has(this.userId)) await this.d.conversations.requireMember(f.conversationId, this.userId);
      this.d.receipts.writer.ack(f.conversationId, this.userId, f.delivered, f.read);
    } catch (err) {
      this.sendError(err instanceof TidingsError ? err : new TidingsError(ErrorCode.Unavailable, 'ack failed; retry'));
    }
  }

  private onSend(f: SendFrame): void {
    if (!CLIENT_ENTRY_TYPES.has(f.type)) {
      return this.sendError(new TidingsError(ErrorCode.InvalidArgument, 'that entry type is written by the server only'), f.clientMsgId);
    }
    const rate = this.sendBucket?.take();
    if (rate && !rate.ok) {
      return this.sendError(new TidingsError(ErrorCode.RateLimited, `sending too fast; retry in ${rate.retryAfterMs} ms`, { retryAfterMs: rate.retryAfterMs }), f.clientMsgId);
    }
    if (this.inflight >= this.d.limits.maxInflightSends) {
      return this.sendError(new TidingsError(ErrorCode.RateLimited, 'too many unacknowledged sends'), f.clientMsgId);
    }
    this.inflight++;
    this.d.writer
      .append({
        conversationId: f.conversationId,
        senderUserId: this.userId,
        senderDeviceId: this.deviceId,
        clientMsgId: f.clientMsgId,
        type: f.type,
        body: f.body,
      })
      .then(
        ({ entry }) => {
          if (this.state === ConnState.Closed) return;
          try {
            this.sendRaw(
              encodeServerFrame({ t: 'sent', conversationId: entry.conversationId, clientMsgId: entry.clientMsgId, id: entry.id, createdAt: entry.createdAt }),
            );
          } catch (err) {
            // Never an unhandled rejection: the entry is committed; the device learns its id from the log.
            this.d.logger.error({ err }, 'could not encode an ack');
          }
        },
        (err: unknown) => {
          if (this.state === ConnState.Closed) return;
          this.sendError(err instanceof TidingsError ? err : new TidingsError(ErrorCode.Internal, 'send failed'), f.clientMsgId);
        },
      )
      .finally(() => this.inflight--);
  }

  private onClose(): void {
    if (this.state === ConnState.Closed) return;
    this.state = ConnState.Closed;
    this.held = undefined;
    this.d.switchboard.detach(this);
  }
}
